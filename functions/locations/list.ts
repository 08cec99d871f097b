/**
 * GET /locations — the caller's locations (an admin's; `*`: every location of the account), each with its address and
 * how many readers it has.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeAdmin } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { listCallerLocations } from '../../shared/operations/reader-fleet.ts';

export const responses = declareResponses({ success: [200], errors: [] });

export const handler = apiHandler(async ({ caller, deadline, deps }) => {
  authorizeAdmin(caller);
  return ok({ locations: await listCallerLocations(deps, caller.locations, { deadline }) });
}, {});

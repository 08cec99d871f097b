/** PATCH /readers/{id} — relabel a reader (an admin's): the name cashiers pick it by. */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeAdmin, canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { ReaderIdParams, ReaderLabel } from '../../shared/http/schemas.ts';
import { relabelReader } from '../../shared/operations/reader-fleet.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({ label: ReaderLabel });

export const responses = declareResponses({
  success: [200],
  errors: ['reader_not_found', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps, requestId }) => {
    authorizeAdmin(caller);
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const reader = await relabelReader(deps, { readerId: params.id, label: body.label }, access, {
      deadline,
      requestId,
      callerId: caller.sub,
    });
    return ok({ reader: toReaderResource(reader) });
  },
  { params: ReaderIdParams, body: Body },
);

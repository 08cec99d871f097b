/**
 * GET /locations/{id}/tipping — the tip suggestions the location's readers offer, by currency: the tipping of the
 * Terminal configuration the location names (`configurationId` null and no settings when it has none of its own).
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { StripeId } from '../../shared/http/schemas.ts';
import { readLocationTipping } from '../../shared/operations/location-tipping.ts';
import * as z from '../../shared/zod.ts';

const Params = z.strictObject({ id: StripeId });

export const responses = declareResponses({ success: [200], errors: ['location_not_found', 'stripe_timeout'] });

export const handler = apiHandler(
  async ({ params, caller, deadline, deps }) => {
    authorizeLocation(caller, params.id);
    const tipping = await readLocationTipping(deps, params.id, { deadline });
    return ok({ tipping });
  },
  { params: Params },
);

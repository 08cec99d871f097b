/**
 * GET /readers — the caller's readers, fresh from Stripe (optionally of one location). Every reader seen
 * refreshes the reader → location cache that authorizes reader commands.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation, canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { StripeId } from '../../shared/http/schemas.ts';
import { readReaders } from '../../shared/operations/read-readers.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';

const Query = z.strictObject({ locationId: StripeId.optional() });

export const responses = declareResponses({ success: [200], errors: [] });

export const handler = apiHandler(
  async ({ query, caller, deps }) => {
    if (query.locationId !== undefined) authorizeLocation(caller, query.locationId);
    const locations = query.locationId === undefined ? caller.locations : [query.locationId];
    const readers = await readReaders(deps, locations, (locationId) => canActFor(caller, locationId));
    return ok({ readers: readers.map(toReaderResource) });
  },
  { query: Query },
);

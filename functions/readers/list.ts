/**
 * GET /readers — the caller's readers as stored (optionally of one location, or of one health), kept in step with
 * Stripe by the reconciler every run; no Stripe call (but for a location the table knows no reader of).
 * `?refresh=true` reads them from Stripe first and stores what it says (a reader deleted there is forgotten): the
 * way to the live `lastSeenAt`, which the table keeps only as of the reader's last change.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation, canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { StripeId } from '../../shared/http/schemas.ts';
import { readReaders, readStoredReaders } from '../../shared/operations/read-readers.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import { READER_HEALTHS } from '../../shared/payments/types.ts';
import * as z from '../../shared/zod.ts';

const Query = z.strictObject({
  locationId: z.optional(StripeId),
  refresh: z.optional(z.enum(['true', 'false'])),
  health: z.optional(z.enum(READER_HEALTHS)),
});

export const responses = declareResponses({ success: [200], errors: [] });

export const handler = apiHandler(
  async ({ query, caller, deps }) => {
    if (query.locationId !== undefined) authorizeLocation(caller, query.locationId);
    const locations = query.locationId === undefined ? caller.locations : [query.locationId];
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const readers =
      query.refresh === 'true'
        ? await readReaders(deps, locations, access)
        : await readStoredReaders(deps, locations, access);
    const shown = query.health === undefined ? readers : readers.filter((reader) => reader.health === query.health);
    return ok({ readers: shown.map(toReaderResource) });
  },
  { query: Query },
);

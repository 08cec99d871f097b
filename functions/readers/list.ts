/**
 * GET /readers — the caller's readers, fresh from Stripe (optionally of one location). Every reader seen
 * refreshes the reader → location cache that authorizes reader commands.
 */
import type Stripe from 'stripe';
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation, canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { StripeId } from '../../shared/http/schemas.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import { putReaderLocations, type ReaderLocation, readerLocationOf } from '../../shared/store/readers.ts';
import { listReaders } from '../../shared/stripe/calls.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';

const Query = z.strictObject({ locationId: StripeId.optional() });

export const responses = declareResponses({ success: [200], errors: [] });

export const handler = apiHandler(
  async ({ query, caller }) => {
    let readers: Stripe.Terminal.Reader[];
    if (query.locationId !== undefined) {
      authorizeLocation(caller, query.locationId);
      readers = await listReaders(query.locationId);
    } else if (caller.locations === '*') {
      readers = await listReaders();
    } else {
      readers = (await Promise.all(caller.locations.map((location) => listReaders(location)))).flat();
    }

    const snapshots = readers.map(readerSnapshot).filter((reader) => canActFor(caller, reader.locationId));
    const now = new Date();
    const locations = snapshots
      .map((reader) => readerLocationOf(reader, now))
      .filter((l): l is ReaderLocation => l !== undefined);
    await putReaderLocations(locations);
    return ok({ readers: snapshots.map(toReaderResource) });
  },
  { query: Query },
);

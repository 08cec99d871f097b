/**
 * GET /payments — the caller's payments, newest first, optionally of one location, status or flag, paged with
 * an opaque cursor.
 */
import { storeOnlyApiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { StripeId } from '../../shared/http/schemas.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import { PAYMENT_FLAGS, PAYMENT_STATUSES } from '../../shared/payments/types.ts';
import { decodeCursor, encodeCursor } from '../../shared/store/cursor.ts';
import { listPayments } from '../../shared/store/payments.ts';
import * as z from '../../shared/zod.ts';

const DEFAULT_LIMIT = 20;

const Query = z.strictObject({
  locationId: z.optional(StripeId),
  status: z.optional(z.enum(PAYMENT_STATUSES)),
  flag: z.optional(z.enum(PAYMENT_FLAGS)),
  limit: z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d+$/, 'A whole number from 1 to 100.')), z.transform(Number)),
      z.number().check(z.int(), z.minimum(1), z.maximum(100)),
    ),
  ),
  cursor: z.optional(
    z.string().check(
      z.maxLength(1000),
      z.refine((cursor) => decodeCursor(cursor) !== undefined, 'Use the nextCursor of an earlier page.'),
    ),
  ),
});

export const responses = declareResponses({ success: [200], errors: [], callsStripe: false });

export const handler = storeOnlyApiHandler(
  async ({ query, caller, deps }) => {
    if (query.locationId !== undefined) authorizeLocation(caller, query.locationId);
    const page = await listPayments(deps.store, {
      locations: query.locationId !== undefined ? [query.locationId] : caller.locations,
      limit: query.limit ?? DEFAULT_LIMIT,
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.flag === undefined ? {} : { flag: query.flag }),
      ...(query.cursor === undefined ? {} : { before: decodeCursor(query.cursor) }),
    });
    return ok({
      payments: page.payments.map(toPaymentResource),
      nextCursor: page.nextBefore === undefined ? null : encodeCursor(page.nextBefore),
    });
  },
  { query: Query },
);

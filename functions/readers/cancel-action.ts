/**
 * POST /readers/{id}/cancel-action — clear the reader's current action (a cashier resetting a stuck reader).
 * With `paymentId`, only if the reader is still on that payment (safe for readers shared by registers). The
 * payment it held records its action as failed with `canceled`. Not possible while a card is being authorized.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { ReaderIdParams, StripeId } from '../../shared/http/schemas.ts';
import { clearReaderActionOnReader } from '../../shared/operations/clear-reader-action.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({ paymentId: z.optional(StripeId) });

export const responses = declareResponses({
  success: [200],
  errors: ['reader_not_found', 'payment_not_found', 'invalid_state', 'reader_busy', 'reader_offline'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, requestId, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const request = {
      readerId: params.id,
      requestId,
      ...(body.paymentId === undefined ? {} : { paymentId: body.paymentId }),
    };
    const reader = await clearReaderActionOnReader(deps, request, access);
    return ok({ reader: toReaderResource(readerSnapshot(reader)) });
  },
  { params: ReaderIdParams, body: Body },
);

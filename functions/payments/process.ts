/**
 * POST /payments/{id}/process — show the payment on a reader and wait for the card (202: the reader's action is
 * `in_progress`; the outcome arrives by webhook or `GET ?refresh=true`). After a decline the same PaymentIntent is
 * processed again, and `attempts` grows.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { accepted } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams, StripeId } from '../../shared/http/schemas.ts';
import { processOptions, processPayment } from '../../shared/operations/process-payment.ts';
import { toPaymentResource, toReaderResource } from '../../shared/payments/resource.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({
  readerId: StripeId,
  skipTipping: z.optional(z.boolean()),
  tipping: z.optional(z.strictObject({ eligibleAmount: z.optional(Amount) })),
  enableCustomerCancellation: z.optional(z.boolean()),
});

export const responses = declareResponses({
  success: [202],
  errors: ['payment_not_found', 'reader_not_found', 'invalid_state', 'reader_busy', 'reader_offline', 'reader_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const request = { paymentId: params.id, readerId: body.readerId };
    const processed = await processPayment(deps, request, access, processOptions(deadline, body));
    return accepted({
      payment: toPaymentResource(processed.payment),
      reader: toReaderResource(readerSnapshot(processed.reader)),
    });
  },
  { params: PaymentIdParams, body: Body },
);

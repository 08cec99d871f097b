/**
 * POST /payments/{id}/process — show the payment on a reader and wait for the card (202: the reader's action is
 * `in_progress`; the outcome arrives by webhook or `GET ?refresh=true`). After a decline the same PaymentIntent is
 * processed again, and `attempts` grows.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { visiblePayment, visibleReader } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ValidationError } from '../../shared/http/errors.ts';
import { accepted } from '../../shared/http/responses.ts';
import { PaymentIdParams, StripeId } from '../../shared/http/schemas.ts';
import { toPaymentResource, toReaderResource } from '../../shared/payments/resource.ts';
import { getPaymentAndReader } from '../../shared/store/readers.ts';
import { processOnReader } from '../../shared/stripe/payment-commands.ts';
import { locateReader } from '../../shared/stripe/readers.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';

const Body = z.strictObject({
  readerId: StripeId,
  skipTipping: z.boolean().optional(),
  enableCustomerCancellation: z.boolean().optional(),
});

export const responses = declareResponses({
  success: [202],
  errors: ['payment_not_found', 'reader_not_found', 'invalid_state', 'reader_busy', 'reader_offline', 'reader_timeout'],
  jsonBody: true,
  forbidden: false,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline }) => {
    // One request reads both the payment and the reader's cached location.
    const found = await getPaymentAndReader(params.id, body.readerId);
    const payment = visiblePayment(caller, found.payment);
    const reader = visibleReader(caller, await locateReader(body.readerId, found.reader));
    if (reader.locationId !== payment.locationId) {
      throw new ValidationError([
        { field: 'readerId', message: 'The reader is at another location than the payment.' },
      ]);
    }

    const processed = await processOnReader(payment, body.readerId, {
      deadline,
      ...(body.skipTipping === undefined ? {} : { skipTipping: body.skipTipping }),
      ...(body.enableCustomerCancellation === undefined
        ? {}
        : { enableCustomerCancellation: body.enableCustomerCancellation }),
    });
    return accepted({
      payment: toPaymentResource(processed.payment),
      reader: toReaderResource(readerSnapshot(processed.reader)),
    });
  },
  { params: PaymentIdParams, body: Body },
);

/**
 * POST /payments — create the order's payment (a card-present PaymentIntent), or answer with the order's live
 * payment when the same order comes again; with `readerId`, also process it on that reader at once.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation, visibleReader } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ValidationError } from '../../shared/http/errors.ts';
import { created, ok } from '../../shared/http/responses.ts';
import { Amount, StripeId, Text } from '../../shared/http/schemas.ts';
import { minimumAmount } from '../../shared/payments/money.ts';
import { toPaymentResource, toReaderResource } from '../../shared/payments/resource.ts';
import { CAPTURE_METHODS } from '../../shared/payments/types.ts';
import { getPayment } from '../../shared/store/payments.ts';
import { toApiError } from '../../shared/stripe/errors.ts';
import { openOrderPayment, processOnReader } from '../../shared/stripe/payment-commands.ts';
import { locateReader } from '../../shared/stripe/readers.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';

/** Stripe's metadata rules: keys up to 40 characters without brackets, values up to 500. */
const Metadata = z
  .record(Text.regex(/^[^[\]]{1,40}$/, 'Keys are 1–40 characters without brackets.'), Text.max(500))
  .refine((metadata) => Object.keys(metadata).length <= 20, 'At most 20 metadata entries.');

const Body = z
  .strictObject({
    orderId: Text.min(1).max(200),
    locationId: StripeId,
    amount: Amount,
    currency: z.string().regex(/^[a-z]{3}$/, 'A lower-case ISO 4217 code such as usd.'),
    captureMethod: z.enum(CAPTURE_METHODS).default('automatic'),
    description: Text.min(1).max(1000).optional(),
    metadata: Metadata.optional(),
    readerId: StripeId.optional(),
    skipTipping: z.boolean().optional(),
    enableCustomerCancellation: z.boolean().optional(),
  })
  .superRefine((body, context) => {
    const minimum = minimumAmount(body.currency);
    if (minimum === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['currency'],
        message: 'Card-present payments are not offered in this currency.',
      });
    } else if (body.amount < minimum) {
      context.addIssue({
        code: 'custom',
        path: ['amount'],
        message: `The minimum amount for ${body.currency} is ${minimum}.`,
      });
    }
  });

export const responses = declareResponses({
  success: [200, 201],
  errors: ['order_conflict', 'invalid_state', 'reader_not_found', 'reader_busy', 'reader_offline', 'reader_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ body, caller, deadline }) => {
    authorizeLocation(caller, body.locationId);
    if (body.readerId !== undefined) {
      const reader = visibleReader(caller, await locateReader(body.readerId));
      if (reader.locationId !== body.locationId) {
        throw new ValidationError([
          { field: 'readerId', message: 'The reader is at another location than the payment.' },
        ]);
      }
    }

    const { payment, created: isNew } = await openOrderPayment({
      locationId: body.locationId,
      orderId: body.orderId,
      amount: body.amount,
      currency: body.currency,
      captureMethod: body.captureMethod,
      description: body.description ?? null,
      metadata: body.metadata ?? {},
    });
    const respond = isNew ? created : ok;
    // A repeated create of a payment that is past processing answers with it as it is.
    if (body.readerId === undefined || payment.status !== 'requires_payment_method') {
      return respond({ payment: toPaymentResource(payment) });
    }

    try {
      const processed = await processOnReader(payment, body.readerId, {
        deadline,
        ...(body.skipTipping === undefined ? {} : { skipTipping: body.skipTipping }),
        ...(body.enableCustomerCancellation === undefined
          ? {}
          : { enableCustomerCancellation: body.enableCustomerCancellation }),
      });
      return respond({
        payment: toPaymentResource(processed.payment),
        reader: toReaderResource(readerSnapshot(processed.reader)),
      });
    } catch (error) {
      // The payment is created and kept: the POS can retry POST /payments/{id}/process with it.
      const latest = (await getPayment(payment.id)) ?? payment;
      throw toApiError(error).withBody({ payment: toPaymentResource(latest) });
    }
  },
  { body: Body },
);

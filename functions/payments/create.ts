/**
 * POST /payments — create the order's payment (a card-present PaymentIntent), or answer with the order's live
 * payment when the same order comes again; with `readerId`, also process it on that reader at once.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation, canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { toApiError } from '../../shared/http/errors.ts';
import { created, ok } from '../../shared/http/responses.ts';
import { Amount, StripeId, Text } from '../../shared/http/schemas.ts';
import { createPayment } from '../../shared/operations/create-payment.ts';
import { processOptions } from '../../shared/operations/process-payment.ts';
import { minimumAmount } from '../../shared/payments/money.ts';
import { toPaymentResource, toReaderResource } from '../../shared/payments/resource.ts';
import { CAPTURE_METHODS } from '../../shared/payments/types.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';
import * as z from '../../shared/zod.ts';

/** Stripe's metadata rules: keys up to 40 characters without brackets, values up to 500. */
const Metadata = z
  .record(
    Text.check(z.regex(/^[^[\]]{1,40}$/, 'Keys are 1–40 characters without brackets.')),
    Text.check(z.maxLength(500)),
  )
  .check(z.refine((metadata) => Object.keys(metadata).length <= 20, 'At most 20 metadata entries.'));

const Body = z
  .strictObject({
    orderId: Text.check(z.minLength(1), z.maxLength(200)),
    locationId: StripeId,
    amount: Amount,
    currency: z.string().check(z.regex(/^[a-z]{3}$/, 'A lower-case ISO 4217 code such as usd.')),
    captureMethod: z._default(z.enum(CAPTURE_METHODS), 'automatic'),
    description: z.optional(Text.check(z.minLength(1), z.maxLength(1000))),
    metadata: z.optional(Metadata),
    readerId: z.optional(StripeId),
    skipTipping: z.optional(z.boolean()),
    tipping: z.optional(z.strictObject({ eligibleAmount: z.optional(Amount) })),
    enableCustomerCancellation: z.optional(z.boolean()),
  })
  .check(
    z.superRefine((body, context) => {
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
      const eligible = body.tipping?.eligibleAmount;
      if (eligible !== undefined && eligible > body.amount) {
        context.addIssue({
          code: 'custom',
          path: ['tipping', 'eligibleAmount'],
          message: `At most the payment's amount (${body.amount}).`,
        });
      }
    }),
  );

export const responses = declareResponses({
  success: [200, 201],
  errors: ['order_conflict', 'invalid_state', 'reader_not_found', 'reader_busy', 'reader_offline', 'reader_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ body, caller, deadline, deps }) => {
    authorizeLocation(caller, body.locationId);
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const request = {
      locationId: body.locationId,
      orderId: body.orderId,
      amount: body.amount,
      currency: body.currency,
      captureMethod: body.captureMethod,
      description: body.description ?? null,
      metadata: body.metadata ?? {},
      ...(body.readerId === undefined ? {} : { readerId: body.readerId }),
    };
    const outcome = await createPayment(deps, request, access, processOptions(deadline, body));
    const payment = toPaymentResource(outcome.payment);
    // The payment is created and kept: the POS can retry POST /payments/{id}/process with it.
    if (outcome.processFailure !== undefined) throw toApiError(outcome.processFailure).withBody({ payment });
    const respond = outcome.created ? created : ok;
    if (outcome.processed === undefined) return respond({ payment });
    return respond({ payment, reader: toReaderResource(readerSnapshot(outcome.processed.reader)) });
  },
  { body: Body },
);

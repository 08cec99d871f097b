/**
 * POST /payments/{id}/refunds — refund a payment that succeeded, in full or in part, several times if need be.
 * Without `readerId` the refund is made online (201); with it the reader asks for the card and the outcome arrives
 * by webhook (202). The `Idempotency-Key` header names the refund: the same key again answers 200 with it and
 * refunds nothing more; the same key with another body is 409 `idempotency_key_reused`.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ValidationError } from '../../shared/http/errors.ts';
import { accepted, created, ok } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams, StripeId, Text } from '../../shared/http/schemas.ts';
import { refundPayment } from '../../shared/operations/refund-payment.ts';
import { toPaymentResource, toReaderResource, toRefundResource } from '../../shared/payments/resource.ts';
import { REFUND_REASONS } from '../../shared/payments/types.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({
  amount: z.optional(Amount),
  reason: z.optional(z.enum(REFUND_REASONS)),
  readerId: z.optional(StripeId),
  enableCustomerCancellation: z.optional(z.boolean()),
});

/** The POS's id for this refund request: 1–255 visible characters. */
const IdempotencyKey = Text.check(
  z.minLength(1, 'Send an Idempotency-Key header naming this refund request.'),
  z.maxLength(255, 'The Idempotency-Key header may be at most 255 characters.'),
  z.regex(/^[\x21-\x7e]+$/, 'The Idempotency-Key header may hold visible ASCII characters only.'),
);

export const responses = declareResponses({
  success: [200, 201, 202],
  errors: [
    'payment_not_found',
    'reader_not_found',
    'invalid_state',
    'refund_exceeds_balance',
    'card_present_refund_required',
    'idempotency_key_reused',
    'reader_busy',
    'reader_offline',
    'reader_timeout',
    'stripe_timeout',
  ],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps, event }) => {
    const header = IdempotencyKey.safeParse(event.headers?.['idempotency-key'] ?? '');
    if (!header.success) {
      const message = header.error.issues[0]?.message ?? 'Send a valid Idempotency-Key header.';
      throw new ValidationError([{ field: 'Idempotency-Key', message }]);
    }
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const request = {
      paymentId: params.id,
      key: header.data,
      amount: body.amount,
      reason: body.reason,
      readerId: body.readerId,
      enableCustomerCancellation: body.enableCustomerCancellation,
    };
    const refunded = await refundPayment(deps, request, access, { deadline });
    const answer = {
      refund: toRefundResource(refunded.payment.id, refunded.refund),
      payment: toPaymentResource(refunded.payment),
    };
    if (refunded.outcome === 'made') return created(answer);
    if (refunded.outcome === 'started' && refunded.reader !== undefined) {
      return accepted({ ...answer, reader: toReaderResource(readerSnapshot(refunded.reader)) });
    }
    return ok(answer);
  },
  { params: PaymentIdParams, body: Body },
);

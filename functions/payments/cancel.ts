/**
 * POST /payments/{id}/cancel — cancel the payment (releasing an authorization's hold). Its in-progress reader
 * action is cancelled first; a card already presented cannot be interrupted (409 `reader_busy`). A succeeded
 * payment has to be refunded instead. Cancelling twice answers with the canceled payment.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { InvalidStateError, PaymentNotFoundError } from '../../shared/http/errors.ts';
import { ok } from '../../shared/http/responses.ts';
import { PaymentIdParams } from '../../shared/http/schemas.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import { decideCancel } from '../../shared/payments/rules.ts';
import { applyToPayment, getPayment } from '../../shared/store/payments.ts';
import { cancelPaymentIntent } from '../../shared/stripe/calls.ts';
import { invalidStateMessage, stripeErrorCode, toApiError } from '../../shared/stripe/errors.ts';
import { clearReaderAction, refreshPayment, releaseReaderAction } from '../../shared/stripe/payment-commands.ts';
import { paymentIntentObservation } from '../../shared/stripe/snapshots.ts';

const Body = z.strictObject({
  reason: z.enum(['requested_by_customer', 'abandoned', 'duplicate']).optional(),
});

/** Stripe's answers that mean another request changed the payment first: what Stripe holds now decides. */
const LOST_RACE_CODES = new Set(['payment_intent_unexpected_state', 'idempotency_error', 'idempotency_key_in_use']);

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'reader_busy'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller }) => {
    const stored = await getPayment(params.id);
    if (stored === undefined) throw new PaymentNotFoundError();
    authorizeLocation(caller, stored.locationId);

    const decision = decideCancel(stored);
    if (decision.kind === 'already_canceled') return ok({ payment: toPaymentResource(stored) });
    if (decision.kind === 'refuse')
      throw new InvalidStateError(invalidStateMessage(stored.status), { status: stored.status });

    // An offline reader cannot authorize anything, and a canceled PaymentIntent cannot be authorized later.
    const released = await clearReaderAction(stored, { proceedWhenOffline: true });
    const payment = stored;
    const readAtMs = Date.now();
    try {
      const paymentIntent = await cancelPaymentIntent(payment.id, body.reason);
      const observation = paymentIntentObservation(paymentIntent, { source: 'api' }, readAtMs);
      // The cleared reader action and the canceled PaymentIntent go into one write.
      const { record } = await applyToPayment(payment, [...released, observation]);
      // A process command that raced this cancel may have put the payment on a reader: clear it (best effort).
      const settled = await releaseReaderAction(record, { proceedWhenOffline: true }).catch(() => record);
      return ok({ payment: toPaymentResource(settled) });
    } catch (error) {
      if (!LOST_RACE_CODES.has(stripeErrorCode(error) ?? '')) throw toApiError(error, { status: payment.status });
      const latest = await refreshPayment(payment);
      if (latest.status === 'canceled') return ok({ payment: toPaymentResource(latest) });
      throw new InvalidStateError(invalidStateMessage(latest.status), { status: latest.status });
    }
  },
  { params: PaymentIdParams, body: Body },
);

/**
 * POST /payments/{id}/capture — capture an authorized (`requires_capture`) payment, in full or `amountToCapture`.
 * Capturing again answers with the captured payment and captures nothing more.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { InvalidStateError, PaymentNotFoundError, ValidationError } from '../../shared/http/errors.ts';
import { ok } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams } from '../../shared/http/schemas.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import { decideCapture } from '../../shared/payments/rules.ts';
import { applyToPayment, getPayment } from '../../shared/store/payments.ts';
import { capturePaymentIntent } from '../../shared/stripe/calls.ts';
import { invalidStateMessage, stripeErrorCode, toApiError } from '../../shared/stripe/errors.ts';
import { refreshPayment } from '../../shared/stripe/payment-commands.ts';
import { paymentIntentObservation } from '../../shared/stripe/snapshots.ts';

const Body = z.strictObject({ amountToCapture: Amount.optional() });

/** Stripe's answers that mean another request changed the payment first: what Stripe holds now decides. */
const LOST_RACE_CODES = new Set(['payment_intent_unexpected_state', 'idempotency_error', 'idempotency_key_in_use']);

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller }) => {
    const stored = await getPayment(params.id);
    if (stored === undefined) throw new PaymentNotFoundError();
    authorizeLocation(caller, stored.locationId);

    let payment = stored;
    let decision = decideCapture(payment, body.amountToCapture, false);
    if (decision.kind === 'refresh') {
      payment = await refreshPayment(payment);
      decision = decideCapture(payment, body.amountToCapture, true);
    }
    if (decision.kind === 'already_captured') return ok({ payment: toPaymentResource(payment) });
    if (decision.kind === 'refuse' && decision.reason === 'amount_exceeds_capturable') {
      throw new ValidationError([
        { field: 'amountToCapture', message: `At most ${payment.amountCapturable} can be captured.` },
      ]);
    }
    if (decision.kind === 'refuse') {
      throw new InvalidStateError(invalidStateMessage(payment.status), { status: payment.status });
    }

    const readAtMs = Date.now();
    try {
      const paymentIntent = await capturePaymentIntent(payment.id, body.amountToCapture);
      const observation = paymentIntentObservation(paymentIntent, { source: 'api' }, readAtMs);
      const { record } = await applyToPayment(payment, [observation]);
      return ok({ payment: toPaymentResource(record) });
    } catch (error) {
      if (!LOST_RACE_CODES.has(stripeErrorCode(error) ?? '')) throw toApiError(error, { status: payment.status });
      const latest = await refreshPayment(payment);
      if (latest.status === 'succeeded') return ok({ payment: toPaymentResource(latest) });
      throw new InvalidStateError(invalidStateMessage(latest.status), { status: latest.status });
    }
  },
  { params: PaymentIdParams, body: Body },
);

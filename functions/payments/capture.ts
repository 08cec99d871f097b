/**
 * POST /payments/{id}/capture — capture an authorized (`requires_capture`) payment, in full or `amountToCapture`.
 * Capturing again for the amount captured answers with the captured payment and captures nothing more; asking for
 * another amount than was captured is 409 `invalid_state` saying what was. When Stripe has not answered by the
 * deadline (inside API Gateway's 30 s) it is 504 `stripe_timeout`: the same request again finishes the job.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { visiblePayment } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { InvalidStateError, ValidationError } from '../../shared/http/errors.ts';
import { type ApiResult, ok } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams } from '../../shared/http/schemas.ts';
import { formatMoney } from '../../shared/payments/money.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import { type CaptureDecision, decideCapture } from '../../shared/payments/rules.ts';
import type { PaymentRecord } from '../../shared/payments/types.ts';
import { applyToPayment, getPayment } from '../../shared/store/payments.ts';
import { retrievePaymentIntent } from '../../shared/stripe/calls.ts';
import { captureAtMostOnce } from '../../shared/stripe/capture-cancel.ts';
import { invalidStateMessage, toApiError } from '../../shared/stripe/errors.ts';
import { paymentIntentObservation } from '../../shared/stripe/snapshots.ts';

const Body = z.strictObject({ amountToCapture: Amount.optional() });

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'stripe_timeout'],
  jsonBody: true,
  forbidden: false,
});

/** The answer once Stripe is not (or no longer) to be asked: the captured payment, or why there is none. */
function answer(payment: PaymentRecord, decision: CaptureDecision): ApiResult {
  const status = payment.status;
  switch (decision.kind) {
    case 'already_captured':
      return ok({ payment: toPaymentResource(payment) });
    case 'capture':
      // Stripe still holds it capturable after refusing or replaying every key tried.
      throw new InvalidStateError(
        'This payment could not be captured just now. Try again in a moment.',
        { status },
        true,
      );
    case 'refresh':
      throw new InvalidStateError(invalidStateMessage(status), { status });
  }
  switch (decision.reason) {
    case 'amount_exceeds_capturable':
      throw new ValidationError([
        { field: 'amountToCapture', message: `At most ${payment.amountCapturable} can be captured.` },
      ]);
    case 'captured_other_amount':
      throw new InvalidStateError(
        `This payment was already captured for ${formatMoney(decision.amountReceived, payment.currency)}, not ${formatMoney(decision.requested, payment.currency)}: nothing more can be captured.`,
        { status, amountReceived: decision.amountReceived, requested: decision.requested },
      );
    case 'not_capturable':
      throw new InvalidStateError(invalidStateMessage(status), { status });
  }
}

export const handler = apiHandler(
  async ({ params, body, caller, deadline }) => {
    let payment = visiblePayment(caller, await getPayment(params.id));
    let decision = decideCapture(payment, body.amountToCapture, false);
    if (decision.kind === 'refresh') {
      // The record may be behind Stripe (a lost event): what Stripe holds decides.
      const readAtMs = Date.now();
      const read = await retrievePaymentIntent(payment.id, { deadline });
      const observation = paymentIntentObservation(read, { source: 'poll' }, readAtMs);
      payment = (await applyToPayment(payment, [observation])).record;
      decision = decideCapture(payment, body.amountToCapture, true);
    }
    if (decision.kind !== 'capture') return answer(payment, decision);

    const outcome = await captureAtMostOnce(payment.id, body.amountToCapture, { deadline }).catch((error: unknown) => {
      throw toApiError(error, { status: payment.status });
    });
    const observation = paymentIntentObservation(
      outcome.paymentIntent,
      { source: outcome.source },
      outcome.observedAtMs,
    );
    const { record } = await applyToPayment(payment, [observation]);
    // Whichever request's capture Stripe ran, this one is answered by what Stripe holds now.
    return answer(record, decideCapture(record, body.amountToCapture, true));
  },
  { params: PaymentIdParams, body: Body },
);

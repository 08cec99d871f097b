/**
 * Capture an authorized (`requires_capture`) payment, in full or `amountToCapture` (POST /payments/{id}/capture).
 * Capturing again for the amount captured answers with the captured payment and captures nothing more; asking for
 * another amount than was captured is `invalid_state` saying what was. When Stripe has not answered by the
 * deadline it is `stripe_timeout`: the same request again finishes the job, and never captures twice.
 */
import type { Dependencies } from '../dependencies.ts';
import { InvalidInputError, InvalidStateError, invalidStateMessage } from '../payments/failures.ts';
import { formatMoney } from '../payments/money.ts';
import { type CaptureDecision, decideCapture } from '../payments/rules.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { applyToPayment, getPayment } from '../store/payments.ts';
import { retrievePaymentIntent } from '../stripe/calls.ts';
import { captureAtMostOnce } from '../stripe/capture-cancel.ts';
import { toFailure } from '../stripe/errors.ts';
import { paymentIntentObservation } from '../stripe/snapshots.ts';
import { type Access, visiblePayment } from './access.ts';

export async function capturePayment(
  deps: Dependencies,
  request: { paymentId: string; amountToCapture?: number | undefined },
  access: Access,
  options: { deadline: number },
): Promise<PaymentRecord> {
  const { amountToCapture } = request;
  const { deadline } = options;
  let payment = visiblePayment(access, await getPayment(deps.store, request.paymentId));
  let decision = decideCapture(payment, amountToCapture, false);
  if (decision.kind === 'refresh') {
    // The record may be behind Stripe (a lost event): what Stripe holds decides.
    const readAtMs = deps.clock.now();
    const read = await retrievePaymentIntent(deps, payment.id, { deadline });
    const observation = paymentIntentObservation(read, { source: 'poll' }, readAtMs);
    payment = (await applyToPayment(deps.store, payment, [observation], new Date(deps.clock.now()))).record;
    decision = decideCapture(payment, amountToCapture, true);
  }
  if (decision.kind !== 'capture') return settled(payment, decision);

  const outcome = await captureAtMostOnce(deps, payment.id, amountToCapture, { deadline }).catch((error: unknown) => {
    throw toFailure(error, { status: payment.status });
  });
  const observation = paymentIntentObservation(outcome.paymentIntent, { source: outcome.source }, outcome.observedAtMs);
  const { record } = await applyToPayment(deps.store, payment, [observation], new Date(deps.clock.now()));
  // Whichever request's capture Stripe ran, this one is answered by what Stripe holds now.
  return settled(record, decideCapture(record, amountToCapture, true));
}

/** The captured payment once Stripe is not (or no longer) to be asked, or why there is none. */
function settled(payment: PaymentRecord, decision: CaptureDecision): PaymentRecord {
  const status = payment.status;
  switch (decision.kind) {
    case 'already_captured':
      return payment;
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
      throw new InvalidInputError([
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

/**
 * Cancel a payment, releasing an authorization's hold (POST /payments/{id}/cancel). Its in-progress reader action
 * is cancelled first; a card already presented cannot be interrupted (`reader_busy`). A succeeded payment has to be
 * refunded instead. Cancelling twice answers with the canceled payment. When Stripe has not answered by the
 * deadline it is `stripe_timeout`: the same request again finishes the job.
 */
import type { Dependencies } from '../dependencies.ts';
import { InvalidStateError, invalidStateMessage } from '../payments/failures.ts';
import { decideCancel } from '../payments/rules.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { applyToPayment, getPayment } from '../store/payments.ts';
import { beforeDeadline, type CancellationReason } from '../stripe/calls.ts';
import { cancelAtMostOnce } from '../stripe/capture-cancel.ts';
import { toFailure } from '../stripe/errors.ts';
import { paymentIntentObservation } from '../stripe/snapshots.ts';
import { type Access, visiblePayment } from './access.ts';
import { clearReaderAction, releaseReaderAction } from './clear-reader-action.ts';

export async function cancelPayment(
  deps: Dependencies,
  request: { paymentId: string; reason?: CancellationReason | undefined },
  access: Access,
  options: { deadline: number },
): Promise<PaymentRecord> {
  const { deadline } = options;
  const payment = visiblePayment(access, await getPayment(deps.store, request.paymentId));
  const decision = decideCancel(payment);
  if (decision.kind === 'already_canceled') return payment;
  if (decision.kind === 'refuse')
    throw new InvalidStateError(invalidStateMessage(payment.status), { status: payment.status });

  // An offline reader cannot authorize anything, and a canceled PaymentIntent cannot be authorized later.
  const released = await beforeDeadline(deps, deadline, clearReaderAction(deps, payment, { proceedWhenOffline: true }));
  const outcome = await cancelAtMostOnce(deps, payment.id, request.reason, { deadline }).catch((error: unknown) => {
    throw toFailure(error, { status: payment.status });
  });
  const observation = paymentIntentObservation(outcome.paymentIntent, { source: outcome.source }, outcome.observedAtMs);
  // The cleared reader action and what Stripe holds now go into one write.
  const { record } = await applyToPayment(deps.store, payment, [...released, observation], new Date(deps.clock.now()));
  if (record.status !== 'canceled') {
    // Succeeded meanwhile (refund it), or Stripe still refuses or replays every key tried (try again).
    const retryable = record.status !== 'succeeded';
    const message = retryable
      ? 'This payment could not be cancelled just now. Try again in a moment.'
      : invalidStateMessage(record.status);
    throw new InvalidStateError(message, { status: record.status }, retryable);
  }
  // A process command that raced this cancel may have put the payment on a reader: clear it (best effort).
  return beforeDeadline(deps, deadline, releaseReaderAction(deps, record, { proceedWhenOffline: true })).catch(
    () => record,
  );
}

/**
 * Authorized payments waiting to be captured. Stripe releases an uncaptured authorization at the charge's
 * `card_present.capture_before` (the PaymentIntent becomes `canceled`, reason `expired`), so payments past
 * `CAPTURE_WARNING_AFTER_HOURS` are flagged, and payments past their deadline are re-read and recorded as they are.
 */
import type { PaymentRecord } from '../payments/types.ts';
import {
  agingAuthorizationNeedsRead,
  decideStaleAuthorization,
  isPastCaptureDeadline,
  markCaptureDeadlineApproaching,
} from '../reconcile/decisions.ts';
import type { ReconcileRun } from '../reconcile/run-context.ts';
import { retrievePaymentIntent } from '../stripe/calls.ts';
import { cancelAtMostOnce, captureAtMostOnce } from '../stripe/capture-cancel.ts';
import { paymentIntentObservation } from '../stripe/snapshots.ts';

const POLL = { source: 'poll' } as const;

/** Read the PaymentIntent (with its charge) and record it; returns the stored record. */
async function rereadPaymentIntent(payment: PaymentRecord, run: ReconcileRun, why: string): Promise<PaymentRecord> {
  const read = await run.stripe(() => retrievePaymentIntent(run.deps, payment.id));
  const now = new Date(run.clock.now());
  const observation = paymentIntentObservation(read.result, POLL, read.startedAtMs);
  return run.record(payment, [observation], now, 'stripe_state', why);
}

/**
 * A payment past its `captureBefore`: read it and record the real state. An expired authorization becomes
 * `canceled`, and the reducer raises `authorization_expired`.
 */
export async function reconcileExpiredAuthorization(candidate: PaymentRecord, run: ReconcileRun): Promise<void> {
  if (!isPastCaptureDeadline(candidate, run.clock.now())) return;
  await rereadPaymentIntent(candidate, run, 'capture_deadline_passed');
}

/**
 * A payment authorized longer ago than `CAPTURE_WARNING_AFTER_HOURS`: read it once (webhooks may not have
 * carried the charge's real `capture_before`), flag it `capture_deadline_approaching`, then apply
 * `STALE_AUTHORIZATION_ACTION`. Capture and cancel go through the same keys as the API's (`capture:{id}:{try}`,
 * `cancel:{id}:{try}`), so two runs, or a run and a POS, cannot move the money twice, and an error Stripe stored
 * under a key does not block the policy for the 24 hours Stripe keeps it.
 */
export async function reconcileAgingAuthorization(candidate: PaymentRecord, run: ReconcileRun): Promise<void> {
  const policy = run.settings.staleAuthorizationAction;
  if (!agingAuthorizationNeedsRead(candidate, policy)) return;
  let payment = await rereadPaymentIntent(candidate, run, 'authorization_aging');
  const now = new Date(run.clock.now());
  payment = await run.change(payment, (record) => markCaptureDeadlineApproaching(record, now), 'authorization_aging');

  const step = decideStaleAuthorization(payment, policy);
  if (step.kind === 'none') return;
  // One paced turn: more than one request goes out only after Stripe replayed an old answer.
  const { result: outcome } = await run.stripe(() =>
    step.kind === 'capture'
      ? captureAtMostOnce(run.deps, payment.id, undefined)
      : cancelAtMostOnce(run.deps, payment.id, 'abandoned'),
  );
  // Only the request Stripe ran counts; a racing run's twin was answered with its stored response.
  if (outcome.performed) {
    if (step.kind === 'capture') run.summary.authorizationsCaptured += 1;
    else run.summary.authorizationsCanceled += 1;
    run.logger.info('Stale authorization policy applied', { paymentId: payment.id, policy, amount: payment.amount });
  } else if (outcome.source === 'poll') {
    // Captured, canceled or expired since the read: what Stripe holds now is recorded below.
    run.logger.warn('Stale authorization changed before the policy could act', {
      paymentId: payment.id,
      policy,
      status: outcome.paymentIntent.status,
    });
  }
  const observation = paymentIntentObservation(outcome.paymentIntent, POLL, outcome.observedAtMs);
  await run.record(payment, [observation], new Date(run.clock.now()), 'reconciler', `stale_authorization_${policy}`);
}

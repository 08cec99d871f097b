/**
 * A reader action `in_progress` for longer than `STUCK_ACTION_AFTER_SECONDS`. Stripe's guide: a reader that drops
 * off mid-payment never updates its action and no webhook is sent, so only a read of the reader and the
 * PaymentIntent tells what happened, and only `cancel_action` frees the reader.
 */

import { paymentActionStatus } from '../payments/reader-action.ts';
import { isReaderActionInProgress } from '../payments/record.ts';
import type { PaymentRecord } from '../payments/types.ts';
import {
  canceledByReconcilerObservation,
  decideStuckAction,
  markReaderStuck,
  stuckActionObservations,
  stuckAttempt,
} from '../reconcile/decisions.ts';
import type { ReconcileRun } from '../reconcile/run-context.ts';
import { retrievePaymentIntent, retrieveReader } from '../stripe/calls.ts';
import { stripeErrorCode } from '../stripe/errors.ts';
import { paymentIntentObservation, paymentIntentSnapshot, readerSnapshot } from '../stripe/snapshots.ts';
import { cancelReaderAction } from '../stripe/terminal.ts';

/** Reader errors after which the action is left as it is, to be looked at again on the next run. */
const CANCEL_LATER = new Set(['terminal_reader_busy', 'terminal_reader_offline']);

/**
 * Read the reader and the PaymentIntent and record what they show. An outcome Stripe already has is recorded;
 * a reader now idle or on another payment ends the action (`failed`, `canceled`); a reader still running this
 * payment, or offline, flags the payment `reader_stuck` and, past `AUTO_CANCEL_STUCK_AFTER_SECONDS`, is reset.
 */
export async function reconcileStuckAction(candidate: PaymentRecord, run: ReconcileRun): Promise<void> {
  const attempt = stuckAttempt(candidate);
  if (attempt === undefined) {
    run.logger.warn('Reader action in progress without a recorded attempt', { paymentId: candidate.id });
    return;
  }
  // The reader first: if the card is authorized in between, the later PaymentIntent read says so.
  const reader = await run.stripe(() => retrieveReader(run.deps, attempt.readerId));
  const paymentIntent = await run.stripe(() => retrievePaymentIntent(run.deps, candidate.id));
  const readerState = reader.result === undefined ? undefined : readerSnapshot(reader.result);
  const reads = {
    reader: readerState,
    readerReadAtMs: reader.startedAtMs,
    paymentIntent: paymentIntentSnapshot(paymentIntent.result),
    paymentIntentReadAtMs: paymentIntent.startedAtMs,
  };
  const now = new Date(run.clock.now());
  let payment = await run.record(
    candidate,
    stuckActionObservations(attempt, reads),
    now,
    'stripe_state',
    'stuck_reader_action',
  );

  const ageMs = now.getTime() - attempt.startedAtMs;
  const decision = decideStuckAction(payment, attempt, readerState, ageMs, run.settings);
  if (decision.kind === 'undecided') {
    run.logger.debug('Stuck reader action undecided; looking again next run', { paymentId: payment.id });
    return;
  }
  if (decision.kind === 'settled') return;
  payment = await run.change(payment, (record) => markReaderStuck(record, attempt.number, now), decision.reason);
  // A webhook (or the POS) may have settled the action since the reads: then there is nothing left to reset.
  if (!decision.cancelAction || payment.attempts !== attempt.number || !isReaderActionInProgress(payment)) return;

  // Another payment may have started on the reader since it was read: cancel only while it still runs this one.
  const again = await run.stripe(() => retrieveReader(run.deps, attempt.readerId));
  if (again.result === undefined || paymentActionStatus(readerSnapshot(again.result), payment.id) !== 'in_progress') {
    run.logger.info('Stuck reader action ended before it was cancelled; looking again next run', {
      paymentId: payment.id,
      readerId: attempt.readerId,
    });
    return;
  }
  let canceled: { replayed: boolean };
  try {
    // The payment's one key for this attempt's action: a racing run (or the POS's cancel) gets the same answer
    // replayed instead of cancelling twice.
    canceled = await run.stripe(() =>
      cancelReaderAction(run.deps, attempt.readerId, `${payment.id}:${attempt.number}`),
    );
  } catch (error) {
    const code = stripeErrorCode(error);
    if (code === undefined || !CANCEL_LATER.has(code)) throw error;
    // A card presented meanwhile is being authorized: it cannot be interrupted, and its outcome will come.
    run.logger.info('Stuck reader action not cancelled; looking again next run', {
      paymentId: payment.id,
      readerId: attempt.readerId,
      code,
    });
    return;
  }
  if (!canceled.replayed) {
    run.summary.actionsCanceled += 1;
    run.logger.info('Stuck reader action cancelled', { paymentId: payment.id, readerId: attempt.readerId, ageMs });
  }
  // The card may have been authorized between the reads and the cancel (cancel_action also clears a finished
  // action): the PaymentIntent, applied first, then records the action as succeeded rather than canceled.
  const after = await run.stripe(() => retrievePaymentIntent(run.deps, payment.id));
  const canceledAt = new Date(run.clock.now());
  await run.record(
    payment,
    [
      paymentIntentObservation(after.result, { source: 'poll' }, after.startedAtMs),
      canceledByReconcilerObservation(payment, attempt, canceledAt),
    ],
    canceledAt,
    'reconciler',
    'stuck_action_canceled',
  );
}

/**
 * A payment with a refund still unsettled when the reconciler was due to look (`unsettledRefunds` index): a refund
 * left `pending` (its events late or lost), a reader refund whose action is stuck or whose events were lost, or an
 * online refund whose request was cut short before Stripe answered.
 *
 * Readers first, then one list of the payment's refunds: a card presented between the two reads shows in the list,
 * so a reader found idle with no refund listed really made none. An online claim Stripe holds no refund for is sent
 * again under its own key, which makes the refund once or replays what Stripe did. Whatever stays unsettled is
 * looked at again later, each time after a longer wait, so a refund that stays pending for days costs little.
 */
import {
  canceledRefundActionObservation,
  isRefundRequestInFlight,
  isRefundUnsettled,
  refundActionSubject,
  withRefundChecked,
} from '../payments/refunds.ts';
import type { Observation, PaymentRecord, RefundRecord } from '../payments/types.ts';
import type { ReconcileRun } from '../reconcile/run-context.ts';
import { createRefund, listRefunds, retrieveReader } from '../stripe/calls.ts';
import { isOutcomeUnknown, stripeErrorCode } from '../stripe/errors.ts';
import { readerActionObservation, readerSnapshot, refundObservation } from '../stripe/snapshots.ts';
import { cancelReaderAction } from '../stripe/terminal.ts';
import { unixSeconds } from '../time.ts';

/** A reader refund waiting on its reader, whose command can no longer be on its way. */
function waitsOnReader(refund: RefundRecord, nowMs: number): boolean {
  return (
    refund.method === 'reader' &&
    refund.id === null &&
    refund.readerId !== null &&
    refund.key !== null &&
    refund.readerAction?.status === 'in_progress' &&
    !isRefundRequestInFlight(refund, nowMs)
  );
}

/** An online claim Stripe has not answered for, whose request is over. */
function unanswered(refund: RefundRecord, nowMs: number): boolean {
  return (
    refund.method === 'api' &&
    refund.id === null &&
    refund.key !== null &&
    refund.status === 'pending' &&
    !isRefundRequestInFlight(refund, nowMs)
  );
}

export async function reconcileUnsettledRefunds(candidate: PaymentRecord, run: ReconcileRun): Promise<void> {
  const startedAt = run.clock.now();
  const observations: Observation[] = [];
  for (const refund of candidate.refunds.filter((r) => waitsOnReader(r, startedAt))) {
    const read = await run.stripe(() => retrieveReader(run.deps, refund.readerId as string));
    if (read.result === undefined) continue;
    const observation = readerActionObservation(read.result, { source: 'poll' }, unixSeconds(read.startedAtMs));
    observation.forRefundKey = refund.key as string;
    observations.push(observation);
  }
  let payment = candidate;
  if (candidate.refunds.some(isRefundUnsettled)) {
    const listed = await run.stripe(() => listRefunds(run.deps, candidate.id));
    // The list first: a refund Stripe holds decides over what a reader read alone suggests.
    const refunds = listed.result.map((refund) => refundObservation(refund, { source: 'poll' }));
    payment = await recordRefunds(run, payment, [...refunds, ...observations]);
  }

  payment = await cancelStuckReaderRefunds(run, payment);

  for (const refund of payment.refunds.filter((r) => unanswered(r, run.clock.now()))) {
    const key = refund.key as string;
    try {
      const made = await run.stripe(() =>
        createRefund(run.deps, {
          paymentIntentId: payment.id,
          refundKey: key,
          amount: refund.amount,
          reason: refund.reason,
        }),
      );
      payment = await recordRefunds(run, payment, [refundObservation(made.result, { source: 'poll' })]);
    } catch (error) {
      if (isOutcomeUnknown(error)) throw error;
      const failureReason = stripeErrorCode(error) ?? 'refused';
      run.logger.warn('Refund claim refused by Stripe', { paymentId: payment.id, key, failureReason });
      payment = await recordRefunds(run, payment, [
        { kind: 'refund_refused', origin: { source: 'poll' }, key, failureReason },
      ]);
    }
  }
  await run.change(payment, (record) => withRefundChecked(record, new Date(run.clock.now())), 'refund_check_scheduled');
}

/**
 * Past `AUTO_CANCEL_STUCK_AFTER_SECONDS`, a reader still waiting for the card of a refund is freed, as a stuck
 * payment's reader is: its action cancelled, the refund `canceled` (nothing was refunded; the POS can ask again).
 */
async function cancelStuckReaderRefunds(run: ReconcileRun, candidate: PaymentRecord): Promise<PaymentRecord> {
  const cancelAfterMs = run.settings.autoCancelAfterMs;
  if (cancelAfterMs === null) return candidate;
  let payment = candidate;
  const now = run.clock.now();
  const stuck = payment.refunds.filter((r) => waitsOnReader(r, now) && now - r.requestedAtMs > cancelAfterMs);
  for (const refund of stuck) {
    const readerId = refund.readerId as string;
    const key = refund.key as string;
    const read = await run.stripe(() => retrieveReader(run.deps, readerId));
    const action = read.result === undefined ? null : readerSnapshot(read.result).action;
    const waiting = action?.type === 'refund_payment' && action.status === 'in_progress' && action.refundKey === key;
    if (!waiting) continue;
    try {
      await run.stripe(() => cancelReaderAction(run.deps, readerId, refundActionSubject(payment.id, refund)));
    } catch (error) {
      const code = stripeErrorCode(error);
      // A card being read cannot be interrupted; an offline reader is looked at again next time.
      if (code === 'terminal_reader_busy' || code === 'terminal_reader_offline') continue;
      throw error;
    }
    run.summary.actionsCanceled += 1;
    run.logger.info('Stuck reader refund cancelled', { paymentId: payment.id, readerId, key });
    const canceledAt = new Date(run.clock.now());
    payment = await recordRefunds(run, payment, [
      canceledRefundActionObservation(payment.id, readerId, key, canceledAt),
    ]);
  }
  return payment;
}

/** Record what Stripe showed; count the refunds it settled and those that failed. */
async function recordRefunds(
  run: ReconcileRun,
  payment: PaymentRecord,
  observations: Observation[],
): Promise<PaymentRecord> {
  const before = payment;
  const after = await run.record(payment, observations, new Date(run.clock.now()), 'stripe_state', 'unsettled_refund');
  for (const refund of after.refunds) {
    const earlier = before.refunds.find(
      (r) => (r.key !== null && r.key === refund.key) || (r.id !== null && r.id === refund.id),
    );
    if (earlier !== undefined && earlier.status === refund.status) continue;
    if (refund.status === 'pending') continue;
    run.summary.refundsSettled += 1;
    if (refund.status === 'failed') {
      run.summary.refundsFailed += 1;
      run.logger.warn('Refund failed', {
        paymentId: after.id,
        refundId: refund.id,
        amount: refund.amount,
        currency: refund.currency,
        failureReason: refund.failureReason,
      });
    }
  }
  return after;
}

/**
 * Apply one queued Stripe event to its payment, exactly once in effect: read the payment and the event's dedupe
 * item in one request, apply the event through the reducer, and store the change together with the event id in
 * one transaction. Duplicates, late and out-of-order events change nothing they should not.
 */
import type { Dependencies } from '../dependencies.ts';
import { currentAttempt } from '../payments/record.ts';
import { applyObservations } from '../payments/reducer.ts';
import { amountCommitted } from '../payments/refunds.ts';
import type { Observation, ObservationOrigin, PaymentRecord } from '../payments/types.ts';
import { EventAlreadyAppliedError, readPaymentForEvent, savePaymentWithEvent } from '../store/events.ts';
import { applyToPayment, VersionConflictError } from '../store/payments.ts';
import { listRefunds, retrievePaymentIntent, retrieveReader } from '../stripe/calls.ts';
import { stripeErrorCode } from '../stripe/errors.ts';
import { authorizedElsewhere, mayBelongToUnrecordedAttempt, type PaymentEvent } from '../stripe/event-observations.ts';
import { paymentIntentObservation, readerActionObservation, refundObservation } from '../stripe/snapshots.ts';
import { cancelReaderAction, readerRunsPayment } from '../stripe/terminal.ts';
import { unixSeconds } from '../time.ts';

/** Re-reads after a concurrent write to the same payment, before the event is left for the queue to retry. */
const MAX_APPLY_ATTEMPTS = 5;

/** What became of an event. */
export type EventOutcome = 'applied' | 'unchanged' | 'stale' | 'duplicate' | 'unknown_payment' | 'unrecorded_attempt';

/** Where the operation reports what an operator should know. */
export interface EventLog {
  warn(message: string, details: Record<string, unknown>): void;
  /** A refund the event moved to `failed` (money the customer was promised did not go back). */
  refundFailed?(details: FailedRefund): void;
}

export interface FailedRefund {
  paymentId: string;
  refundId: string | null;
  amount: number;
  currency: string;
  failureReason: string | null;
}

/** The refunds that are `failed` in `after` and were not in `before`. */
export function newlyFailedRefunds(before: PaymentRecord, after: PaymentRecord): FailedRefund[] {
  const failedBefore = new Set(
    before.refunds.filter((refund) => refund.status === 'failed').map((refund) => refund.id ?? refund.key),
  );
  return after.refunds
    .filter((refund) => refund.status === 'failed' && !failedBefore.has(refund.id ?? refund.key))
    .map((refund) => ({
      paymentId: after.id,
      refundId: refund.id,
      amount: refund.amount,
      currency: refund.currency,
      failureReason: refund.failureReason,
    }));
}

/** Apply one event to its payment: one read, and one transactional write when the payment changed. */
export async function applyEvent(
  deps: Dependencies,
  queued: PaymentEvent,
  log: EventLog,
  options: { remainingMs?: () => number } = {},
): Promise<EventOutcome> {
  const { event } = queued;
  // By when each Stripe call must end: the invocation's time left (wall time), as a deadline on the domain clock at
  // the moment of the call, so a clock moved meanwhile (tests) never makes a deadline that already passed.
  const by = (): { deadline?: number } => {
    const { remainingMs } = options;
    return remainingMs === undefined ? {} : { deadline: deps.clock.now() + remainingMs() };
  };
  const reads: { paymentIntent?: Observation; reader?: Observation | null; refunds?: Observation[] } = {};
  for (let attempt = 1; ; attempt += 1) {
    const { payment, alreadyApplied } = await readPaymentForEvent(deps.store, queued.paymentIntentId, event.id);
    if (alreadyApplied) return 'duplicate';
    if (payment === undefined) return 'unknown_payment';
    const origin: ObservationOrigin = { source: 'poll', eventId: event.id, eventType: event.type };
    if (queued.readerObservation && authorizedElsewhere(payment, queued.readerObservation)) {
      await releaseOtherReader(deps, payment, origin, log, by);
      return 'applied';
    }
    if (queued.readerObservation && mayBelongToUnrecordedAttempt(payment, queued.readerObservation)) {
      return 'unrecorded_attempt';
    }
    if (queued.readPaymentIntent && reads.paymentIntent === undefined) {
      // A connection error may hide an authorization: record what the PaymentIntent shows, before the failure.
      const readAtMs = deps.clock.now();
      reads.paymentIntent = paymentIntentObservation(
        await retrievePaymentIntent(deps, payment.id, by()),
        origin,
        readAtMs,
      );
    }
    if (reads.refunds === undefined && needsRefundsRead(queued, payment)) {
      // What Stripe holds of the refunds decides before the event: a reader's lost answer, or refunds whose own
      // events were lost (or that were made elsewhere).
      reads.refunds = (await listRefunds(deps, payment.id, by())).map((refund) => refundObservation(refund, origin));
    }
    let observations = [
      ...(reads.paymentIntent ? [reads.paymentIntent] : []),
      ...(reads.refunds ?? []),
      ...queued.observations,
    ];
    const now = new Date(deps.clock.now());
    let result = applyObservations(payment, observations, now);
    if (result.verdict === 'ambiguous') {
      // The event may be an earlier attempt's, from the second this one started: the reader says which it is.
      if (reads.reader === undefined) reads.reader = await readReaderAfterAttemptStart(deps, payment, origin, by);
      const readerRead = reads.reader === null ? [] : [reads.reader];
      observations = observations.flatMap((o) => (o === queued.readerObservation ? readerRead : [o]));
      result = applyObservations(payment, observations, now);
      if (result.verdict === 'ambiguous') throw new Error(`Reader read for event ${event.id} is still ambiguous`);
    }
    if (!result.changed) return result.verdict === 'stale' ? 'stale' : 'unchanged';

    try {
      const applied = { id: event.id, type: event.type, created: event.created, paymentIntentId: payment.id };
      await savePaymentWithEvent(deps.store, result.record, applied, now);
      for (const failed of newlyFailedRefunds(payment, result.record)) log.refundFailed?.(failed);
      return 'applied';
    } catch (error) {
      if (error instanceof EventAlreadyAppliedError) return 'duplicate';
      if (!(error instanceof VersionConflictError) || attempt >= MAX_APPLY_ATTEMPTS) throw error;
      await deps.clock.sleep(Math.random() * 20 * attempt);
    }
  }
}

/** Whether the event needs the payment's refunds read from Stripe before it is applied. */
function needsRefundsRead(queued: PaymentEvent, payment: PaymentRecord): boolean {
  if (queued.readRefunds === 'always') return true;
  if (queued.readRefunds !== 'unexplained' || payment.status !== 'succeeded') return false;
  return queued.chargeAmountRefunded !== amountCommitted(payment);
}

/**
 * The payment was authorized on another reader than its current attempt's (a command that reached a reader
 * although Stripe reported it did not): free the current attempt's reader, which may still wait for a card for a
 * PaymentIntent that is already paid, then record what Stripe holds, the PaymentIntent first.
 */
async function releaseOtherReader(
  deps: Dependencies,
  payment: PaymentRecord,
  origin: ObservationOrigin,
  log: EventLog,
  by: () => { deadline?: number },
): Promise<void> {
  const attempt = currentAttempt(payment);
  const reader = attempt === undefined ? undefined : await retrieveReader(deps, attempt.readerId, by());
  if (attempt !== undefined && reader !== undefined && readerRunsPayment(reader, payment.id)) {
    log.warn('Payment authorized on another reader than its current attempt; freeing that reader', {
      paymentId: payment.id,
      readerId: attempt.readerId,
    });
    try {
      await cancelReaderAction(deps, attempt.readerId, `${payment.id}:${attempt.number}`, by());
    } catch (error) {
      // Offline, it cannot take a card either; busy, a card is being read: the event comes back to look again.
      if (stripeErrorCode(error) !== 'terminal_reader_offline') throw error;
    }
  }
  const readAtMs = deps.clock.now();
  const paymentIntent = paymentIntentObservation(await retrievePaymentIntent(deps, payment.id, by()), origin, readAtMs);
  await applyToPayment(deps.store, payment, [paymentIntent], new Date(deps.clock.now()));
}

/**
 * The reader's action, read in a later second than the current attempt's start, so that the reducer can tell
 * the attempts apart. Null when the reader no longer exists.
 */
async function readReaderAfterAttemptStart(
  deps: Dependencies,
  payment: PaymentRecord,
  origin: ObservationOrigin,
  by: () => { deadline?: number },
): Promise<Observation | null> {
  const attempt = currentAttempt(payment);
  if (attempt === undefined) return null;
  const nextSecondMs = (unixSeconds(attempt.startedAtMs) + 1) * 1000;
  if (deps.clock.now() < nextSecondMs) await deps.clock.sleep(nextSecondMs - deps.clock.now());
  const readAtMs = deps.clock.now();
  const reader = await retrieveReader(deps, attempt.readerId, by());
  return reader === undefined ? null : readerActionObservation(reader, origin, unixSeconds(readAtMs));
}

/**
 * The one place where an observation of Stripe's state changes a payment record. API responses, `?refresh=true`,
 * the webhook processor and the reconciler all go through `applyObservation`, so a late, duplicated or
 * reordered observation is judged by the same rules wherever it comes from.
 */

import { isDeepStrictEqual } from 'node:util';
import { unixSeconds } from '../time.ts';
import { paymentActionStatus } from './reader-action.ts';
import {
  currentAttempt,
  DEFAULT_AUTHORIZATION_WINDOW_MS,
  isCommandInFlight,
  isFinalStatus,
  isPaymentStatus,
  withHistory,
} from './record.ts';
import {
  acceptsRefundStatus,
  isRefundRequestInFlight,
  refundStatusAfterReaderFailure,
  refundStatusOf,
  withRefundSchedule,
} from './refunds.ts';
import type {
  ChargeObservation,
  ChargeSnapshot,
  Observation,
  ObservationResult,
  PaymentIntentObservation,
  PaymentRecord,
  PaymentStatus,
  ReaderActionObservation,
  ReaderActionState,
  RefundObservation,
  RefundRecord,
  RefundRefusedObservation,
} from './types.ts';

/**
 * How far along a PaymentIntent is. Statuses only move up, except a decline that returns it to
 * `requires_payment_method` (see `isDeclineReturn`).
 */
const STATUS_RANK: Record<PaymentStatus, number> = {
  requires_payment_method: 0,
  requires_confirmation: 1,
  requires_action: 2,
  processing: 3,
  requires_capture: 4,
  succeeded: 5,
  canceled: 5,
};

/** Cancellation reasons Stripe uses when an uncaptured authorization lapses. */
const EXPIRY_REASONS = new Set(['expired', 'automatic']);

/**
 * Apply one observation of Stripe's state to a payment record.
 *
 * Returns the new record (the input is never mutated), whether it changed, and the verdict: `stale` and
 * `unchanged` leave the record as it was; `ambiguous` means the caller should read the reader and apply that.
 */
export function applyObservation(record: PaymentRecord, observation: Observation, now: Date): ObservationResult {
  switch (observation.kind) {
    case 'payment_intent':
      return applyPaymentIntent(record, observation, now);
    case 'charge':
      return applyCharge(record, observation, now);
    case 'reader_action':
      return isAboutRefund(observation)
        ? applyRefundReaderAction(record, observation, now)
        : applyReaderAction(record, observation, now);
    case 'refund':
      return applyRefund(record, observation, now);
    case 'refund_refused':
      return applyRefundRefused(record, observation, now);
  }
}

/** Apply several observations in order; `changed` if any changed the record. */
export function applyObservations(record: PaymentRecord, observations: Observation[], now: Date): ObservationResult {
  let result: ObservationResult = { record, changed: false, verdict: 'unchanged' };
  for (const observation of observations) {
    const next = applyObservation(result.record, observation, now);
    result = {
      record: next.record,
      changed: result.changed || next.changed,
      verdict: next.verdict === 'ambiguous' || result.verdict === 'ambiguous' ? 'ambiguous' : next.verdict,
    };
  }
  return result;
}

const unchanged = (record: PaymentRecord): ObservationResult => ({ record, changed: false, verdict: 'unchanged' });
const stale = (record: PaymentRecord): ObservationResult => ({ record, changed: false, verdict: 'stale' });

/** A decline sends a PaymentIntent that was being authorized back to `requires_payment_method`. */
function isDeclineReturn(record: PaymentRecord, observation: PaymentIntentObservation): boolean {
  const { paymentIntent } = observation;
  return (
    paymentIntent.status === 'requires_payment_method' &&
    paymentIntent.lastPaymentError !== null &&
    STATUS_RANK[record.status] > 0 &&
    STATUS_RANK[record.status] < STATUS_RANK.requires_capture &&
    observation.observedAtMs >= record.paymentIntentObservedAtMs
  );
}

function acceptsPaymentIntent(record: PaymentRecord, observation: PaymentIntentObservation, next: PaymentStatus) {
  if (next === record.status) return observation.observedAtMs >= record.paymentIntentObservedAtMs;
  if (isFinalStatus(record.status)) return false;
  if (STATUS_RANK[next] > STATUS_RANK[record.status]) return true;
  return isDeclineReturn(record, observation);
}

function applyPaymentIntent(
  record: PaymentRecord,
  observation: PaymentIntentObservation,
  now: Date,
): ObservationResult {
  const { paymentIntent } = observation;
  const next = paymentIntent.status;
  if (paymentIntent.id !== record.id || !isPaymentStatus(next)) return stale(record);
  if (!acceptsPaymentIntent(record, observation, next)) return stale(record);

  let updated: PaymentRecord = {
    ...record,
    status: next,
    amount: paymentIntent.amount,
    tipAmount: paymentIntent.tipAmount,
    receiptEmail: paymentIntent.receiptEmail,
    amountCapturable: paymentIntent.amountCapturable,
    amountReceived: paymentIntent.amountReceived,
    lastPaymentError: paymentIntent.lastPaymentError,
    cancellationReason: paymentIntent.cancellationReason,
    paymentIntentObservedAtMs: Math.max(record.paymentIntentObservedAtMs, observation.observedAtMs),
  };
  if (paymentIntent.latestCharge !== null) updated = withCharge(updated, paymentIntent.latestCharge);
  if (next === 'requires_capture' && updated.authorizedAt === null) {
    const authorizedAtMs =
      paymentIntent.latestCharge !== null ? paymentIntent.latestCharge.created * 1000 : observation.observedAtMs;
    updated = { ...updated, authorizedAt: new Date(authorizedAtMs).toISOString() };
  }
  if (updated.authorizedAt !== null && updated.captureBefore === null) {
    const deadline = Date.parse(updated.authorizedAt) + DEFAULT_AUTHORIZATION_WINDOW_MS;
    updated = { ...updated, captureBefore: new Date(deadline).toISOString() };
  }
  updated = { ...updated, flags: paymentIntentFlags(record.status, updated) };
  // An authorized PaymentIntent means the reader's process action succeeded, even if its own event is late or lost.
  if ((next === 'requires_capture' || next === 'succeeded') && updated.readerAction?.status === 'in_progress') {
    updated = {
      ...updated,
      readerAction: { ...updated.readerAction, status: 'succeeded', updatedAt: now.toISOString() },
    };
    updated = { ...updated, flags: updated.flags.filter((flag) => flag !== 'reader_stuck') };
  }
  return finish(record, updated, observation, `payment_intent ${next}`, now);
}

function paymentIntentFlags(previous: PaymentStatus, updated: PaymentRecord): PaymentRecord['flags'] {
  let flags = updated.flags;
  if (updated.status !== 'requires_capture') flags = flags.filter((flag) => flag !== 'capture_deadline_approaching');
  const lapsed =
    updated.status === 'canceled' &&
    updated.cancellationReason !== null &&
    (updated.cancellationReason === 'expired' ||
      (previous === 'requires_capture' && EXPIRY_REASONS.has(updated.cancellationReason)));
  if (lapsed && !flags.includes('authorization_expired')) flags = [...flags, 'authorization_expired'];
  return flags;
}

/** Card details and the capture deadline come from the successful charge; a declined charge tells neither. */
function withCharge(record: PaymentRecord, charge: ChargeSnapshot): PaymentRecord {
  if (charge.status === 'failed') return record;
  return {
    ...record,
    chargeId: charge.id,
    paymentMethodType: charge.paymentMethodType ?? record.paymentMethodType,
    receipt: charge.receipt ?? record.receipt,
    card: charge.brand !== null || charge.last4 !== null ? { brand: charge.brand, last4: charge.last4 } : record.card,
    captureBefore:
      charge.captureBefore !== null ? new Date(charge.captureBefore * 1000).toISOString() : record.captureBefore,
  };
}

function applyCharge(record: PaymentRecord, observation: ChargeObservation, now: Date): ObservationResult {
  const { charge } = observation;
  if (charge.paymentIntentId !== record.id) return stale(record);
  const updated = withCharge(record, charge);
  return finish(record, updated, observation, `charge ${charge.status}`, now);
}

/** How far behind ours Stripe's clock (an event's `created`) may be, and the event still be told apart. */
export const CLOCK_SKEW_SECONDS = 2;

/**
 * Which attempt a reader-action observation is about. A reader's action carries no attempt number, so it is
 * matched by reader and time. On a reader that ran only the current attempt, every action of this PaymentIntent
 * is the current attempt's. After an earlier attempt on the same reader, an event Stripe created after the second
 * the attempt started is the current attempt's; one from that second, or from up to `CLOCK_SKEW_SECONDS` before it
 * (Stripe's clock may be behind ours), may be either: ambiguous, and a read of the reader decides. A read is
 * stamped by our own clock, so only its own second is ambiguous.
 */
function matchAttempt(record: PaymentRecord, observation: ReaderActionObservation): 'current' | 'stale' | 'ambiguous' {
  const attempt = currentAttempt(record);
  if (attempt === undefined || observation.readerId !== attempt.readerId) return 'stale';
  if (observation.forAttempt !== undefined) return observation.forAttempt === attempt.number ? 'current' : 'stale';
  const earlierOnReader = record.attemptLog.some((a) => a.number < attempt.number && a.readerId === attempt.readerId);
  if (!earlierOnReader) return 'current';
  const startSecond = unixSeconds(attempt.startedAtMs);
  const skew = observation.origin.source === 'webhook' ? CLOCK_SKEW_SECONDS : 0;
  if (observation.createdSeconds < startSecond - skew) return 'stale';
  if (observation.createdSeconds <= startSecond) return 'ambiguous';
  return 'current';
}

function applyReaderAction(record: PaymentRecord, observation: ReaderActionObservation, now: Date): ObservationResult {
  const match = matchAttempt(record, observation);
  if (match !== 'current') return { record, changed: false, verdict: match };
  // While the command may be on its way, a read of the reader that does not show it (no action, another
  // payment's, or an earlier attempt's on the same reader) proves nothing: the reader may take it right after.
  const read = observation.origin.source !== 'webhook' && observation.forAttempt === undefined;
  if (read && isCommandInFlight(record, now.getTime()) && !showsCurrentCommand(record, observation)) {
    return stale(record);
  }
  const current = record.readerAction;
  // Within an attempt the action only moves from in_progress to succeeded or failed, and then never again.
  if (current !== null && current.status !== 'in_progress') return unchanged(record);

  const { action } = observation;
  const ours = action !== null && paymentActionStatus(observation, record.id) !== null;
  let next: Omit<ReaderActionState, 'updatedAt'>;
  if (ours) {
    if (action.status === 'in_progress' && current !== null) return unchanged(record);
    next = {
      type: 'process_payment_intent',
      status: action.status,
      failureCode: action.failureCode,
      failureMessage: action.failureMessage,
    };
  } else {
    // The reader no longer holds this payment's action, read after the attempt started: the action ended.
    // Only a read can show that (events name their own PaymentIntent), and only a strictly later second is sure.
    // Nor while the command is still on its way: the reader may take it after this read.
    const attempt = currentAttempt(record);
    const later = attempt !== undefined && observation.createdSeconds > unixSeconds(attempt.startedAtMs);
    if (observation.origin.source === 'webhook' || !later || current === null) return stale(record);
    if (observation.readerStatus === 'offline') return stale(record);
    next =
      record.status === 'requires_capture' || record.status === 'succeeded'
        ? { type: 'process_payment_intent', status: 'succeeded', failureCode: null, failureMessage: null }
        : {
            type: 'process_payment_intent',
            status: 'failed',
            failureCode: 'canceled',
            failureMessage: 'The reader is no longer processing this payment.',
          };
  }
  let updated: PaymentRecord = {
    ...record,
    readerAction: { ...next, updatedAt: now.toISOString() },
  };
  if (next.status !== 'in_progress') updated = { ...updated, flags: updated.flags.filter((f) => f !== 'reader_stuck') };
  const summary = `reader_action ${next.status}${next.failureCode ? ` ${next.failureCode}` : ''}`;
  return finish(record, updated, observation, summary, now);
}

/**
 * Whether a read shows the current attempt's command on its reader: this payment's action, and not one an earlier
 * attempt on the same reader could have left there.
 */
function showsCurrentCommand(record: PaymentRecord, observation: ReaderActionObservation): boolean {
  const status = paymentActionStatus(observation, record.id);
  if (status === null) return false;
  const attempt = currentAttempt(record);
  const earlierOnReader = record.attemptLog.some(
    (a) => a.number < (attempt?.number ?? 0) && a.readerId === observation.readerId,
  );
  return status === 'in_progress' || !earlierOnReader;
}

/** Compare, and if anything the API shows changed, stamp `updatedAt` and add the audit entry. */
function finish(
  before: PaymentRecord,
  after: PaymentRecord,
  observation: Observation,
  summary: string,
  now: Date,
): ObservationResult {
  // A snapshot that moves nothing the API shows is not worth a write (not even its newer read time).
  if (!differs(before, after)) return unchanged(before);
  const stamped = { ...after, updatedAt: now.toISOString() };
  return {
    record: withHistory(stamped, observation.origin, observation.kind, summary, now),
    changed: true,
    verdict: 'applied',
  };
}

const TRACKED_FIELDS = [
  'status',
  'amount',
  'amountCapturable',
  'amountReceived',
  'lastPaymentError',
  'cancellationReason',
  'card',
  'chargeId',
  'authorizedAt',
  'captureBefore',
  'flags',
  'readerAction',
  'paymentMethodType',
  'refunds',
  'tipAmount',
  'receipt',
  'receiptEmail',
] as const satisfies readonly (keyof PaymentRecord)[];

/** Compared by value, whatever the order of an object's keys (a record read back from the table keeps none). */
function differs(before: PaymentRecord, after: PaymentRecord): boolean {
  return TRACKED_FIELDS.some((field) => !isDeepStrictEqual(before[field], after[field]));
}

/**
 * A reader event of a `refund_payment` action, or a read the backend made for a refund (`forRefundKey`). Other reads
 * are about the payment's process attempt, whatever action the reader shows.
 */
function isAboutRefund(observation: ReaderActionObservation): boolean {
  if (observation.forRefundKey !== undefined) return true;
  return observation.origin.source === 'webhook' && observation.action?.type === 'refund_payment';
}

/** The record with the refund at `index` replaced, the reconciler's schedule kept in step. */
function withRefundAt(record: PaymentRecord, index: number, refund: RefundRecord, now: Date): PaymentRecord {
  const refunds = index < 0 ? [...record.refunds, refund] : record.refunds.with(index, refund);
  return withRefundSchedule({ ...record, refunds }, now);
}

function withoutAnswerDue(refund: RefundRecord): RefundRecord {
  if (refund.answerDueByMs === undefined) return refund;
  const { answerDueByMs: _answered, ...answered } = refund;
  return answered;
}

/**
 * A refund as Stripe holds it. It is matched to the refund the record knows by its id, or by the POS's key in its
 * metadata to the claim that asked for it; a refund made elsewhere (the Dashboard) is added. A refund object is the
 * truth about a refund: it overrides what a reader's action alone suggested.
 */
function applyRefund(record: PaymentRecord, observation: RefundObservation, now: Date): ObservationResult {
  const { refund } = observation;
  const status = refundStatusOf(refund.status);
  if (refund.paymentIntentId !== record.id || status === undefined) return stale(record);
  let index = record.refunds.findIndex((known) => known.id === refund.id);
  if (index < 0 && refund.key !== null) {
    index = record.refunds.findIndex((known) => known.id === null && known.key === refund.key);
  }
  const at = now.toISOString();
  const current = record.refunds[index];
  if (current !== undefined && current.id !== null && !acceptsRefundStatus(current.status, status)) {
    return stale(record);
  }
  const reason = current?.reason ?? (isRefundReason(refund.reason) ? refund.reason : null);
  let next: RefundRecord = {
    key: current?.key ?? refund.key,
    requestHash: current?.requestHash ?? null,
    id: refund.id,
    amount: refund.amount,
    currency: refund.currency,
    status,
    reason,
    method: current?.method ?? 'api',
    readerId: current?.readerId ?? null,
    readerAction: current?.readerAction ?? null,
    failureReason: status === 'failed' ? (refund.failureReason ?? current?.failureReason ?? null) : null,
    requestedAtMs: current?.requestedAtMs ?? refund.created * 1000,
    createdAt: current?.createdAt ?? new Date(refund.created * 1000).toISOString(),
    updatedAt: at,
  };
  if (current?.command !== undefined) next.command = current.command;
  // The refund exists: the reader's action that made it succeeded, whatever its own event says or when it comes.
  if (next.readerAction !== null && next.readerAction.status !== 'succeeded') {
    next = {
      ...next,
      readerAction: {
        ...next.readerAction,
        status: 'succeeded',
        failureCode: null,
        failureMessage: null,
        updatedAt: at,
      },
    };
  }
  if (current !== undefined && !refundDiffers(current, next)) return unchanged(record);
  const updated = withRefundAt(record, index, withoutAnswerDue(next), now);
  return finish(record, updated, observation, `refund ${refund.id} ${status}`, now);
}

function isRefundReason(reason: string | null): reason is NonNullable<RefundRecord['reason']> {
  return reason === 'requested_by_customer' || reason === 'duplicate' || reason === 'fraudulent';
}

/** Fields of a refund the API shows (its bookkeeping aside). */
function refundDiffers(before: RefundRecord, after: RefundRecord): boolean {
  const shown = (refund: RefundRecord) =>
    JSON.stringify([
      refund.id,
      refund.amount,
      refund.status,
      refund.reason,
      refund.failureReason,
      refund.readerAction?.status ?? null,
      refund.readerAction?.failureCode ?? null,
    ]);
  return shown(before) !== shown(after);
}

/** Stripe refused to make a claimed refund, or holds none for a claim whose request is over: it failed. */
function applyRefundRefused(
  record: PaymentRecord,
  observation: RefundRefusedObservation,
  now: Date,
): ObservationResult {
  const index = record.refunds.findIndex((refund) => refund.key === observation.key);
  const current = record.refunds[index];
  if (current === undefined || current.id !== null || current.status !== 'pending') return stale(record);
  if (isRefundRequestInFlight(current, now.getTime())) return stale(record);
  const at = now.toISOString();
  const next: RefundRecord = {
    ...withoutAnswerDue(current),
    status: 'failed',
    failureReason: observation.failureReason,
    readerAction:
      current.readerAction === null
        ? null
        : { ...current.readerAction, status: 'failed', failureCode: observation.failureReason, updatedAt: at },
    updatedAt: at,
  };
  const updated = withRefundAt(record, index, next, now);
  return finish(record, updated, observation, `refund ${observation.key} failed ${observation.failureReason}`, now);
}

/**
 * A reader refund's `refund_payment` action: its event, the reader's answer to the command, or a read of the reader
 * made for the refund. The action's metadata names the refund (the POS's key). A read showing the reader no longer
 * on it, in a later second than the command and after the command can no longer arrive, ends it: succeeded when
 * Stripe holds the refund (learnt first, from a list of the payment's refunds), canceled otherwise.
 */
function applyRefundReaderAction(
  record: PaymentRecord,
  observation: ReaderActionObservation,
  now: Date,
): ObservationResult {
  const key = observation.forRefundKey ?? observation.action?.refundKey ?? null;
  if (key === null) return stale(record);
  const index = record.refunds.findIndex((refund) => refund.key === key && refund.method === 'reader');
  const current = record.refunds[index];
  if (current === undefined || current.readerId !== observation.readerId || current.readerAction === null) {
    return stale(record);
  }
  const { action } = observation;
  const ours =
    action !== null &&
    action.type === 'refund_payment' &&
    action.paymentIntentId === record.id &&
    action.refundKey === key;
  const at = now.toISOString();
  let next: RefundRecord = current;
  if (ours && action.status === 'succeeded' && current.id === null && action.refundId) {
    next = { ...next, id: action.refundId };
  }
  if (current.readerAction.status === 'in_progress') {
    if (ours) {
      if (action.status !== 'in_progress') {
        next = {
          ...next,
          readerAction: {
            type: 'refund_payment',
            status: action.status,
            failureCode: action.failureCode,
            failureMessage: action.failureMessage,
            updatedAt: at,
          },
        };
        if (action.status === 'failed' && next.id === null) {
          next = {
            ...next,
            status: refundStatusAfterReaderFailure(action.failureCode),
            failureReason: action.failureCode,
          };
        }
      }
    } else {
      const read = observation.origin.source !== 'webhook';
      const later = observation.createdSeconds > unixSeconds(current.requestedAtMs);
      if (!read || !later || observation.readerStatus === 'offline') return stale(record);
      if (isRefundRequestInFlight(current, now.getTime())) return stale(record);
      const succeeded = next.id !== null;
      next = {
        ...next,
        readerAction: {
          type: 'refund_payment',
          status: succeeded ? 'succeeded' : 'failed',
          failureCode: succeeded ? null : 'canceled',
          failureMessage: succeeded ? null : 'The reader is no longer waiting for the card for this refund.',
          updatedAt: at,
        },
      };
      if (!succeeded) next = { ...next, status: 'canceled', failureReason: 'canceled' };
    }
  }
  if (next === current || !refundDiffers(current, next)) return unchanged(record);
  next = { ...next, updatedAt: at };
  if (next.readerAction?.status !== 'in_progress' || next.id !== null) next = withoutAnswerDue(next);
  const updated = withRefundAt(record, index, next, now);
  const summary = `refund reader_action ${next.readerAction?.status ?? 'none'}${next.readerAction?.failureCode ? ` ${next.readerAction.failureCode}` : ''}`;
  return finish(record, updated, observation, summary, now);
}

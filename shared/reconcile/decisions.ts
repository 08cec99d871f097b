/**
 * What the reconciler concludes about a candidate payment from what Stripe showed. Pure: the run reads Stripe,
 * asks these functions, and stores what they return through the reducer.
 */

import { paymentActionStatus } from '../payments/reader-action.ts';
import {
  currentAttempt,
  isAwaitingOutcome,
  isReaderActionInProgress,
  withFlag,
  withHistory,
} from '../payments/record.ts';
import type {
  Observation,
  PaymentIntentSnapshot,
  PaymentRecord,
  ProcessAttempt,
  ReaderActionObservation,
  ReaderSnapshot,
} from '../payments/types.ts';
import { unixSeconds } from '../time.ts';
import type { ReconcileSettings, StaleAuthorizationAction } from './settings.ts';

const POLL = { source: 'poll' } as const;

/** The reader and the PaymentIntent as read for a stuck action, with the time each read started. */
/** An action whose outcome is known. */
const hasEnded = (status: string | null) => status === 'succeeded' || status === 'failed';

export interface StuckActionReads {
  /** Undefined when Stripe no longer has the reader. */
  reader: ReaderSnapshot | undefined;
  readerReadAtMs: number;
  paymentIntent: PaymentIntentSnapshot;
  paymentIntentReadAtMs: number;
}

/**
 * The observations to apply for a stuck action, in the order the reducer needs: the PaymentIntent first (an
 * authorization means the action succeeded, whatever the reader shows since), then the reader.
 *
 * The reader is left out while it is offline and shows no outcome for this payment: an offline reader's API state
 * does not follow the device, so "no action" there does not mean the action ended. A reader Stripe no longer has
 * runs nothing: it is observed with no action, which ends this payment's action.
 */
export function stuckActionObservations(attempt: ProcessAttempt, reads: StuckActionReads): Observation[] {
  const paymentIntent: Observation = {
    kind: 'payment_intent',
    origin: POLL,
    observedAtMs: reads.paymentIntentReadAtMs,
    paymentIntent: reads.paymentIntent,
  };
  const { reader } = reads;
  if (
    reader !== undefined &&
    reader.status === 'offline' &&
    !hasEnded(paymentActionStatus(reader, reads.paymentIntent.id))
  ) {
    return [paymentIntent];
  }
  const readerAction: ReaderActionObservation = {
    kind: 'reader_action',
    origin: POLL,
    readerId: attempt.readerId,
    action: reader?.action ?? null,
    createdSeconds: unixSeconds(reads.readerReadAtMs),
  };
  return [paymentIntent, readerAction];
}

export type StuckActionDecision =
  /** Stripe had the outcome, or the reader moved on: the action is recorded as ended. Nothing more to do. */
  | { kind: 'settled' }
  /**
   * The reader still runs this payment's action, or is offline: flag the payment `reader_stuck`, and with
   * `cancelAction` reset the reader (only ever while it still runs this payment's action).
   */
  | { kind: 'stuck'; reason: 'in_progress' | 'offline'; cancelAction: boolean }
  /** The reads could not tell which attempt the reader's state belongs to: look again on the next run. */
  | { kind: 'undecided' };

/**
 * What to do about a stuck action once the reads were applied (`recorded` is the record after the reducer).
 * `ageMs` is how long the attempt has been running.
 */
export function decideStuckAction(
  recorded: PaymentRecord,
  attempt: ProcessAttempt,
  reader: ReaderSnapshot | undefined,
  ageMs: number,
  settings: Pick<ReconcileSettings, 'autoCancelAfterMs'>,
): StuckActionDecision {
  if (recorded.attempts !== attempt.number || !isReaderActionInProgress(recorded)) return { kind: 'settled' };
  if (reader === undefined) return { kind: 'undecided' };
  // An offline reader answers every command with terminal_reader_offline: flag it, cancel nothing.
  if (reader.status === 'offline') return { kind: 'stuck', reason: 'offline', cancelAction: false };
  if (paymentActionStatus(reader, recorded.id) !== 'in_progress') return { kind: 'undecided' };
  const cancelAction = settings.autoCancelAfterMs !== null && ageMs >= settings.autoCancelAfterMs;
  return { kind: 'stuck', reason: 'in_progress', cancelAction };
}

/**
 * The payment flagged `reader_stuck`, if its action `attempt` is still in progress (a concurrent writer may have
 * settled it, or the POS started another attempt, since the reads).
 */
export function markReaderStuck(record: PaymentRecord, attempt: number, now: Date): PaymentRecord {
  if (record.attempts !== attempt || !isReaderActionInProgress(record)) return record;
  if (record.flags.includes('reader_stuck')) return record;
  return withHistory(withFlag(record, 'reader_stuck', now), POLL, 'flag', 'reader_stuck set', now);
}

/**
 * The reader-action observation recording that the reconciler cancelled `attempt`'s action on its reader: the
 * action failed with `canceled` (Stripe sends no webhook for `cancel_action`).
 */
export function canceledByReconcilerObservation(
  record: PaymentRecord,
  attempt: ProcessAttempt,
  now: Date,
): ReaderActionObservation {
  return {
    kind: 'reader_action',
    origin: POLL,
    readerId: attempt.readerId,
    action: {
      type: 'process_payment_intent',
      status: 'failed',
      failureCode: 'canceled',
      failureMessage: 'The reader action was stuck and has been canceled.',
      paymentIntentId: record.id,
    },
    createdSeconds: unixSeconds(now.getTime()),
    forAttempt: attempt.number,
  };
}

/** The attempt a stuck-action candidate is about, or undefined when the record names none. */
export function stuckAttempt(record: PaymentRecord): ProcessAttempt | undefined {
  return isAwaitingOutcome(record) ? currentAttempt(record) : undefined;
}

/**
 * Whether an authorization past the warning age needs a Stripe read: to learn the real `capture_before` (and
 * state) before flagging it, once; or to apply the stale-authorization policy.
 */
export function agingAuthorizationNeedsRead(record: PaymentRecord, policy: StaleAuthorizationAction): boolean {
  if (record.status !== 'requires_capture') return false;
  return !record.flags.includes('capture_deadline_approaching') || policy !== 'none';
}

/** The payment flagged `capture_deadline_approaching`, while it is still waiting to be captured. */
export function markCaptureDeadlineApproaching(record: PaymentRecord, now: Date): PaymentRecord {
  if (record.status !== 'requires_capture' || record.flags.includes('capture_deadline_approaching')) return record;
  const flagged = withFlag(record, 'capture_deadline_approaching', now);
  return withHistory(flagged, POLL, 'flag', 'capture_deadline_approaching set', now);
}

export type StaleAuthorizationStep = { kind: 'capture' } | { kind: 'cancel' } | { kind: 'none' };

/**
 * What `STALE_AUTHORIZATION_ACTION` does with an aging authorization: capture or cancel it while Stripe still
 * holds it; nothing once it is no longer `requires_capture` (captured, canceled or expired meanwhile).
 */
export function decideStaleAuthorization(
  record: PaymentRecord,
  policy: StaleAuthorizationAction,
): StaleAuthorizationStep {
  if (record.status !== 'requires_capture' || policy === 'none') return { kind: 'none' };
  return { kind: policy };
}

/**
 * Whether a candidate of the deadline index is really past its deadline: an index copy can be behind the item,
 * so the record itself decides.
 */
export function isPastCaptureDeadline(record: PaymentRecord, nowMs: number): boolean {
  return (
    record.status === 'requires_capture' && record.captureBefore !== null && Date.parse(record.captureBefore) <= nowMs
  );
}

/**
 * Building and changing payment records: creation, process attempts, flags and the audit trail. Pure functions;
 * each returns a new record and never mutates its input.
 */
import type {
  AuditEntry,
  CaptureMethod,
  ObservationOrigin,
  PaymentFlag,
  PaymentIntentSnapshot,
  PaymentRecord,
  PaymentStatus,
  ProcessAttempt,
} from './types.ts';
import { PAYMENT_STATUSES } from './types.ts';

/** Entries kept in a payment's audit trail. */
export const HISTORY_LIMIT = 25;
/** Process attempts kept on the record (enough to match any late reader event to its attempt). */
export const ATTEMPT_LOG_LIMIT = 10;
/** The seed's rule when Stripe gives no `capture_before`: Terminal authorizations last two days. */
export const DEFAULT_AUTHORIZATION_WINDOW_MS = 2 * 24 * 60 * 60 * 1000;

/** `succeeded` and `canceled` never change again. */
export function isFinalStatus(status: PaymentStatus): boolean {
  return status === 'succeeded' || status === 'canceled';
}

export function isPaymentStatus(value: string): value is PaymentStatus {
  return (PAYMENT_STATUSES as readonly string[]).includes(value);
}

/** True while the payment's latest reader action is still running on the reader. */
export function isReaderActionInProgress(record: PaymentRecord): boolean {
  return record.readerAction?.status === 'in_progress';
}

/** Statuses before an authorization: a reader action that succeeded should have moved the payment past them. */
const BEFORE_AUTHORIZATION: ReadonlySet<PaymentStatus> = new Set([
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
]);

/**
 * True while the payment waits for the outcome of its reader action: the action still runs, or the reader reported
 * success but the PaymentIntent's own events have not arrived (they may be late or lost). Such a payment is in the
 * reconciler's `activeReaderActions` index, so a missing webhook of either kind is caught.
 */
export function isAwaitingOutcome(record: PaymentRecord): boolean {
  if (isReaderActionInProgress(record)) return true;
  return record.readerAction?.status === 'succeeded' && BEFORE_AUTHORIZATION.has(record.status);
}

/** The attempt the record's `readerAction` belongs to, if any. */
export function currentAttempt(record: PaymentRecord): ProcessAttempt | undefined {
  const last = record.attemptLog.at(-1);
  return last !== undefined && last.number === record.attempts ? last : undefined;
}

/**
 * True while the current attempt's command may still be on its way to the reader: claimed, not yet answered by
 * Stripe, its action still `in_progress`, and its deadline not passed. A reader that does not show the command then
 * proves nothing: it may still arrive, so the attempt cannot be judged over, nor the payment sent to another
 * reader, changed or cancelled. A reader that shows it proves it arrived.
 */
export function isCommandInFlight(record: PaymentRecord, nowMs: number): boolean {
  const due = currentAttempt(record)?.answerDueByMs;
  return due !== undefined && nowMs < due && isReaderActionInProgress(record);
}

/** The record with attempt `number`'s command answered by Stripe: no longer in flight. */
export function withCommandAnswered(record: PaymentRecord, number: number): PaymentRecord {
  const index = record.attemptLog.findIndex((attempt) => attempt.number === number);
  const attempt = record.attemptLog[index];
  if (attempt?.answerDueByMs === undefined) return record;
  const { answerDueByMs: _answered, ...answered } = attempt;
  return { ...record, attemptLog: record.attemptLog.with(index, answered) };
}

export interface NewPaymentInput {
  paymentIntent: PaymentIntentSnapshot;
  orderId: string;
  locationId: string;
  captureMethod: CaptureMethod;
  description: string | null;
  metadata: Record<string, string>;
}

/** The record for a PaymentIntent the backend just created. */
export function newPaymentRecord(input: NewPaymentInput, now: Date): PaymentRecord {
  const { paymentIntent } = input;
  const at = now.toISOString();
  return {
    id: paymentIntent.id,
    orderId: input.orderId,
    locationId: input.locationId,
    amount: paymentIntent.amount,
    currency: paymentIntent.currency,
    captureMethod: input.captureMethod,
    description: input.description,
    metadata: input.metadata,
    status: isPaymentStatus(paymentIntent.status) ? paymentIntent.status : 'requires_payment_method',
    readerId: null,
    readerAction: null,
    lastPaymentError: paymentIntent.lastPaymentError,
    amountCapturable: paymentIntent.amountCapturable,
    amountReceived: paymentIntent.amountReceived,
    card: null,
    receipt: null,
    receiptEmail: paymentIntent.receiptEmail,
    tipAmount: paymentIntent.tipAmount,
    chargeId: null,
    paymentMethodType: null,
    cancellationReason: paymentIntent.cancellationReason,
    authorizedAt: null,
    captureBefore: null,
    flags: [],
    attempts: 0,
    attemptLog: [],
    nextProcessTry: 0,
    amountUpdates: 0,
    refunds: [],
    refundCommands: 0,
    refundCheckAt: null,
    refundChecks: 0,
    paymentIntentObservedAtMs: now.getTime(),
    history: [{ at, source: 'api', kind: 'payment_created', summary: `created ${paymentIntent.status}` }],
    version: 0,
    createdAt: at,
    updatedAt: at,
  };
}

/** Append an audit entry, keeping the newest `HISTORY_LIMIT`. */
export function withHistory(
  record: PaymentRecord,
  origin: ObservationOrigin,
  kind: string,
  summary: string,
  now: Date,
): PaymentRecord {
  const entry: AuditEntry = { at: now.toISOString(), source: origin.source, kind, summary };
  if (origin.eventId !== undefined) entry.eventId = origin.eventId;
  if (origin.eventType !== undefined) entry.eventType = origin.eventType;
  return { ...record, history: [...record.history, entry].slice(-HISTORY_LIMIT) };
}

/**
 * Record that a reader accepted a `process_payment_intent` command for this payment: a new attempt whose
 * action starts `in_progress`. The reader's answer is then applied with `forAttempt` set to its number.
 */
export function startProcessAttempt(
  record: PaymentRecord,
  attempt: { readerId: string; startedAtMs: number; answerDueByMs?: number },
  now: Date,
): PaymentRecord {
  const number = record.attempts + 1;
  const started: PaymentRecord = {
    ...record,
    attempts: number,
    attemptLog: [...record.attemptLog, { number, ...attempt }].slice(-ATTEMPT_LOG_LIMIT),
    nextProcessTry: 0,
    readerId: attempt.readerId,
    readerAction: {
      type: 'process_payment_intent',
      status: 'in_progress',
      failureCode: null,
      failureMessage: null,
      updatedAt: now.toISOString(),
    },
    flags: record.flags.filter((flag) => flag !== 'reader_stuck'),
    updatedAt: now.toISOString(),
  };
  return withHistory(started, { source: 'api' }, 'process_attempt', `attempt ${number} on ${attempt.readerId}`, now);
}

/**
 * Remember that `nextTry` is the next unused idempotency-key try for the coming attempt: Stripe stores a
 * reader's error under the key, so retrying with the same key would only replay it.
 */
export function withNextProcessTry(record: PaymentRecord, nextTry: number, now: Date): PaymentRecord {
  if (nextTry <= record.nextProcessTry) return record;
  return { ...record, nextProcessTry: nextTry, updatedAt: now.toISOString() };
}

/** Record an amount change made through `PATCH` (the PaymentIntent's amount arrives with its snapshot). */
export function withAmountUpdate(record: PaymentRecord, now: Date): PaymentRecord {
  return { ...record, amountUpdates: record.amountUpdates + 1, updatedAt: now.toISOString() };
}

/** The record with `flag` raised (unchanged when it already is). */
export function withFlag(record: PaymentRecord, flag: PaymentFlag, now: Date): PaymentRecord {
  if (record.flags.includes(flag)) return record;
  return { ...record, flags: [...record.flags, flag], updatedAt: now.toISOString() };
}

/** The record with `flag` cleared (unchanged when it is not raised). */
export function withoutFlag(record: PaymentRecord, flag: PaymentFlag, now: Date): PaymentRecord {
  if (!record.flags.includes(flag)) return record;
  return { ...record, flags: record.flags.filter((f) => f !== flag), updatedAt: now.toISOString() };
}

/**
 * Refunds of a payment: what may be refunded, the claim the API records before Stripe hears of a refund, and the
 * bookkeeping that tells the reconciler when to look at a refund not yet settled. Pure functions over the record.
 *
 * A refund is claimed in the payment's own item (a version-conditional write), so of two racing requests whose sum
 * exceeds what is left exactly one is made, and its events, reads and answers all land on the same record.
 */
import { createHash } from 'node:crypto';
import { withHistory } from './record.ts';
import type { PaymentRecord, ReaderActionObservation, RefundReason, RefundRecord, RefundStatus } from './types.ts';

/** The refund's metadata key holding the POS's `Idempotency-Key`: how Stripe's refund is matched to its claim. */
export const REFUND_KEY_METADATA = 'posRefundKey';
/** Refunds one payment may have (the record is one item). */
export const MAX_REFUNDS_PER_PAYMENT = 50;
/** When the reconciler first looks at a refund still unsettled, after it was claimed or seen. */
export const REFUND_FIRST_CHECK_AFTER_MS = 2 * 60 * 1000;
/** The longest wait between two looks at a refund that stays pending (card refunds can take days). */
export const REFUND_CHECK_MAX_INTERVAL_MS = 6 * 60 * 60 * 1000;

/** What a refund request asks for; its fingerprint tells a retry from another request under the same key. */
export interface RefundRequest {
  key: string;
  amount?: number | undefined;
  reason?: RefundReason | undefined;
  readerId?: string | undefined;
}

export function refundRequestHash(request: RefundRequest): string {
  const body = JSON.stringify([request.amount ?? null, request.reason ?? null, request.readerId ?? null]);
  return createHash('sha256').update(body).digest('base64url');
}

/** A refund that Stripe has not settled yet (or that is not made yet). */
export function isRefundUnsettled(refund: RefundRecord): boolean {
  return refund.status === 'pending';
}

/** Sum of the succeeded refunds. */
export function amountRefunded(record: Pick<PaymentRecord, 'refunds'>): number {
  return record.refunds.reduce((sum, refund) => sum + (refund.status === 'succeeded' ? refund.amount : 0), 0);
}

/** What Stripe counts against the charge: refunds pending (claims included) and succeeded. */
export function amountCommitted(record: Pick<PaymentRecord, 'refunds'>): number {
  return record.refunds.reduce(
    (sum, refund) => sum + (refund.status === 'pending' || refund.status === 'succeeded' ? refund.amount : 0),
    0,
  );
}

/** What may still be refunded: captured, less every refund pending or succeeded. */
export function refundableAmount(record: Pick<PaymentRecord, 'refunds' | 'amountReceived'>): number {
  return Math.max(0, record.amountReceived - amountCommitted(record));
}

export function findRefundByKey(record: Pick<PaymentRecord, 'refunds'>, key: string): RefundRecord | undefined {
  return record.refunds.find((refund) => refund.key === key);
}

/** Interac payments are refunded with the card on a reader only. */
export function mustRefundOnReader(record: Pick<PaymentRecord, 'paymentMethodType'>): boolean {
  return record.paymentMethodType === 'interac_present';
}

export type RefundDecision =
  /** The same key and body again: answer with that refund. */
  | { kind: 'existing'; refund: RefundRecord }
  /** The same key with another body. */
  | { kind: 'key_reused'; refund: RefundRecord }
  /** The record may be behind Stripe (a capture whose events are late): re-read the PaymentIntent, then decide. */
  | { kind: 'refresh' }
  | { kind: 'refuse'; reason: 'not_refundable' | 'card_present_required' | 'too_many_refunds' }
  | { kind: 'refuse'; reason: 'exceeds_balance'; refundable: number }
  | { kind: 'refund'; amount: number };

/** Whether and how much to refund for `request`. */
export function decideRefund(record: PaymentRecord, request: RefundRequest, refreshed: boolean): RefundDecision {
  const existing = findRefundByKey(record, request.key);
  if (existing !== undefined) {
    return existing.requestHash === refundRequestHash(request)
      ? { kind: 'existing', refund: existing }
      : { kind: 'key_reused', refund: existing };
  }
  if (record.status !== 'succeeded') {
    if (record.status === 'canceled' || refreshed) return { kind: 'refuse', reason: 'not_refundable' };
    return { kind: 'refresh' };
  }
  if (mustRefundOnReader(record) && request.readerId === undefined) {
    return { kind: 'refuse', reason: 'card_present_required' };
  }
  const refundable = refundableAmount(record);
  const amount = request.amount ?? refundable;
  if (amount <= 0 || amount > refundable) return { kind: 'refuse', reason: 'exceeds_balance', refundable };
  if (record.refunds.length >= MAX_REFUNDS_PER_PAYMENT) return { kind: 'refuse', reason: 'too_many_refunds' };
  return { kind: 'refund', amount };
}

export interface RefundClaim {
  request: RefundRequest;
  amount: number;
  /** Epoch ms by which the request answers: until then Stripe may still act on it unseen. */
  answerDueByMs: number;
}

/** The record with a new refund claimed, `pending` and without a Stripe id yet. */
export function claimRefund(record: PaymentRecord, claim: RefundClaim, now: Date): PaymentRecord {
  const { request } = claim;
  const at = now.toISOString();
  const onReader = request.readerId !== undefined;
  const refund: RefundRecord = {
    key: request.key,
    requestHash: refundRequestHash(request),
    id: null,
    amount: claim.amount,
    currency: record.currency,
    status: 'pending',
    reason: request.reason ?? null,
    method: onReader ? 'reader' : 'api',
    readerId: request.readerId ?? null,
    readerAction: onReader
      ? { type: 'refund_payment', status: 'in_progress', failureCode: null, failureMessage: null, updatedAt: at }
      : null,
    failureReason: null,
    requestedAtMs: now.getTime(),
    answerDueByMs: claim.answerDueByMs,
    createdAt: at,
    updatedAt: at,
  };
  if (onReader) refund.command = record.refundCommands + 1;
  const claimed: PaymentRecord = {
    ...record,
    refunds: [...record.refunds, refund],
    refundCommands: record.refundCommands + (onReader ? 1 : 0),
    updatedAt: at,
  };
  const summary = `refund of ${claim.amount} claimed${onReader ? ` on ${request.readerId}` : ''}`;
  return withRefundSchedule(withHistory(claimed, { source: 'api' }, 'refund_claim', summary, now), now);
}

/** The record with `change` applied to the refund claimed under `key` (unchanged when there is none). */
export function withRefund(
  record: PaymentRecord,
  key: string,
  change: (refund: RefundRecord) => RefundRecord,
): PaymentRecord {
  const index = record.refunds.findIndex((refund) => refund.key === key);
  if (index < 0) return record;
  const before = record.refunds[index] as RefundRecord;
  const after = change(before);
  return after === before ? record : { ...record, refunds: record.refunds.with(index, after) };
}

/**
 * Undo the claim under `key`: Stripe refused the request before anything was made. Only while the claim is still
 * the bare claim (no Stripe refund learnt since).
 */
export function withdrawRefundClaim(record: PaymentRecord, key: string, now: Date): PaymentRecord {
  const claim = findRefundByKey(record, key);
  if (claim === undefined || claim.id !== null || claim.status !== 'pending') return record;
  const withdrawn = { ...record, refunds: record.refunds.filter((refund) => refund !== claim) };
  return withRefundSchedule(withdrawn, now);
}

/** Stripe answered the request for the refund under `key`: it is no longer on its way. */
export function withRefundAnswered(record: PaymentRecord, key: string): PaymentRecord {
  return withRefund(record, key, (refund) => {
    if (refund.answerDueByMs === undefined) return refund;
    const { answerDueByMs: _answered, ...answered } = refund;
    return answered;
  });
}

/** True while the request for this refund may still reach Stripe (or its reader) unseen. */
export function isRefundRequestInFlight(refund: RefundRecord, nowMs: number): boolean {
  return refund.answerDueByMs !== undefined && nowMs < refund.answerDueByMs && refund.id === null;
}

/**
 * Keep the reconciler's schedule in step with the refunds: none unsettled, no schedule; a first unsettled one, a
 * first look `REFUND_FIRST_CHECK_AFTER_MS` from now.
 */
export function withRefundSchedule(record: PaymentRecord, now: Date): PaymentRecord {
  const unsettled = record.refunds.some(isRefundUnsettled);
  if (!unsettled) {
    if (record.refundCheckAt === null && record.refundChecks === 0) return record;
    return { ...record, refundCheckAt: null, refundChecks: 0 };
  }
  if (record.refundCheckAt !== null) return record;
  return { ...record, refundCheckAt: new Date(now.getTime() + REFUND_FIRST_CHECK_AFTER_MS).toISOString() };
}

/** The reconciler looked and refunds are still unsettled: look again later, each time twice as long after. */
export function withRefundChecked(record: PaymentRecord, now: Date): PaymentRecord {
  if (!record.refunds.some(isRefundUnsettled)) return withRefundSchedule(record, now);
  const checks = record.refundChecks + 1;
  const waitMs = Math.min(REFUND_FIRST_CHECK_AFTER_MS * 2 ** checks, REFUND_CHECK_MAX_INTERVAL_MS);
  return { ...record, refundChecks: checks, refundCheckAt: new Date(now.getTime() + waitMs).toISOString() };
}

/** Stripe's refund status as the API shows it. */
export function refundStatusOf(stripeStatus: string): RefundStatus | undefined {
  switch (stripeStatus) {
    case 'pending':
    case 'requires_action':
      return 'pending';
    case 'succeeded':
    case 'failed':
    case 'canceled':
      return stripeStatus;
    default:
      return undefined;
  }
}

/**
 * How far along a refund is. A refund only moves forward; a succeeded one can still fail later (Stripe reports a
 * refund the card's bank returned), and failed and canceled are final.
 */
const REFUND_RANK: Record<RefundStatus, number> = { pending: 0, succeeded: 1, failed: 2, canceled: 2 };

export function acceptsRefundStatus(current: RefundStatus, next: RefundStatus): boolean {
  return next === current || REFUND_RANK[next] > REFUND_RANK[current];
}

/** How a reader refund's action failure ends the refund when Stripe made none. */
export function refundStatusAfterReaderFailure(failureCode: string | null): RefundStatus {
  return failureCode === 'customer_canceled' || failureCode === 'canceled' ? 'canceled' : 'failed';
}

/** The subject of the cancel-action key for a reader refund's command (see `idempotencyKeys.cancelReaderAction`). */
export function refundActionSubject(paymentId: string, refund: Pick<RefundRecord, 'command' | 'key'>): string {
  return `${paymentId}:refund:${refund.command ?? refund.key}`;
}

/** The backend cancelled a reader refund's action on `readerId` before a card was presented. */
export function canceledRefundActionObservation(
  paymentId: string,
  readerId: string,
  key: string,
  now: Date,
): ReaderActionObservation {
  return {
    kind: 'reader_action',
    origin: { source: 'api' },
    readerId,
    action: {
      type: 'refund_payment',
      status: 'failed',
      failureCode: 'canceled',
      failureMessage: 'The reader action was canceled.',
      paymentIntentId: paymentId,
      refundKey: key,
      refundId: null,
    },
    createdSeconds: Math.floor(now.getTime() / 1000),
    forRefundKey: key,
  };
}

/**
 * The decisions the API makes about a payment before it asks Stripe for anything. Each returns what to do;
 * the handlers turn refusals into errors.
 */
import { isReaderActionInProgress } from './record.ts';
import type { CaptureMethod, PaymentRecord } from './types.ts';

export type ProcessDecision =
  /** Send the command to the reader. */
  | { kind: 'process' }
  /** The record says the reader action is still running: read the reader to confirm before answering. */
  | { kind: 'verify_in_progress'; readerId: string }
  | { kind: 'refuse'; reason: 'not_processable' };

/**
 * Whether `readerId` may be asked to process this payment: a reader can only take a PaymentIntent in
 * `requires_payment_method` (else Stripe answers `intent_invalid_state`), and a payment runs on one reader at a time.
 */
export function decideProcess(record: PaymentRecord): ProcessDecision {
  if (record.status !== 'requires_payment_method') return { kind: 'refuse', reason: 'not_processable' };
  if (isReaderActionInProgress(record) && record.readerId !== null) {
    return { kind: 'verify_in_progress', readerId: record.readerId };
  }
  return { kind: 'process' };
}

export type CaptureDecision =
  | { kind: 'capture' }
  /** Already captured for the amount asked for (automatic capture, or an earlier capture request): answer with it. */
  | { kind: 'already_captured' }
  /** The record may be behind Stripe (a lost event): re-read the PaymentIntent, then decide again. */
  | { kind: 'refresh' }
  | { kind: 'refuse'; reason: 'not_capturable' | 'amount_exceeds_capturable' }
  /** Captured already, for another amount than this request asks for: nothing more can be captured. */
  | { kind: 'refuse'; reason: 'captured_other_amount'; amountReceived: number; requested: number };

/**
 * The amount a capture request asks for: `amountToCapture`, or without it the whole authorized amount. So a
 * capture without an amount and one for the full amount are the same request.
 */
export function requestedCaptureAmount(record: Pick<PaymentRecord, 'amount'>, amountToCapture?: number): number {
  return amountToCapture ?? record.amount;
}

/**
 * Whether to ask Stripe to capture. The capture is sent only when the PaymentIntent is known to be
 * `requires_capture`. A captured payment answers a repeated request only when it asks for the amount captured:
 * a request for another amount was not what happened, and saying 200 to it would hide that.
 */
export function decideCapture(
  record: PaymentRecord,
  amountToCapture: number | undefined,
  refreshed: boolean,
): CaptureDecision {
  if (record.status === 'succeeded') {
    const requested = requestedCaptureAmount(record, amountToCapture);
    if (requested === record.amountReceived) return { kind: 'already_captured' };
    return { kind: 'refuse', reason: 'captured_other_amount', amountReceived: record.amountReceived, requested };
  }
  if (record.status === 'canceled') return { kind: 'refuse', reason: 'not_capturable' };
  if (record.status !== 'requires_capture')
    return refreshed ? { kind: 'refuse', reason: 'not_capturable' } : { kind: 'refresh' };
  if (amountToCapture !== undefined && amountToCapture > record.amountCapturable) {
    return { kind: 'refuse', reason: 'amount_exceeds_capturable' };
  }
  return { kind: 'capture' };
}

export type CancelDecision =
  | { kind: 'cancel'; cancelReaderActionOn: string | null }
  | { kind: 'already_canceled' }
  /** A succeeded payment has to be refunded instead. */
  | { kind: 'refuse'; reason: 'succeeded' };

/** Whether to cancel, and whether this payment's reader action must be cancelled first. */
export function decideCancel(record: PaymentRecord): CancelDecision {
  if (record.status === 'canceled') return { kind: 'already_canceled' };
  if (record.status === 'succeeded') return { kind: 'refuse', reason: 'succeeded' };
  return { kind: 'cancel', cancelReaderActionOn: isReaderActionInProgress(record) ? record.readerId : null };
}

export type AmountUpdateDecision =
  | { kind: 'update'; cancelReaderActionOn: string | null }
  | { kind: 'unchanged' }
  | { kind: 'refuse'; reason: 'not_updatable' };

/** The amount can change only before a card is authorized: in `requires_payment_method`. */
export function decideAmountUpdate(record: PaymentRecord, amount: number): AmountUpdateDecision {
  if (record.status !== 'requires_payment_method') return { kind: 'refuse', reason: 'not_updatable' };
  if (record.amount === amount) return { kind: 'unchanged' };
  return { kind: 'update', cancelReaderActionOn: isReaderActionInProgress(record) ? record.readerId : null };
}

export type OrderDecision =
  /** The same order again with the same amount, currency and capture method: answer with its payment. */
  | { kind: 'same_payment' }
  /** The order's payment was canceled: start a new generation with a new PaymentIntent. */
  | { kind: 'new_generation' }
  | { kind: 'conflict' };

/**
 * What to do with a create request for an order that already has a payment. Another capture method is a conflict
 * like another amount: answering with the existing payment would leave the POS capturing a payment that captures
 * itself, or waiting for one that never will. The description is not compared (it changes nothing of the money), nor
 * the tip chosen on the reader.
 */
export function decideExistingOrder(
  existing: Pick<PaymentRecord, 'status' | 'amount' | 'tipAmount' | 'currency' | 'captureMethod'>,
  requested: { amount: number; currency: string; captureMethod?: CaptureMethod },
): OrderDecision {
  if (existing.status === 'canceled') return { kind: 'new_generation' };
  // The order's amount is the one before the customer's tip: the same order sent again after a tip is the same.
  const orderAmount = existing.amount - existing.tipAmount;
  const sameMoney = orderAmount === requested.amount && existing.currency === requested.currency;
  const sameCapture = requested.captureMethod === undefined || requested.captureMethod === existing.captureMethod;
  return sameMoney && sameCapture ? { kind: 'same_payment' } : { kind: 'conflict' };
}

/**
 * The decisions the API makes about a payment before it asks Stripe for anything. Each returns what to do;
 * the handlers turn refusals into errors.
 */
import { isReaderActionInProgress } from './record.ts';
import type { PaymentRecord } from './types.ts';

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
  /** Already captured (automatic capture, or an earlier capture request): answer with it, capture nothing. */
  | { kind: 'already_captured' }
  /** The record may be behind Stripe (a lost event): re-read the PaymentIntent, then decide again. */
  | { kind: 'refresh' }
  | { kind: 'refuse'; reason: 'not_capturable' | 'amount_exceeds_capturable' };

/**
 * Whether to ask Stripe to capture. Stripe stores a failed capture under the payment's one capture key, so the
 * capture is sent only when the PaymentIntent is known to be `requires_capture`.
 */
export function decideCapture(
  record: PaymentRecord,
  amountToCapture: number | undefined,
  refreshed: boolean,
): CaptureDecision {
  if (record.status === 'succeeded') return { kind: 'already_captured' };
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
  /** The same order again with the same amount and currency: answer with its payment. */
  | { kind: 'same_payment' }
  /** The order's payment was canceled: start a new generation with a new PaymentIntent. */
  | { kind: 'new_generation' }
  | { kind: 'conflict' };

/** What to do with a create request for an order that already has a payment. */
export function decideExistingOrder(
  existing: Pick<PaymentRecord, 'status' | 'amount' | 'currency'>,
  requested: { amount: number; currency: string },
): OrderDecision {
  if (existing.status === 'canceled') return { kind: 'new_generation' };
  if (existing.amount === requested.amount && existing.currency === requested.currency) return { kind: 'same_payment' };
  return { kind: 'conflict' };
}

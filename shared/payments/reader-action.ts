/**
 * The one question every path asks of a reader: is its action this payment's, and how far along is it. Pure, over
 * the reader snapshot (or an observation of it), so the API, the processor and the reconciler answer it alike.
 */
import type { ReaderActionSnapshot, ReaderActionStatus } from './types.ts';

/** The status of the reader's action when it is this payment's `process_payment_intent`; null otherwise. */
export function paymentActionStatus(
  reader: { action: ReaderActionSnapshot | null },
  paymentId: string,
): ReaderActionStatus | null {
  const { action } = reader;
  if (action === null || action.type !== 'process_payment_intent' || action.paymentIntentId !== paymentId) return null;
  return action.status;
}

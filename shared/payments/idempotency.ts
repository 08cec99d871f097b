/**
 * Idempotency keys for every Stripe write, derived from the operation so that a retried Lambda or a POS's
 * retried request repeats the same Stripe request instead of moving money twice. Stripe keeps keys 24 hours
 * and replays the first answer, errors included, so a key changes exactly when a new request is intended.
 */
import { createHash } from 'node:crypto';

/** Stripe's limit on an idempotency key's length. */
const MAX_KEY_LENGTH = 255;

/** A long free-text part (an order id) stands in as its hash, so the key stays within Stripe's limit. */
function bounded(part: string): string {
  return part.length <= 100 ? part : `sha256-${createHash('sha256').update(part).digest('hex')}`;
}

function key(parts: (string | number)[]): string {
  const joined = parts.join(':');
  if (joined.length > MAX_KEY_LENGTH) throw new Error(`Idempotency key longer than ${MAX_KEY_LENGTH} characters`);
  return joined;
}

export const idempotencyKeys = {
  /** One PaymentIntent per order generation; a new generation only after the order's payment was canceled. */
  createPayment: (locationId: string, orderId: string, generation: number) =>
    key(['create', bounded(locationId), bounded(orderId), generation]),
  /** A new `try` after a verified `terminal_reader_timeout` (Stripe replays the stored error for a reused key). */
  processPayment: (paymentId: string, attempt: number, tryNumber: number) =>
    key(['process', paymentId, attempt, tryNumber]),
  /**
   * A new `try` only after Stripe replayed an error stored under the current one and a fresh read of the
   * PaymentIntent shows it still capturable (Stripe never captures a PaymentIntent twice).
   */
  capturePayment: (paymentId: string, tryNumber: number) => key(['capture', paymentId, tryNumber]),
  /** A new `try` as for capture: after a replayed error, while the PaymentIntent can still be cancelled. */
  cancelPayment: (paymentId: string, tryNumber: number) => key(['cancel', paymentId, tryNumber]),
  /** `n` counts earlier amount changes, so going back to an earlier amount is a new request. */
  updateAmount: (paymentId: string, amount: number, n: number) => key(['update', paymentId, amount, n]),
  /**
   * Cancelling a reader action: `subject` names the action (`{paymentId}:{attempt}` for a payment's, else the
   * request's id), `n` moves on after a replayed error (a busy reader's answer is stored under its key).
   */
  cancelReaderAction: (readerId: string, subject: string, n: number) => key(['cancel-action', readerId, subject, n]),
  /** An online refund: one per POS `Idempotency-Key` on the payment, so a retried request never refunds twice. */
  refund: (paymentId: string, refundKey: string) => key(['refund', paymentId, bounded(refundKey)]),
  /**
   * A reader refund's `refund_payment` command: `command` numbers the payment's reader refund claims, `tryNumber`
   * moves on after a verified reader timeout or a replayed error, as for `process`.
   */
  refundOnReader: (paymentId: string, command: number, tryNumber: number) =>
    key(['refund-reader', paymentId, command, tryNumber]),
  /** Setting the receipt's address: the same request retried is one update (setting an address again is harmless). */
  receiptEmail: (paymentId: string, requestId: string) => key(['receipt-email', paymentId, bounded(requestId)]),
  /** A cart shown on a reader: one per request, `tryNumber` moving on after a verified reader timeout. */
  readerDisplay: (readerId: string, requestId: string, tryNumber: number) =>
    key(['display', bounded(readerId), bounded(requestId), tryNumber]),
  /**
   * The location's own Terminal configuration: one per location (concurrent first requests share it); `requestId`
   * only when the one this key made no longer exists.
   */
  tippingConfiguration: (locationId: string, requestId?: string) =>
    key(['tipping-configuration', bounded(locationId), ...(requestId === undefined ? [] : [bounded(requestId)])]),
  /**
   * Naming the configuration in the location's `configuration_overrides`, and setting a currency's tipping: absolute
   * settings, keyed per request, so asking for earlier settings again is applied, not replayed.
   */
  locationConfiguration: (locationId: string, configurationId: string, requestId: string) =>
    key(['tipping-location', bounded(locationId), configurationId, bounded(requestId)]),
  /**
   * A location or a reader registration: `scope` is the admin's `sub` with their `Idempotency-Key` (the same key
   * again replays the first answer), else the request's id (a request's own retries only).
   */
  createLocation: (scope: string) => key(['location', bounded(scope)]),
  registerReader: (scope: string) => key(['register-reader', bounded(scope)]),
  /** A reader's new label: absolute, keyed per request, so going back to an earlier label is applied. */
  relabelReader: (readerId: string, requestId: string) => key(['relabel', bounded(readerId), bounded(requestId)]),
  /** One currency's tipping in a configuration, as the request sets it. */
  tipping: (configurationId: string, currency: string, requestId: string) =>
    key(['tipping', configurationId, currency, bounded(requestId)]),
};

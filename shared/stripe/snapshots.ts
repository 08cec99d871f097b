/**
 * Stripe's objects reduced to the domain's snapshots and observations. The API, the webhook processor and the
 * reconciler all read Stripe through these, so the reducer sees one shape whatever the source.
 */

import type Stripe from 'stripe';
import { healthAsRead } from '../payments/reader-health.ts';
import { REFUND_KEY_METADATA } from '../payments/refunds.ts';
import type {
  ChargeSnapshot,
  ObservationOrigin,
  PaymentIntentObservation,
  PaymentIntentSnapshot,
  ReaderActionObservation,
  ReaderActionSnapshot,
  ReaderSnapshot,
  ReceiptDetails,
  RefundObservation,
  RefundSnapshot,
} from '../payments/types.ts';

/** A charge object (or its id when not expanded) as a snapshot; null for an id alone. */
export function chargeSnapshot(charge: Stripe.Charge | string | null | undefined): ChargeSnapshot | null {
  if (charge === null || charge === undefined || typeof charge === 'string') return null;
  const details = charge.payment_method_details;
  const cardPresent = details?.card_present;
  // An Interac charge's card details sit under its own type.
  const card = cardPresent ?? details?.interac_present;
  const paymentIntent = charge.payment_intent;
  return {
    id: charge.id,
    paymentIntentId: typeof paymentIntent === 'string' ? paymentIntent : (paymentIntent?.id ?? null),
    status: charge.status,
    brand: card?.brand ?? null,
    last4: card?.last4 ?? null,
    paymentMethodType: details?.type ?? null,
    amountRefunded: charge.amount_refunded ?? 0,
    receipt: card === undefined || card === null ? null : receiptDetails(card),
    captureBefore: cardPresent?.capture_before ?? null,
    created: charge.created,
  };
}

/** The receipt fields of a card-present (or Interac) charge's details. */
function receiptDetails(card: { read_method?: string | null; receipt?: object | null }): ReceiptDetails {
  const receipt = (card.receipt ?? {}) as Partial<Record<string, string | null>>;
  const field = (name: string) => receipt[name] ?? null;
  return {
    readMethod: card.read_method ?? null,
    applicationPreferredName: field('application_preferred_name'),
    dedicatedFileName: field('dedicated_file_name'),
    authorizationCode: field('authorization_code'),
    authorizationResponseCode: field('authorization_response_code'),
    accountType: field('account_type'),
    applicationCryptogram: field('application_cryptogram'),
    terminalVerificationResults: field('terminal_verification_results'),
    transactionStatusInformation: field('transaction_status_information'),
  };
}

/** A refund object as a snapshot (its POS key from the metadata the API set). */
export function refundSnapshot(refund: Stripe.Refund): RefundSnapshot {
  const paymentIntent = refund.payment_intent;
  const key = refund.metadata?.[REFUND_KEY_METADATA];
  return {
    id: refund.id,
    paymentIntentId: typeof paymentIntent === 'string' ? paymentIntent : (paymentIntent?.id ?? null),
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status ?? 'pending',
    reason: refund.reason ?? null,
    failureReason: refund.failure_reason ?? null,
    key: typeof key === 'string' && key.length > 0 ? key : null,
    created: refund.created,
  };
}

export function refundObservation(refund: Stripe.Refund, origin: ObservationOrigin): RefundObservation {
  return { kind: 'refund', origin, refund: refundSnapshot(refund) };
}

export function paymentIntentSnapshot(paymentIntent: Stripe.PaymentIntent): PaymentIntentSnapshot {
  const error = paymentIntent.last_payment_error;
  return {
    id: paymentIntent.id,
    status: paymentIntent.status,
    amount: paymentIntent.amount,
    currency: paymentIntent.currency,
    amountCapturable: paymentIntent.amount_capturable,
    amountReceived: paymentIntent.amount_received,
    lastPaymentError: error
      ? { code: error.code ?? null, declineCode: error.decline_code ?? null, message: error.message ?? null }
      : null,
    cancellationReason: paymentIntent.cancellation_reason ?? null,
    tipAmount: paymentIntent.amount_details?.tip?.amount ?? 0,
    receiptEmail: paymentIntent.receipt_email ?? null,
    latestCharge: chargeSnapshot(paymentIntent.latest_charge),
  };
}

/** A PaymentIntent observation; `observedAtMs` is the event's `created` × 1000, or the read time. */
export function paymentIntentObservation(
  paymentIntent: Stripe.PaymentIntent,
  origin: ObservationOrigin,
  observedAtMs: number,
): PaymentIntentObservation {
  return { kind: 'payment_intent', origin, observedAtMs, paymentIntent: paymentIntentSnapshot(paymentIntent) };
}

export function readerActionSnapshot(
  action: Stripe.Terminal.Reader.Action | null | undefined,
): ReaderActionSnapshot | null {
  if (action === null || action === undefined) return null;
  const refund = action.refund_payment;
  const paymentIntent = action.process_payment_intent?.payment_intent ?? refund?.payment_intent;
  const snapshot: ReaderActionSnapshot = {
    type: action.type,
    // Anything Stripe may add besides the two end states is still running.
    status: action.status === 'succeeded' ? 'succeeded' : action.status === 'failed' ? 'failed' : 'in_progress',
    failureCode: action.failure_code ?? null,
    failureMessage: action.failure_message ?? null,
    paymentIntentId: typeof paymentIntent === 'string' ? paymentIntent : (paymentIntent?.id ?? null),
  };
  if (action.type === 'refund_payment') {
    const key = refund?.metadata?.[REFUND_KEY_METADATA];
    const made = refund?.refund;
    snapshot.refundKey = typeof key === 'string' && key.length > 0 ? key : null;
    snapshot.refundId = typeof made === 'string' ? made : (made?.id ?? null);
  }
  return snapshot;
}

/**
 * The reader as Stripe shows it now. Its health knows nothing of how long its action has run (`busy`, never
 * `stuck`): storing it (`recordReaders`) gives that.
 */
export function readerSnapshot(reader: Stripe.Terminal.Reader): ReaderSnapshot {
  const location = reader.location;
  const status = reader.status === 'online' ? 'online' : 'offline';
  const action = readerActionSnapshot(reader.action);
  const lastSeen = reader.last_seen_at;
  return {
    id: reader.id,
    label: reader.label ?? null,
    locationId: typeof location === 'string' ? location : (location?.id ?? null),
    deviceType: reader.device_type,
    status,
    action,
    lastSeenAt: typeof lastSeen === 'number' ? new Date(lastSeen).toISOString() : null,
    health: healthAsRead({ status, action }),
  };
}

/**
 * A reader-action observation. `createdSeconds` is the event's `created`, or the read time for a read;
 * `forAttempt` only for the reader's direct answer to the backend's own command.
 */
export function readerActionObservation(
  reader: Stripe.Terminal.Reader | ReaderSnapshot,
  origin: ObservationOrigin,
  createdSeconds: number,
  forAttempt?: number,
): ReaderActionObservation {
  const snapshot = 'object' in reader ? readerSnapshot(reader) : reader;
  const observation: ReaderActionObservation = {
    kind: 'reader_action',
    origin,
    readerId: snapshot.id,
    action: snapshot.action,
    createdSeconds,
  };
  const status: unknown = reader.status;
  if (status === 'online' || status === 'offline') observation.readerStatus = status;
  if (forAttempt !== undefined) observation.forAttempt = forAttempt;
  return observation;
}

/**
 * What happens to a PaymentIntent and its charge when a card is authorized or declined, when it is captured
 * or cancelled, and when an uncaptured authorization expires; with the events Stripe sends for each.
 */
import type Stripe from 'stripe';
import type { EmulatorCore } from '../core.ts';
import { docUrl } from '../errors.ts';
import { newId, unixSeconds } from '../ids.ts';
import { buildCharge } from '../objects/charge.ts';
import type { AuthorizationOutcome, PresentedCard } from '../terminal/cards.ts';
import type { EventBatch } from '../webhooks/event-batch.ts';

/** Where an authorization took place. */
export interface AuthorizationContext {
  card: PresentedCard;
  paymentMethod: string;
  reader: string;
  location: string | null;
}

/** The card error of a declined authorization, as `last_payment_error` and a reader action's `api_error` show it. */
export function cardError(
  outcome: Extract<AuthorizationOutcome, { approved: false }>,
  charge: Stripe.Charge,
): Stripe.PaymentIntent.LastPaymentError & Stripe.Terminal.Reader.Action.ApiError {
  const error: Stripe.PaymentIntent.LastPaymentError & Stripe.Terminal.Reader.Action.ApiError = {
    type: 'card_error',
    code: outcome.code,
    message: outcome.message,
    doc_url: docUrl(outcome.code),
    charge: charge.id,
    payment_method_type: 'card_present',
  };
  if (outcome.declineCode !== null) error.decline_code = outcome.declineCode;
  return error;
}

/**
 * Authorize `paymentIntent`: a charge is created, and the PaymentIntent moves to `requires_capture` (manual)
 * or `succeeded` (automatic, automatic_async). Emits `charge.succeeded` and the PaymentIntent's event.
 */
export function authorize(
  core: EmulatorCore,
  paymentIntent: Stripe.PaymentIntent,
  where: AuthorizationContext,
  events: EventBatch,
): Stripe.Charge {
  const manual = paymentIntent.capture_method === 'manual';
  const now = Date.now();
  const expiresAt = now + core.timing.captureWindowSeconds * 1000;
  const charge = buildCharge({
    paymentIntent,
    paymentMethod: where.paymentMethod,
    card: where.card,
    outcome: { approved: true },
    capturedAtOnce: !manual,
    reader: where.reader,
    location: where.location,
    ...(manual ? { captureBefore: unixSeconds(expiresAt) } : {}),
  });
  core.store.charges.set(charge.id, charge);
  paymentIntent.latest_charge = charge.id;
  paymentIntent.payment_method = where.paymentMethod;
  paymentIntent.last_payment_error = null;
  events.emit('charge.succeeded', charge);
  if (manual) {
    paymentIntent.status = 'requires_capture';
    paymentIntent.amount_capturable = paymentIntent.amount;
    scheduleExpiry(core, paymentIntent.id, expiresAt);
    events.emit('payment_intent.amount_capturable_updated', paymentIntent);
  } else {
    paymentIntent.status = 'succeeded';
    paymentIntent.amount_received = paymentIntent.amount;
    events.emit('payment_intent.succeeded', paymentIntent);
  }
  return charge;
}

/**
 * Decline: a failed charge becomes `latest_charge`, the PaymentIntent goes back to `requires_payment_method`
 * with `last_payment_error` (Stripe's guide: reuse the same PaymentIntent for the next card).
 */
export function decline(
  core: EmulatorCore,
  paymentIntent: Stripe.PaymentIntent,
  outcome: Extract<AuthorizationOutcome, { approved: false }>,
  where: AuthorizationContext,
  events: EventBatch,
): Stripe.PaymentIntent.LastPaymentError & Stripe.Terminal.Reader.Action.ApiError {
  const charge = buildCharge({
    paymentIntent,
    paymentMethod: where.paymentMethod,
    card: where.card,
    outcome,
    capturedAtOnce: false,
    reader: where.reader,
    location: where.location,
  });
  core.store.charges.set(charge.id, charge);
  const error = cardError(outcome, charge);
  paymentIntent.status = 'requires_payment_method';
  paymentIntent.latest_charge = charge.id;
  paymentIntent.payment_method = null;
  paymentIntent.last_payment_error = error;
  events.emit('payment_intent.payment_failed', paymentIntent);
  return error;
}

/** Capture `amountToCapture` of an authorized PaymentIntent; the rest of the hold is released. */
export function capture(
  core: EmulatorCore,
  paymentIntent: Stripe.PaymentIntent,
  amountToCapture: number,
  events: EventBatch,
): void {
  clearExpiry(core, paymentIntent.id);
  paymentIntent.status = 'succeeded';
  paymentIntent.amount_received = amountToCapture;
  paymentIntent.amount_capturable = 0;
  const charge =
    typeof paymentIntent.latest_charge === 'string' ? core.store.charges.get(paymentIntent.latest_charge) : undefined;
  if (charge !== undefined) {
    charge.captured = true;
    charge.balance_transaction ??= newId('txn');
    charge.amount_captured = amountToCapture;
    charge.amount_refunded = charge.amount - amountToCapture;
  }
  events.emit('payment_intent.succeeded', paymentIntent);
}

/** Cancel a PaymentIntent; an uncaptured authorization is released (its charge shows as refunded). */
export function cancel(
  core: EmulatorCore,
  paymentIntent: Stripe.PaymentIntent,
  reason: Stripe.PaymentIntent.CancellationReason | null,
  events: EventBatch,
): void {
  clearExpiry(core, paymentIntent.id);
  if (paymentIntent.status === 'requires_capture') {
    const charge =
      typeof paymentIntent.latest_charge === 'string' ? core.store.charges.get(paymentIntent.latest_charge) : undefined;
    if (charge !== undefined) {
      charge.refunded = true;
      charge.amount_refunded = charge.amount;
    }
  }
  paymentIntent.status = 'canceled';
  paymentIntent.cancellation_reason = reason;
  paymentIntent.canceled_at = unixSeconds();
  paymentIntent.amount_capturable = 0;
  events.emit('payment_intent.canceled', paymentIntent);
}

function scheduleExpiry(core: EmulatorCore, paymentIntentId: string, expiresAt: number): void {
  clearExpiry(core, paymentIntentId);
  const timer = core.timers.after(expiresAt - Date.now(), () => expireDueAuthorizations(core));
  core.store.authorizationExpiry.set(paymentIntentId, { expiresAt, timer });
}

function clearExpiry(core: EmulatorCore, paymentIntentId: string): void {
  const expiry = core.store.authorizationExpiry.get(paymentIntentId);
  if (expiry === undefined) return;
  core.timers.cancel(expiry.timer);
  core.store.authorizationExpiry.delete(paymentIntentId);
}

/**
 * Expire every uncaptured authorization past its `capture_before`: the PaymentIntent becomes `canceled` with
 * `cancellation_reason: "expired"`. Runs on a timer and again before each API request, so a read never shows an
 * authorization that should have expired.
 */
export function expireDueAuthorizations(core: EmulatorCore, now = Date.now()): void {
  const due = [...core.store.authorizationExpiry].filter(([, expiry]) => expiry.expiresAt <= now);
  if (due.length === 0) return;
  for (const [paymentIntentId] of due) {
    const paymentIntent = core.store.paymentIntents.get(paymentIntentId);
    if (paymentIntent === undefined || paymentIntent.status !== 'requires_capture') {
      clearExpiry(core, paymentIntentId);
      continue;
    }
    const events = core.batch();
    cancel(core, paymentIntent, 'expired', events);
    core.publish(events);
  }
}

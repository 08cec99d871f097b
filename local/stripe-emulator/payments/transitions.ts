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

/**
 * The card error of a declined authorization, as `last_payment_error` and a reader action's `api_error` show it:
 * with the declined PaymentMethod itself, as Stripe includes it.
 */
export function cardError(
  outcome: Extract<AuthorizationOutcome, { approved: false }>,
  charge: Stripe.Charge,
  paymentMethod: Stripe.PaymentMethod | undefined,
): Stripe.PaymentIntent.LastPaymentError & Stripe.Terminal.Reader.Action.ApiError {
  const error: Stripe.PaymentIntent.LastPaymentError & Stripe.Terminal.Reader.Action.ApiError = {
    type: 'card_error',
    code: outcome.code,
    message: outcome.message,
    doc_url: docUrl(outcome.code),
    charge: charge.id,
    payment_method_type: paymentMethod?.type ?? 'card_present',
  };
  if (outcome.declineCode !== null) error.decline_code = outcome.declineCode;
  if (paymentMethod !== undefined) error.payment_method = structuredClone(paymentMethod);
  return error;
}

/**
 * Whether an authorization with `card` waits for capture: the PaymentIntent's `capture_method` is manual, or the
 * card is read as card_present and `payment_method_options[card_present][capture_method]` is `manual` or
 * `manual_preferred`. An Interac card on an automatic PaymentIntent is captured at once.
 */
export function capturesManually(paymentIntent: Stripe.PaymentIntent, card: PresentedCard): boolean {
  if (paymentIntent.capture_method === 'manual') return true;
  if (card.type === 'interac_present') return false;
  const option = paymentIntent.payment_method_options?.card_present?.capture_method;
  return option === 'manual' || option === 'manual_preferred';
}

/**
 * Authorize `paymentIntent`: a charge is created, and the PaymentIntent moves to `requires_capture` (manual, see
 * `capturesManually`) or `succeeded` (automatic, automatic_async). Emits `charge.succeeded` and the PaymentIntent's
 * event.
 */
export function authorize(
  core: EmulatorCore,
  paymentIntent: Stripe.PaymentIntent,
  where: AuthorizationContext,
  events: EventBatch,
): Stripe.Charge {
  const manual = capturesManually(paymentIntent, where.card);
  const now = core.clock.now();
  const expiresAt = now + core.timing.captureWindowSeconds * 1000;
  const charge = buildCharge({
    paymentIntent,
    paymentMethod: where.paymentMethod,
    card: where.card,
    outcome: { approved: true },
    capturedAtOnce: !manual,
    reader: where.reader,
    location: where.location,
    now,
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
 * with `last_payment_error` (Stripe's guide: reuse the same PaymentIntent for the next card). Emits
 * `charge.failed`, then `payment_intent.payment_failed`, as Stripe orders them.
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
    now: core.clock.now(),
  });
  core.store.charges.set(charge.id, charge);
  const error = cardError(outcome, charge, core.store.paymentMethods.get(where.paymentMethod));
  paymentIntent.status = 'requires_payment_method';
  paymentIntent.latest_charge = charge.id;
  paymentIntent.payment_method = null;
  paymentIntent.last_payment_error = error;
  events.emit('charge.failed', charge);
  events.emit('payment_intent.payment_failed', paymentIntent);
  return error;
}

export function latestCharge(core: EmulatorCore, paymentIntent: Stripe.PaymentIntent): Stripe.Charge | undefined {
  const id = paymentIntent.latest_charge;
  return typeof id === 'string' ? core.store.charges.get(id) : undefined;
}

/**
 * Capture `amountToCapture` of an authorized PaymentIntent; the rest of the hold is released and shows as refunded
 * on the charge. Emits `charge.captured`, then `payment_intent.succeeded`.
 */
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
  const charge = latestCharge(core, paymentIntent);
  if (charge !== undefined) {
    charge.captured = true;
    charge.balance_transaction ??= newId('txn');
    charge.amount_captured = amountToCapture;
    charge.amount_refunded = charge.amount - amountToCapture;
    events.emit('charge.captured', charge);
  }
  events.emit('payment_intent.succeeded', paymentIntent);
}

/**
 * Cancel a PaymentIntent. Cancelling an uncaptured authorization releases the hold and Stripe marks its charge
 * refunded: `charge.refunded`, then `payment_intent.canceled`. An authorization that lapsed (`expired`) was
 * announced with `charge.expired` instead.
 */
export function cancel(
  core: EmulatorCore,
  paymentIntent: Stripe.PaymentIntent,
  reason: Stripe.PaymentIntent.CancellationReason | null,
  events: EventBatch,
): void {
  clearExpiry(core, paymentIntent.id);
  const charge = paymentIntent.status === 'requires_capture' ? latestCharge(core, paymentIntent) : undefined;
  if (charge !== undefined) {
    charge.refunded = true;
    charge.amount_refunded = charge.amount;
    if (reason !== 'expired') events.emit('charge.refunded', charge);
  }
  paymentIntent.status = 'canceled';
  paymentIntent.cancellation_reason = reason;
  paymentIntent.canceled_at = unixSeconds(core.clock.now());
  paymentIntent.amount_capturable = 0;
  events.emit('payment_intent.canceled', paymentIntent);
}

/**
 * Expire the authorization of `paymentIntentId` at `expiresAt` (epoch ms on the emulator's clock), unless captured
 * or cancelled before.
 */
export function scheduleExpiry(core: EmulatorCore, paymentIntentId: string, expiresAt: number): void {
  clearExpiry(core, paymentIntentId);
  const timer = core.timers.at(expiresAt, () => expireDueAuthorizations(core));
  core.store.authorizationExpiry.set(paymentIntentId, { expiresAt, timer });
}

function clearExpiry(core: EmulatorCore, paymentIntentId: string): void {
  const expiry = core.store.authorizationExpiry.get(paymentIntentId);
  if (expiry === undefined) return;
  core.timers.cancel(expiry.timer);
  core.store.authorizationExpiry.delete(paymentIntentId);
}

/**
 * Expire every uncaptured authorization past its `capture_before`: `charge.expired`, then the PaymentIntent
 * becomes `canceled` with `cancellation_reason: "expired"`. Runs on a timer (which advancing the clock runs too)
 * and again before each API request, so a read never shows an authorization that should have expired.
 */
export function expireDueAuthorizations(core: EmulatorCore, now = core.clock.now()): void {
  const due = [...core.store.authorizationExpiry].filter(([, expiry]) => expiry.expiresAt <= now);
  if (due.length === 0) return;
  for (const [paymentIntentId] of due) {
    const paymentIntent = core.store.paymentIntents.get(paymentIntentId);
    if (paymentIntent === undefined || paymentIntent.status !== 'requires_capture') {
      clearExpiry(core, paymentIntentId);
      continue;
    }
    const events = core.batch();
    const charge = latestCharge(core, paymentIntent);
    if (charge !== undefined) events.emit('charge.expired', charge);
    cancel(core, paymentIntent, 'expired', events);
    core.publish(events);
  }
}

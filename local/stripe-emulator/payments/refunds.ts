/**
 * Refunds of card-present charges. A refund of a captured charge is `pending`, then after `refundDelayMs`
 * `succeeded` (or `failed`, when `/_emulator/refunds/next` armed `fail`, which gives the amount back to the
 * charge; or `pending` for good, when it armed `pending_forever`). A refund of an uncaptured authorization releases
 * it at once: the PaymentIntent is canceled.
 */
import type Stripe from 'stripe';
import type { EmulatorCore } from '../core.ts';
import { errors } from '../errors.ts';
import { newId, unixSeconds } from '../ids.ts';
import type { EventBatch } from '../webhooks/event-batch.ts';
import { cancel } from './transitions.ts';

/** What is left to refund of a charge: captured, less every refund not failed or canceled. */
export function refundableAmount(charge: Stripe.Charge): number {
  return charge.amount_captured - charge.amount_refunded;
}

function buildRefund(input: {
  charge: Stripe.Charge;
  amount: number;
  reason: Stripe.Refund.Reason | null;
  metadata: Stripe.Metadata;
  status: 'pending' | 'succeeded';
  now: number;
}): Stripe.Refund {
  const { charge } = input;
  return {
    id: newId('re'),
    object: 'refund',
    amount: input.amount,
    balance_transaction: input.status === 'succeeded' ? newId('txn') : null,
    charge: charge.id,
    created: unixSeconds(input.now),
    currency: charge.currency,
    customer: typeof charge.customer === 'string' ? charge.customer : null,
    customer_account: null,
    destination_details: {
      type: 'card',
      card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' },
    },
    metadata: input.metadata,
    payment_intent: typeof charge.payment_intent === 'string' ? charge.payment_intent : null,
    reason: input.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: input.status,
    transfer_reversal: null,
  } as Stripe.Refund;
}

/**
 * The charge a refund names: `charge` itself, or the latest charge of `payment_intent` (which must have one that
 * succeeded); exactly one of the two.
 */
export function chargeToRefund(
  core: EmulatorCore,
  params: { charge?: string | undefined; payment_intent?: string | undefined },
): Stripe.Charge {
  const { store } = core;
  if (params.charge !== undefined && params.payment_intent !== undefined) {
    throw errors.invalidRequest('You may only specify one of these parameters: charge, payment_intent.', 'charge');
  }
  if (params.charge !== undefined) {
    const charge = store.charges.get(params.charge);
    if (charge === undefined) throw errors.resourceMissing('charge', params.charge, 'charge');
    return charge;
  }
  if (params.payment_intent === undefined) {
    throw errors.invalidRequest(
      'One of the following params should be provided for this request: payment_intent or charge.',
      'charge',
    );
  }
  const paymentIntent = store.paymentIntents.get(params.payment_intent);
  if (paymentIntent === undefined) {
    throw errors.resourceMissing('payment_intent', params.payment_intent, 'payment_intent');
  }
  const charge =
    typeof paymentIntent.latest_charge === 'string' ? store.charges.get(paymentIntent.latest_charge) : undefined;
  if (charge === undefined || !charge.paid) {
    throw errors.invalidRequest(
      `This PaymentIntent (${paymentIntent.id}) does not have a successful charge to refund.`,
      'payment_intent',
    );
  }
  return charge;
}

/** Whether a charge must be refunded with the card present on a reader (Interac). */
export function needsCardPresentRefund(charge: Stripe.Charge): boolean {
  return charge.payment_method_details?.type === 'interac_present';
}

/** The amount a refund of `charge` may take: `requested`, or all that is left; Stripe's refusals otherwise. */
export function refundAmount(charge: Stripe.Charge, requested: number | undefined): number {
  if (!charge.paid || !charge.captured) {
    throw errors.invalidRequest(`Charge ${charge.id} has no captured amount to refund.`, 'charge');
  }
  const left = refundableAmount(charge);
  if (left <= 0) throw errors.chargeAlreadyRefunded(charge.id);
  const amount = requested ?? left;
  if (amount > left) {
    throw errors.amountTooLarge(
      'amount',
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
    );
  }
  return amount;
}

/**
 * Refund `amount` (default: all that is left) of `charge`. `inPerson`: made on a reader with the card presented
 * (the only way to refund Interac).
 */
export function createRefund(
  core: EmulatorCore,
  charge: Stripe.Charge,
  input: {
    amount: number | undefined;
    reason: Stripe.Refund.Reason | null;
    metadata: Stripe.Metadata;
    inPerson?: boolean;
  },
  events: EventBatch,
): Stripe.Refund {
  const paymentIntent =
    typeof charge.payment_intent === 'string' ? core.store.paymentIntents.get(charge.payment_intent) : undefined;
  if (!charge.captured && paymentIntent?.status === 'requires_capture') {
    return releaseAuthorization(core, charge, paymentIntent, input, events);
  }
  if (needsCardPresentRefund(charge) && input.inPerson !== true) {
    throw errors.invalidRequest(
      'Interac payments must be refunded in person: use refund_payment on a Terminal reader with the card.',
      'charge',
    );
  }
  const amount = refundAmount(charge, input.amount);
  const { reason, metadata } = input;
  const refund = buildRefund({ charge, amount, reason, metadata, status: 'pending', now: core.clock.now() });
  core.store.refunds.set(refund.id, refund);
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount_captured;
  events.emit('refund.created', refund);
  events.emit('charge.refunded', charge);
  if (core.store.nextRefundFault?.fault === 'pending_forever') {
    core.store.nextRefundFault = null;
    core.store.refundsPendingForever.add(refund.id);
  } else {
    scheduleRefund(core, refund.id, core.timing.refundDelayMs);
  }
  return refund;
}

/** An uncaptured authorization refunded: the hold is released (the PaymentIntent canceled), the refund done. */
function releaseAuthorization(
  core: EmulatorCore,
  charge: Stripe.Charge,
  paymentIntent: Stripe.PaymentIntent,
  input: { amount: number | undefined; reason: Stripe.Refund.Reason | null; metadata: Stripe.Metadata },
  events: EventBatch,
): Stripe.Refund {
  if (input.amount !== undefined && input.amount !== charge.amount) {
    throw errors.invalidRequest(
      'An uncaptured charge can only be refunded in full, which releases the authorization.',
      'amount',
    );
  }
  const { reason, metadata } = input;
  const refund = buildRefund({
    charge,
    amount: charge.amount,
    reason,
    metadata,
    status: 'succeeded',
    now: core.clock.now(),
  });
  core.store.refunds.set(refund.id, refund);
  events.emit('refund.created', refund);
  cancel(core, paymentIntent, null, events);
  return refund;
}

/** Settle a pending refund after `delayMs` on the emulator's clock. */
export function scheduleRefund(core: EmulatorCore, refundId: string, delayMs: number): void {
  const timer = core.timers.after(delayMs, () => {
    core.store.refundTimers.delete(refundId);
    settleRefund(core, refundId);
  });
  core.store.refundTimers.set(refundId, timer);
}

function settleRefund(core: EmulatorCore, refundId: string): void {
  const refund = core.store.refunds.get(refundId);
  if (refund === undefined || refund.status !== 'pending') return;
  const charge = typeof refund.charge === 'string' ? core.store.charges.get(refund.charge) : undefined;
  const events = core.batch();
  const fault = core.store.nextRefundFault;
  if (fault?.fault === 'fail') {
    core.store.nextRefundFault = null;
    refund.status = 'failed';
    refund.failure_reason = fault.failureReason;
    refund.failure_balance_transaction = newId('txn');
    if (charge !== undefined) {
      charge.amount_refunded -= refund.amount;
      charge.refunded = charge.amount_refunded >= charge.amount_captured && charge.amount_captured > 0;
    }
    events.emit('refund.failed', refund);
  } else {
    refund.status = 'succeeded';
    refund.balance_transaction = newId('txn');
    events.emit('refund.updated', refund);
  }
  events.emit('charge.refund.updated', refund);
  core.publish(events);
}

/** PaymentIntent objects as Stripe returns them, every non-optional field of `Stripe.PaymentIntent` present. */
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { newId, unixSeconds } from '../ids.ts';

/** Stripe's largest amount in the smallest currency unit (eight digits), a tip on the reader included. */
export const MAXIMUM_AMOUNT = 99_999_999;

/** What a create request decided, after validation. */
export interface NewPaymentIntent {
  amount: number;
  currency: string;
  captureMethod: Stripe.PaymentIntent.CaptureMethod;
  /** `payment_method_options[card_present][capture_method]`: overrides `captureMethod` for card_present. */
  cardPresentCaptureMethod: CardPresentCaptureMethod | null;
  allowedPaymentMethodTypes: string[] | null;
  description: string | null;
  metadata: Stripe.Metadata;
  receiptEmail: string | null;
  statementDescriptor: string | null;
  statementDescriptorSuffix: string | null;
  customer: string | null;
  onBehalfOf: string | null;
  transferGroup: string | null;
  applicationFeeAmount: number | null;
}

/**
 * The types a PaymentIntent can be paid with. Without `allowed_payment_method_types` Stripe falls back to
 * automatic payment methods (card); Terminal needs `card_present` or `interac_present` named explicitly.
 */
export function effectivePaymentMethodTypes(allowed: string[] | null): string[] {
  return allowed === null ? ['card'] : [...allowed];
}

/** The capture methods `payment_method_options[card_present][capture_method]` takes. */
export type CardPresentCaptureMethod = Stripe.PaymentIntent.PaymentMethodOptions.CardPresent.CaptureMethod;
export const CARD_PRESENT_CAPTURE_METHODS: readonly CardPresentCaptureMethod[] = ['manual', 'manual_preferred'];

/**
 * Stripe's per-type options: card_present carries its authorization flags, and its own `capture_method` when one was
 * given.
 */
export function paymentMethodOptionsFor(
  types: string[],
  cardPresentCaptureMethod: CardPresentCaptureMethod | null = null,
): Stripe.PaymentIntent.PaymentMethodOptions {
  const options: Stripe.PaymentIntent.PaymentMethodOptions = {};
  if (types.includes('card_present')) {
    options.card_present = {
      ...(cardPresentCaptureMethod === null ? {} : { capture_method: cardPresentCaptureMethod }),
      request_extended_authorization: false,
      request_incremental_authorization_support: false,
    };
  }
  return options;
}

/** A new PaymentIntent in `requires_payment_method`, created at `now` (epoch ms on the emulator's clock). */
export function buildPaymentIntent(input: NewPaymentIntent, now: number): Stripe.PaymentIntent {
  const id = newId('pi');
  const types = effectivePaymentMethodTypes(input.allowedPaymentMethodTypes);
  const paymentIntent: Stripe.PaymentIntent = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: input.allowedPaymentMethodTypes,
    amount: input.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: input.applicationFeeAmount,
    automatic_payment_methods: input.allowedPaymentMethodTypes === null ? { enabled: true } : null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: input.captureMethod,
    client_secret: `${id}_secret_${randomBytes(12).toString('base64url').slice(0, 25)}`,
    confirmation_method: 'automatic',
    created: unixSeconds(now),
    currency: input.currency,
    customer: input.customer,
    customer_account: null,
    description: input.description,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: input.metadata,
    next_action: null,
    on_behalf_of: input.onBehalfOf,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: paymentMethodOptionsFor(types, input.cardPresentCaptureMethod),
    payment_method_types: types,
    payment_record: null,
    processing: null,
    receipt_email: input.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: input.statementDescriptor,
    statement_descriptor_suffix: input.statementDescriptorSuffix,
    status: 'requires_payment_method',
    transfer_data: null,
    transfer_group: input.transferGroup,
  };
  return paymentIntent;
}

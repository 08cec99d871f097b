/** `/v1/payment_intents`: create, retrieve, update, list, capture, cancel. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { pagination, paramsOf, rule } from '../http/params.ts';
import { type ApiCall, paramsAs, type Route } from '../http/router.ts';
import {
  buildPaymentIntent,
  CARD_PRESENT_CAPTURE_METHODS,
  type CardPresentCaptureMethod,
  effectivePaymentMethodTypes,
  MAXIMUM_AMOUNT,
  paymentMethodOptionsFor,
} from '../objects/payment-intent.ts';
import { cancel, capture, latestCharge } from '../payments/transitions.ts';
import { expandObject } from './expand.ts';
import { createdMatches, listPage, newestFirst } from './list.ts';
import { mergeMetadata } from './metadata.ts';

/** Stripe's minimum charge amounts in the currency's smallest unit; others default to 50. */
const MINIMUM_AMOUNT: Readonly<Record<string, number>> = {
  usd: 50,
  cad: 50,
  eur: 50,
  aud: 50,
  nzd: 50,
  chf: 50,
  sgd: 50,
  jpy: 50,
  gbp: 30,
  hkd: 400,
  dkk: 250,
  nok: 300,
  sek: 300,
  mxn: 1000,
};
const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;
const CANCELLATION_REASONS = ['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer'] as const;
const UPDATABLE_STATUSES = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
const CANCELABLE_STATUSES = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
];

/** stripe 23 dropped `payment_method_types`; Stripe still accepts it, as an alias of `allowed_payment_method_types`. */
type WithLegacyTypes<T> = T & { payment_method_types?: string[] };

const createRules = paramsOf<Stripe.PaymentIntentCreateParams>(
  {
    amount: rule.required(rule.integer(1)),
    currency: rule.required(rule.string()),
    allowed_payment_method_types: rule.arrayOf(rule.string()),
    amount_details: rule.anyHash(),
    application_fee_amount: rule.integer(0),
    automatic_payment_methods: rule.anyHash(),
    capture_method: rule.string(CAPTURE_METHODS),
    confirm: rule.boolean(),
    confirmation_method: rule.string(['automatic', 'manual']),
    confirmation_token: rule.string(),
    customer: rule.string(),
    customer_account: rule.string(),
    description: rule.string(),
    error_on_requires_action: rule.boolean(),
    excluded_payment_method_types: rule.arrayOf(rule.string()),
    expand: rule.expand(),
    hooks: rule.anyHash(),
    mandate: rule.string(),
    mandate_data: rule.emptyableAnyHash(),
    metadata: rule.metadata(),
    off_session: rule.booleanOrHash(),
    on_behalf_of: rule.string(),
    payment_details: rule.anyHash(),
    payment_method: rule.string(),
    payment_method_configuration: rule.string(),
    payment_method_data: rule.anyHash(),
    payment_method_options: rule.anyHash(),
    radar_options: rule.anyHash(),
    receipt_email: rule.string(),
    return_url: rule.string(),
    setup_future_usage: rule.string(['off_session', 'on_session']),
    shipping: rule.anyHash(),
    statement_descriptor: rule.string(),
    statement_descriptor_suffix: rule.string(),
    transfer_data: rule.anyHash(),
    transfer_group: rule.string(),
    use_stripe_sdk: rule.boolean(),
  },
  { payment_method_types: rule.arrayOf(rule.string()) },
);

const retrieveRules = paramsOf<Stripe.PaymentIntentRetrieveParams>({
  client_secret: rule.string(),
  expand: rule.expand(),
});

const updateRules = paramsOf<Stripe.PaymentIntentUpdateParams>(
  {
    allowed_payment_method_types: rule.arrayOf(rule.string()),
    amount: rule.integer(1),
    amount_details: rule.emptyableAnyHash(),
    application_fee_amount: rule.emptyableInteger(),
    capture_method: rule.string(CAPTURE_METHODS),
    currency: rule.string(),
    customer: rule.string(),
    customer_account: rule.string(),
    description: rule.string(),
    excluded_payment_method_types: rule.emptyableArrayOf(rule.string()),
    expand: rule.expand(),
    hooks: rule.anyHash(),
    metadata: rule.metadata(),
    payment_details: rule.emptyableAnyHash(),
    payment_method: rule.string(),
    payment_method_configuration: rule.string(),
    payment_method_data: rule.anyHash(),
    payment_method_options: rule.anyHash(),
    receipt_email: rule.emptyableString(),
    setup_future_usage: rule.emptyableString(['off_session', 'on_session']),
    shipping: rule.emptyableAnyHash(),
    statement_descriptor: rule.string(),
    statement_descriptor_suffix: rule.string(),
    transfer_data: rule.anyHash(),
    transfer_group: rule.string(),
  },
  { payment_method_types: rule.arrayOf(rule.string()) },
);

const listRules = paramsOf<Stripe.PaymentIntentListParams>({
  ...pagination,
  created: rule.range(),
  customer: rule.string(),
  customer_account: rule.string(),
  expand: rule.expand(),
});

const captureRules = paramsOf<Stripe.PaymentIntentCaptureParams>({
  amount_details: rule.anyHash(),
  amount_to_capture: rule.integer(1),
  application_fee_amount: rule.integer(0),
  expand: rule.expand(),
  final_capture: rule.boolean(),
  hooks: rule.anyHash(),
  metadata: rule.metadata(),
  payment_details: rule.emptyableAnyHash(),
  statement_descriptor: rule.string(),
  statement_descriptor_suffix: rule.string(),
  transfer_data: rule.anyHash(),
});

const cancelRules = paramsOf<Stripe.PaymentIntentCancelParams>({
  cancellation_reason: rule.string(CANCELLATION_REASONS),
  expand: rule.expand(),
});

function findPaymentIntent(call: ApiCall): Stripe.PaymentIntent {
  const id = call.path.intent ?? '';
  const paymentIntent = call.core.store.paymentIntents.get(id);
  if (paymentIntent === undefined) throw errors.resourceMissing('payment_intent', id, 'intent');
  return paymentIntent;
}

function respond(call: ApiCall, paymentIntent: Stripe.PaymentIntent): Stripe.PaymentIntent {
  return expandObject(paymentIntent, call.expand, call.core.store);
}

function checkCurrency(currency: string): string {
  const normalized = currency.toLowerCase();
  if (!/^[a-z]{3}$/.test(normalized)) throw errors.invalidRequest(`Invalid currency: ${currency}.`, 'currency');
  return normalized;
}

function checkAmount(amount: number, currency: string): void {
  const minimum = MINIMUM_AMOUNT[currency] ?? 50;
  if (amount < minimum) throw errors.amountTooSmall(minimum, currency);
  if (amount > MAXIMUM_AMOUNT) throw errors.amountTooLarge('amount', 'Amount must be no more than $999,999.99');
}

/** Interac no longer supports manual capture (API version 2025-03-31). */
function checkInteracCapture(types: string[] | null, captureMethod: string): void {
  if (types?.includes('interac_present') && captureMethod === 'manual') {
    throw errors.paymentIntentInvalidParameter(
      'capture_method',
      "The payment method type 'interac_present' does not support capture_method=manual. Use capture_method=automatic or automatic_async.",
    );
  }
}

const CARD_PRESENT_CAPTURE_PARAM = 'payment_method_options[card_present][capture_method]';

/**
 * `payment_method_options[card_present][capture_method]` as given: `manual` or `manual_preferred`, null when given
 * empty (unset), undefined when not given. The rest of `payment_method_options` is accepted and not acted on.
 */
function cardPresentCaptureOf(options: unknown): CardPresentCaptureMethod | null | undefined {
  if (options === undefined || options === '' || typeof options !== 'object' || options === null) return undefined;
  const cardPresent = (options as Record<string, unknown>).card_present;
  if (cardPresent === undefined || cardPresent === '') return undefined;
  if (typeof cardPresent !== 'object' || cardPresent === null) {
    throw errors.invalidHash('payment_method_options[card_present]');
  }
  const value = (cardPresent as Record<string, unknown>).capture_method;
  if (value === undefined) return undefined;
  if (value === '') return null;
  if (typeof value !== 'string') throw errors.invalidString(CARD_PRESENT_CAPTURE_PARAM);
  if (!(CARD_PRESENT_CAPTURE_METHODS as readonly string[]).includes(value)) {
    throw errors.invalidEnum(CARD_PRESENT_CAPTURE_PARAM, CARD_PRESENT_CAPTURE_METHODS);
  }
  return value as CardPresentCaptureMethod;
}

/** A `receipt_email` as Stripe takes it: an address, or empty (on update) to remove it. */
function checkReceiptEmail(email: string | null | undefined): void {
  if (email === undefined || email === null || email === '') return;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw errors.emailInvalid(email, 'receipt_email');
}

function createPaymentIntent(call: ApiCall): Stripe.PaymentIntent {
  const params = paramsAs<WithLegacyTypes<Stripe.PaymentIntentCreateParams>>(call);
  checkReceiptEmail(params.receipt_email);
  const currency = checkCurrency(params.currency);
  checkAmount(params.amount, currency);
  const allowed = params.allowed_payment_method_types ?? params.payment_method_types ?? null;
  const captureMethod = params.capture_method ?? 'automatic_async';
  checkInteracCapture(allowed, captureMethod);
  const cardPresentCaptureMethod = cardPresentCaptureOf(params.payment_method_options) ?? null;
  const paymentIntent = buildPaymentIntent(
    {
      amount: params.amount,
      currency,
      captureMethod,
      cardPresentCaptureMethod,
      allowedPaymentMethodTypes: allowed,
      description: params.description ?? null,
      metadata: mergeMetadata({}, params.metadata),
      receiptEmail: params.receipt_email ?? null,
      statementDescriptor: params.statement_descriptor ?? null,
      statementDescriptorSuffix: params.statement_descriptor_suffix ?? null,
      customer: params.customer ?? null,
      onBehalfOf: params.on_behalf_of ?? null,
      transferGroup: params.transfer_group ?? null,
      applicationFeeAmount: params.application_fee_amount ?? null,
    },
    call.core.clock.now(),
  );
  call.core.store.paymentIntents.set(paymentIntent.id, paymentIntent);
  call.events.emit('payment_intent.created', paymentIntent);
  return respond(call, paymentIntent);
}

function updatePaymentIntent(call: ApiCall): Stripe.PaymentIntent {
  const paymentIntent = findPaymentIntent(call);
  const params = paramsAs<WithLegacyTypes<Stripe.PaymentIntentUpdateParams>>(call);
  const allowedUpdate = params.allowed_payment_method_types ?? params.payment_method_types;
  const cardPresentCapture = cardPresentCaptureOf(params.payment_method_options);
  const updates = {
    amount: params.amount,
    currency: params.currency,
    capture_method: params.capture_method,
    allowed_payment_method_types: allowedUpdate,
    [CARD_PRESENT_CAPTURE_PARAM]: cardPresentCapture,
  };
  for (const [field, given] of Object.entries(updates)) {
    if (given !== undefined && !UPDATABLE_STATUSES.includes(paymentIntent.status)) {
      throw errors.paymentIntentUnexpectedState(
        `This PaymentIntent's ${field} could not be updated because it has a status of ${paymentIntent.status}. You may only update the ${field} of a PaymentIntent with one of the following statuses: ${UPDATABLE_STATUSES.join(', ')}.`,
      );
    }
  }
  const currency = params.currency === undefined ? paymentIntent.currency : checkCurrency(params.currency);
  const amount = params.amount ?? paymentIntent.amount;
  if (params.amount !== undefined || params.currency !== undefined) checkAmount(amount, currency);
  const allowed = allowedUpdate ?? paymentIntent.allowed_payment_method_types;
  const captureMethod = params.capture_method ?? paymentIntent.capture_method;
  checkInteracCapture(allowed, captureMethod);
  checkReceiptEmail(params.receipt_email);

  paymentIntent.amount = amount;
  paymentIntent.currency = currency;
  paymentIntent.capture_method = captureMethod;
  if (allowedUpdate !== undefined) {
    paymentIntent.allowed_payment_method_types = allowedUpdate;
    paymentIntent.payment_method_types = effectivePaymentMethodTypes(allowedUpdate);
    paymentIntent.automatic_payment_methods = null;
  }
  if (allowedUpdate !== undefined || cardPresentCapture !== undefined) {
    const kept = paymentIntent.payment_method_options?.card_present?.capture_method ?? null;
    paymentIntent.payment_method_options = paymentMethodOptionsFor(
      paymentIntent.payment_method_types,
      cardPresentCapture === undefined ? kept : cardPresentCapture,
    );
  }
  paymentIntent.metadata = mergeMetadata(paymentIntent.metadata, params.metadata);
  if (params.description !== undefined) paymentIntent.description = params.description;
  // receipt_email may change in any status: set after payment, it is how a receipt is asked for afterwards.
  if (params.receipt_email !== undefined) {
    paymentIntent.receipt_email = params.receipt_email || null;
    const charge = latestCharge(call.core, paymentIntent);
    if (charge?.status === 'succeeded') charge.receipt_email = paymentIntent.receipt_email;
  }
  if (params.statement_descriptor !== undefined) paymentIntent.statement_descriptor = params.statement_descriptor;
  if (params.statement_descriptor_suffix !== undefined) {
    paymentIntent.statement_descriptor_suffix = params.statement_descriptor_suffix;
  }
  if (params.customer !== undefined) paymentIntent.customer = params.customer;
  if (params.transfer_group !== undefined) paymentIntent.transfer_group = params.transfer_group;
  if (params.application_fee_amount !== undefined) {
    paymentIntent.application_fee_amount = params.application_fee_amount === '' ? null : params.application_fee_amount;
  }
  // Stripe clears the previous confirmation's error when a PaymentIntent is updated, for any reason.
  paymentIntent.last_payment_error = null;
  return respond(call, paymentIntent);
}

function listPaymentIntents(call: ApiCall): Stripe.ApiList<Stripe.PaymentIntent> {
  const params = paramsAs<Stripe.PaymentIntentListParams>(call);
  const matching = newestFirst(call.core.store.paymentIntents.values()).filter(
    (paymentIntent) =>
      createdMatches(paymentIntent.created, params.created) &&
      (params.customer === undefined || paymentIntent.customer === params.customer),
  );
  const page = listPage(matching, params, '/v1/payment_intents', 'payment_intent');
  return expandObject(page, call.expand, call.core.store);
}

function capturePaymentIntent(call: ApiCall): Stripe.PaymentIntent {
  const paymentIntent = findPaymentIntent(call);
  const params = paramsAs<Stripe.PaymentIntentCaptureParams>(call);
  if (paymentIntent.status !== 'requires_capture') {
    throw errors.paymentIntentUnexpectedState(
      `This PaymentIntent could not be captured because it has a status of ${paymentIntent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
    );
  }
  const amountToCapture = params.amount_to_capture ?? paymentIntent.amount_capturable;
  if (amountToCapture > paymentIntent.amount_capturable) {
    throw errors.amountTooLarge(
      'amount_to_capture',
      `The amount to capture (${amountToCapture}) must be less than or equal to the amount capturable (${paymentIntent.amount_capturable}).`,
    );
  }
  if (params.metadata !== undefined) paymentIntent.metadata = mergeMetadata(paymentIntent.metadata, params.metadata);
  if (params.statement_descriptor !== undefined) paymentIntent.statement_descriptor = params.statement_descriptor;
  if (params.statement_descriptor_suffix !== undefined) {
    paymentIntent.statement_descriptor_suffix = params.statement_descriptor_suffix;
  }
  if (params.application_fee_amount !== undefined) paymentIntent.application_fee_amount = params.application_fee_amount;
  capture(call.core, paymentIntent, amountToCapture, call.events);
  return respond(call, paymentIntent);
}

function cancelPaymentIntent(call: ApiCall): Stripe.PaymentIntent {
  const paymentIntent = findPaymentIntent(call);
  const params = paramsAs<Stripe.PaymentIntentCancelParams>(call);
  if (!CANCELABLE_STATUSES.includes(paymentIntent.status)) {
    throw errors.paymentIntentUnexpectedState(
      `You cannot cancel this PaymentIntent because it has a status of ${paymentIntent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE_STATUSES.join(', ')}.`,
    );
  }
  cancel(call.core, paymentIntent, params.cancellation_reason ?? null, call.events);
  return respond(call, paymentIntent);
}

/** The PaymentIntent routes. */
export const paymentIntentRoutes: Route[] = [
  { method: 'POST', pattern: '/v1/payment_intents', rules: createRules, handle: createPaymentIntent },
  { method: 'GET', pattern: '/v1/payment_intents', rules: listRules, handle: listPaymentIntents },
  {
    method: 'GET',
    pattern: '/v1/payment_intents/:intent',
    rules: retrieveRules,
    handle: (call) => respond(call, findPaymentIntent(call)),
  },
  { method: 'POST', pattern: '/v1/payment_intents/:intent', rules: updateRules, handle: updatePaymentIntent },
  { method: 'POST', pattern: '/v1/payment_intents/:intent/capture', rules: captureRules, handle: capturePaymentIntent },
  { method: 'POST', pattern: '/v1/payment_intents/:intent/cancel', rules: cancelRules, handle: cancelPaymentIntent },
];

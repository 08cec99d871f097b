/**
 * Charge objects for card-present authorizations, every non-optional field of `Stripe.Charge` present.
 * `payment_method_details.card_present.capture_before` carries the capture deadline of a manual capture; the
 * `receipt` carries the EMV data a custom receipt must print, with fixed test values per card network.
 */
import type Stripe from 'stripe';
import { newId, unixSeconds } from '../ids.ts';
import type { AuthorizationOutcome, PresentedCard } from '../terminal/cards.ts';

/** The EMV application a card of each network reports: its AID (tag 84) and preferred name (tag 9F12). */
const EMV_APPLICATIONS: Readonly<Record<string, { aid: string; name: string }>> = {
  visa: { aid: 'A0000000031010', name: 'Visa Credit' },
  mastercard: { aid: 'A0000000041010', name: 'Mastercard' },
  amex: { aid: 'A00000002501', name: 'American Express' },
  discover: { aid: 'A0000001523010', name: 'Discover' },
  interac: { aid: 'A0000002771010', name: 'Interac' },
};

/** What the card and the issuer said, as every card-present receipt shows it (tags 9F26, 8A, 95, 9B). */
function emvData(card: PresentedCard, approved: boolean) {
  const application = EMV_APPLICATIONS[card.brand] ?? { aid: 'A0000000031010', name: 'Visa Credit' };
  return {
    application_cryptogram: 'EFD4D5E0B2B1B4D5',
    application_preferred_name: application.name,
    authorization_code: approved ? '123456' : null,
    // EMV tag 8A holds two ASCII characters: "00" approved, "05" do not honour.
    authorization_response_code: approved ? '3030' : '3035',
    cardholder_verification_method: 'approval',
    dedicated_file_name: application.aid,
    terminal_verification_results: '0000000000',
    transaction_status_information: '0000',
  };
}

function cardReceipt(card: PresentedCard, approved: boolean): Stripe.Charge.PaymentMethodDetails.CardPresent.Receipt {
  return { account_type: 'credit', ...emvData(card, approved) };
}

/** Interac is debit: its receipt names a bank account (`checking`, `savings` or `unknown`), never credit. */
function interacReceipt(
  card: PresentedCard,
  approved: boolean,
): Stripe.Charge.PaymentMethodDetails.InteracPresent.Receipt {
  return { account_type: 'checking', ...emvData(card, approved) };
}

/** Where Stripe shows the receipt of a paid charge; it is never mailed from here (test mode sends no receipts). */
export function receiptUrl(chargeId: string): string {
  return `https://pay.stripe.com/receipts/payment/${Buffer.from(`emulator:${chargeId}`).toString('base64url')}`;
}

function paymentMethodDetails(
  card: PresentedCard,
  amount: number,
  approved: boolean,
  captureBefore: number | undefined,
  reader: string,
  location: string | null,
): Stripe.Charge.PaymentMethodDetails {
  const common = {
    brand: card.brand,
    cardholder_name: null,
    country: card.country,
    emv_auth_data: approved ? '8A023030' : '8A023035',
    exp_month: card.expMonth,
    exp_year: card.expYear,
    fingerprint: card.fingerprint,
    funding: card.funding,
    generated_card: null,
    last4: card.last4,
    network: card.network,
    network_transaction_id: approved ? newId('ntx', 15).slice(4) : null,
    preferred_locales: ['en'],
    read_method: 'contactless_emv' as const,
    reader,
    ...(location === null ? {} : { location }),
  };
  if (card.type === 'interac_present') {
    const interac: Stripe.Charge.PaymentMethodDetails.InteracPresent = {
      ...common,
      receipt: interacReceipt(card, approved),
    };
    return { type: 'interac_present', interac_present: interac };
  }
  const cardPresent: Stripe.Charge.PaymentMethodDetails.CardPresent = {
    ...common,
    amount_authorized: approved ? amount : null,
    brand_product: null,
    incremental_authorization_supported: false,
    offline: null,
    overcapture_supported: false,
    receipt: cardReceipt(card, approved),
  };
  if (captureBefore !== undefined) cardPresent.capture_before = captureBefore;
  return { type: 'card_present', card_present: cardPresent };
}

function outcomeOf(result: AuthorizationOutcome): Stripe.Charge.Outcome {
  if (result.approved) {
    return {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      seller_message: 'Payment complete.',
      type: 'authorized',
    };
  }
  return {
    advice_code: null,
    network_advice_code: null,
    network_decline_code: null,
    network_status: 'declined_by_network',
    reason: result.declineCode ?? result.code,
    risk_level: 'normal',
    seller_message: 'The bank did not return any further details with this decline.',
    type: 'issuer_declined',
  };
}

/** A charge for an authorization attempt of `paymentIntent` with `card` on `reader`. */
export function buildCharge(input: {
  paymentIntent: Stripe.PaymentIntent;
  paymentMethod: string;
  card: PresentedCard;
  outcome: AuthorizationOutcome;
  /** Unix seconds; only for uncaptured (manual) authorizations. */
  captureBefore?: number;
  capturedAtOnce: boolean;
  reader: string;
  location: string | null;
  /** Epoch ms on the emulator's clock. */
  now: number;
}): Stripe.Charge {
  const { paymentIntent: pi, outcome } = input;
  const approved = outcome.approved;
  const id = newId('ch');
  const charge: Stripe.Charge = {
    id,
    object: 'charge',
    amount: pi.amount,
    amount_captured: approved && input.capturedAtOnce ? pi.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: pi.application_fee_amount,
    balance_transaction: approved && input.capturedAtOnce ? newId('txn') : null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: pi.statement_descriptor ?? 'EMULATOR',
    captured: approved && input.capturedAtOnce,
    created: unixSeconds(input.now),
    currency: pi.currency,
    customer: typeof pi.customer === 'string' ? pi.customer : null,
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: approved ? null : outcome.code,
    failure_message: approved ? null : outcome.message,
    fraud_details: {},
    livemode: false,
    metadata: { ...pi.metadata },
    on_behalf_of: typeof pi.on_behalf_of === 'string' ? pi.on_behalf_of : null,
    outcome: outcomeOf(outcome),
    paid: approved,
    payment_intent: pi.id,
    payment_method: input.paymentMethod,
    payment_method_details: paymentMethodDetails(
      input.card,
      pi.amount,
      approved,
      input.captureBefore,
      input.reader,
      input.location,
    ),
    receipt_email: pi.receipt_email,
    receipt_number: null,
    receipt_url: approved ? receiptUrl(id) : null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: pi.statement_descriptor,
    statement_descriptor_suffix: pi.statement_descriptor_suffix,
    status: approved ? 'succeeded' : 'failed',
    transfer_data: null,
    transfer_group: pi.transfer_group,
  };
  return charge;
}

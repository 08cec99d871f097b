/** PaymentMethod objects for cards read by a reader, every non-optional field of `Stripe.PaymentMethod` present. */
import type Stripe from 'stripe';
import { newId, unixSeconds } from '../ids.ts';
import type { PresentedCard } from '../terminal/cards.ts';

/** The payment method a reader creates from a presented card at `now` (epoch ms on the emulator's clock). */
export function buildPaymentMethod(card: PresentedCard, now: number): Stripe.PaymentMethod {
  const details = {
    brand: card.brand,
    cardholder_name: null,
    country: card.country,
    exp_month: card.expMonth,
    exp_year: card.expYear,
    fingerprint: card.fingerprint,
    funding: card.funding,
    last4: card.last4,
    networks: null,
    preferred_locales: ['en'],
    read_method: 'contactless_emv' as const,
  };
  const paymentMethod: Stripe.PaymentMethod = {
    id: newId('pm'),
    object: 'payment_method',
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    created: unixSeconds(now),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: card.type === 'card' ? 'card_present' : card.type,
  };
  if (card.type === 'interac_present') paymentMethod.interac_present = details;
  else paymentMethod.card_present = { ...details, brand_product: null, offline: null };
  return paymentMethod;
}

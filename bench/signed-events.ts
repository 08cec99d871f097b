/**
 * Stripe events as Stripe sends them: a JSON body signed with the endpoint's secret (`Stripe-Signature:
 * t=…,v1=…`, HMAC-SHA256 of `t.body`), for the webhook route.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

/** A Stripe event body and the header that signs it. */
export interface SignedDelivery {
  eventId: string;
  body: string;
  signature: string;
}

/** A unique Stripe-style id. */
export function stripeId(prefix: string): string {
  return `${prefix}_bench${randomBytes(10).toString('hex')}`;
}

/** An event envelope around `object`, created now. */
export function stripeEvent(type: string, object: Record<string, unknown>, createdSeconds = nowSeconds()) {
  return {
    id: stripeId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: createdSeconds,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** A `payment_intent.succeeded` event for a card-present PaymentIntent paid in full. */
export function paymentSucceededEvent(paymentIntent: { id: string; amount: number; currency: string }) {
  return stripeEvent('payment_intent.succeeded', {
    id: paymentIntent.id,
    object: 'payment_intent',
    amount: paymentIntent.amount,
    amount_capturable: 0,
    amount_received: paymentIntent.amount,
    capture_method: 'automatic',
    currency: paymentIntent.currency,
    last_payment_error: null,
    cancellation_reason: null,
    latest_charge: null,
    payment_method_types: ['card_present'],
    status: 'succeeded',
  });
}

/** A reader event about an action that is not a payment (`set_reader_display`): queued, then ignored. */
export function readerDisplayEvent(readerId: string) {
  return stripeEvent('terminal.reader.action_succeeded', {
    id: readerId,
    object: 'terminal.reader',
    action: { type: 'set_reader_display', status: 'succeeded', failure_code: null, failure_message: null },
  });
}

/** Sign `event` (or an already serialised body) as Stripe does, at `timestamp`. */
export function signDelivery(
  event: { id: string } | { id: string; body: string },
  secret: string,
  timestamp = nowSeconds(),
): SignedDelivery {
  const body = 'body' in event ? event.body : JSON.stringify(event);
  return {
    eventId: event.id,
    body,
    signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
  };
}

/** POST a signed delivery to the webhook route; resolves with the HTTP status. */
export async function deliver(apiUrl: string, delivery: SignedDelivery): Promise<number> {
  const response = await fetch(`${apiUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': delivery.signature },
    body: delivery.body,
  });
  await response.arrayBuffer();
  return response.status;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

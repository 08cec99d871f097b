/**
 * Event objects, typed per event type with the SDK's own event interfaces (`Stripe.PaymentIntentCreatedEvent`,
 * `Stripe.TerminalReaderActionSucceededEvent`, …) so the compiler checks each one's shape.
 */
import Stripe from 'stripe';
import { newId, unixSeconds } from '../ids.ts';

/** The event types the emulator emits, with the object each carries. */
export interface EmittedEventObjects {
  'payment_intent.created': Stripe.PaymentIntent;
  'payment_intent.amount_capturable_updated': Stripe.PaymentIntent;
  'payment_intent.succeeded': Stripe.PaymentIntent;
  'payment_intent.payment_failed': Stripe.PaymentIntent;
  'payment_intent.canceled': Stripe.PaymentIntent;
  'charge.succeeded': Stripe.Charge;
  'charge.failed': Stripe.Charge;
  'charge.captured': Stripe.Charge;
  'charge.expired': Stripe.Charge;
  'charge.refunded': Stripe.Charge;
  'charge.refund.updated': Stripe.Refund;
  'refund.created': Stripe.Refund;
  'refund.updated': Stripe.Refund;
  'refund.failed': Stripe.Refund;
  'terminal.reader.action_succeeded': Stripe.Terminal.Reader;
  'terminal.reader.action_failed': Stripe.Terminal.Reader;
  'terminal.reader.action_updated': Stripe.Terminal.Reader;
}

export type EmittedEventType = keyof EmittedEventObjects;

/** The API request that caused an event; null fields for changes that happen on their own (a reader, a timer). */
export interface EventCause {
  requestId: string | null;
  idempotencyKey: string | null;
}

type Common = Omit<Stripe.EventBase, 'type' | 'data'>;

const builders: { [T in EmittedEventType]: (common: Common, object: EmittedEventObjects[T]) => Stripe.Event } = {
  'payment_intent.created': (common, object): Stripe.PaymentIntentCreatedEvent => ({
    ...common,
    type: 'payment_intent.created',
    data: { object },
  }),
  'payment_intent.amount_capturable_updated': (common, object): Stripe.PaymentIntentAmountCapturableUpdatedEvent => ({
    ...common,
    type: 'payment_intent.amount_capturable_updated',
    data: { object },
  }),
  'payment_intent.succeeded': (common, object): Stripe.PaymentIntentSucceededEvent => ({
    ...common,
    type: 'payment_intent.succeeded',
    data: { object },
  }),
  'payment_intent.payment_failed': (common, object): Stripe.PaymentIntentPaymentFailedEvent => ({
    ...common,
    type: 'payment_intent.payment_failed',
    data: { object },
  }),
  'payment_intent.canceled': (common, object): Stripe.PaymentIntentCanceledEvent => ({
    ...common,
    type: 'payment_intent.canceled',
    data: { object },
  }),
  'charge.succeeded': (common, object): Stripe.ChargeSucceededEvent => ({
    ...common,
    type: 'charge.succeeded',
    data: { object },
  }),
  'charge.failed': (common, object): Stripe.ChargeFailedEvent => ({
    ...common,
    type: 'charge.failed',
    data: { object },
  }),
  'charge.captured': (common, object): Stripe.ChargeCapturedEvent => ({
    ...common,
    type: 'charge.captured',
    data: { object },
  }),
  'charge.expired': (common, object): Stripe.ChargeExpiredEvent => ({
    ...common,
    type: 'charge.expired',
    data: { object },
  }),
  'charge.refunded': (common, object): Stripe.ChargeRefundedEvent => ({
    ...common,
    type: 'charge.refunded',
    data: { object },
  }),
  'terminal.reader.action_succeeded': (common, object): Stripe.TerminalReaderActionSucceededEvent => ({
    ...common,
    type: 'terminal.reader.action_succeeded',
    data: { object },
  }),
  'terminal.reader.action_failed': (common, object): Stripe.TerminalReaderActionFailedEvent => ({
    ...common,
    type: 'terminal.reader.action_failed',
    data: { object },
  }),
  'terminal.reader.action_updated': (common, object): Stripe.TerminalReaderActionUpdatedEvent => ({
    ...common,
    type: 'terminal.reader.action_updated',
    data: { object },
  }),
  'charge.refund.updated': (common, object): Stripe.ChargeRefundUpdatedEvent => ({
    ...common,
    type: 'charge.refund.updated',
    data: { object },
  }),
  'refund.created': (common, object): Stripe.RefundCreatedEvent => ({
    ...common,
    type: 'refund.created',
    data: { object },
  }),
  'refund.updated': (common, object): Stripe.RefundUpdatedEvent => ({
    ...common,
    type: 'refund.updated',
    data: { object },
  }),
  'refund.failed': (common, object): Stripe.RefundFailedEvent => ({
    ...common,
    type: 'refund.failed',
    data: { object },
  }),
};

/**
 * A new event carrying a snapshot of `object` (later changes to the object do not change the event), created at
 * `now` (epoch ms on the emulator's clock).
 */
export function buildEvent<T extends EmittedEventType>(
  type: T,
  object: EmittedEventObjects[T],
  cause: EventCause,
  pendingWebhooks: number,
  now: number,
): Stripe.Event {
  const common: Common = {
    id: newId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: unixSeconds(now),
    livemode: false,
    pending_webhooks: pendingWebhooks,
    request: { id: cause.requestId, idempotency_key: cause.idempotencyKey },
  };
  return builders[type](common, structuredClone(object));
}

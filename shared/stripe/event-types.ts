/**
 * The Stripe event types the system acts on. The webhook receiver queues exactly these (and acknowledges
 * the rest without queueing them); the processor applies them; the deploy guide registers them.
 */
export const handledEventTypes = [
  'terminal.reader.action_succeeded',
  'terminal.reader.action_failed',
  'terminal.reader.action_updated',
  'payment_intent.amount_capturable_updated',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  // The charge carries the card brand/last4 and `capture_before`: learnt from the event, no extra API call.
  'charge.succeeded',
  // Refunds: online and on the reader (whose outcome is also the reader's `refund_payment` action).
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.refund.updated',
  // The charge's `amount_refunded`: a refund whose own events were lost (or made elsewhere) shows here.
  'charge.refunded',
] as const;

export type HandledEventType = (typeof handledEventTypes)[number];

const handled: ReadonlySet<string> = new Set(handledEventTypes);

export function isHandledEventType(type: string): type is HandledEventType {
  return handled.has(type);
}

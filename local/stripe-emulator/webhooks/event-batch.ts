/**
 * The events one change produces. They are recorded at once (so `GET /v1/events` lists them) and handed to
 * webhook delivery together, after the API response that caused them has been sent: a receiver never hears
 * of a state it cannot read yet.
 */
import type Stripe from 'stripe';
import type { Clock } from '../clock.ts';
import { buildEvent, type EmittedEventObjects, type EmittedEventType, type EventCause } from '../objects/event.ts';
import type { Store } from '../state/store.ts';

/** Whether an endpoint subscribed to `type`. */
export function endpointWants(endpoint: Stripe.WebhookEndpoint, type: string): boolean {
  return (
    endpoint.status === 'enabled' && (endpoint.enabled_events.includes('*') || endpoint.enabled_events.includes(type))
  );
}

/** Events produced together by one API request or one background change, in the order they happened. */
export class EventBatch {
  readonly events: Stripe.Event[] = [];
  private readonly store: Store;
  private readonly cause: EventCause;
  private readonly clock: Clock;

  constructor(store: Store, cause: EventCause, clock: Clock) {
    this.store = store;
    this.cause = cause;
    this.clock = clock;
  }

  /** Record an event about `object` (snapshotted now). */
  emit<T extends EmittedEventType>(type: T, object: EmittedEventObjects[T]): Stripe.Event {
    const pending = [...this.store.webhookEndpoints.values()].filter(({ endpoint }) => endpointWants(endpoint, type));
    const event = buildEvent(type, object, this.cause, pending.length, this.clock.now());
    this.store.events.set(event.id, event);
    this.events.push(event);
    return event;
  }
}

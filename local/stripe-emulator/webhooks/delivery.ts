/**
 * Webhook delivery as Stripe does it: a POST of the event's JSON, signed `Stripe-Signature: t=…,v1=…`
 * (HMAC-SHA256 of `t.payload`, so `stripe.webhooks.constructEvent` accepts it), retried with exponential
 * backoff on a non-2xx answer, a redirect or no answer, each retry signed anew; the signature's time and the backoff
 * are on the emulator's clock, so advancing it brings a retry forward. The delivery faults of
 * `/_emulator/webhooks` (drop, hold and release, duplicate, delay, reverse) apply here.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import Stripe from 'stripe';
import type { Clock } from '../clock.ts';
import { unixSeconds } from '../ids.ts';
import type { Timing } from '../options.ts';
import type { EndpointState, Store } from '../state/store.ts';
import type { Timers } from '../state/timers.ts';
import { endpointWants } from './event-batch.ts';

/** How events are delivered from now on (`POST /_emulator/webhooks`). */
export interface DeliverySettings {
  mode: 'deliver' | 'drop' | 'hold';
  /** Extra copies of each event, sent at the same time as the first. */
  duplicate: number;
  delayMs: number;
  /** Events of one action sent newest first. */
  reverse: boolean;
}

export const DEFAULT_DELIVERY: DeliverySettings = { mode: 'deliver', duplicate: 0, delayMs: 0, reverse: false };

/** One delivery attempt, kept for `GET /_emulator/webhooks`. */
export interface DeliveryAttempt {
  eventId: string;
  type: string;
  endpointId: string;
  url: string;
  attempt: number;
  status: number | null;
  error: string | null;
  at: string;
}

const RESPONSE_TIMEOUT_MS = 10_000;

/** Sign `payload` for `secret` at `timestamp` (unix seconds), exactly as Stripe signs. */
export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

function post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' },
        signal,
        timeout: RESPONSE_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out waiting for the endpoint')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Delivers events to the webhook endpoints in the store. */
export class WebhookDelivery {
  settings: DeliverySettings = { ...DEFAULT_DELIVERY };
  readonly attempts: DeliveryAttempt[] = [];
  private held: Stripe.Event[][] = [];
  /** Endpoints each event has reached, so `pending_webhooks` counts each endpoint once. */
  private readonly reached = new Map<string, Set<string>>();
  /** First attempts to one endpoint go out one after another, in order; retries do not wait in this line. */
  private readonly lines = new Map<string, Promise<void>>();
  private readonly aborter = new Set<AbortController>();
  private readonly store: Store;
  private readonly timing: Timing;
  private readonly timers: Timers;
  private readonly clock: Clock;

  constructor(store: Store, timing: Timing, timers: Timers, clock: Clock) {
    this.store = store;
    this.timing = timing;
    this.timers = timers;
    this.clock = clock;
  }

  /** Hand over the events of one change, subject to the delivery faults. */
  deliver(events: Stripe.Event[]): void {
    if (events.length === 0 || this.settings.mode === 'drop') return;
    if (this.settings.mode === 'hold') {
      this.held.push(events);
      return;
    }
    this.dispatch(events);
  }

  /** Deliver everything held; returns how many events that was. */
  release(): number {
    const batches = this.held;
    this.held = [];
    for (const batch of batches) this.dispatch(batch);
    return batches.reduce((count, batch) => count + batch.length, 0);
  }

  /** How many events are held. */
  get heldCount(): number {
    return this.held.reduce((count, batch) => count + batch.length, 0);
  }

  /** Deliver one event again, whatever the delivery mode. */
  resend(event: Stripe.Event): void {
    this.dispatch([event]);
  }

  /** Forget held events, settings and attempts, and abort deliveries in flight (reset, close). */
  reset(): void {
    this.settings = { ...DEFAULT_DELIVERY };
    this.held = [];
    this.attempts.length = 0;
    this.reached.clear();
    this.lines.clear();
    for (const controller of this.aborter) controller.abort();
    this.aborter.clear();
  }

  private dispatch(events: Stripe.Event[]): void {
    const { reverse, delayMs, duplicate } = this.settings;
    const ordered = reverse ? [...events].reverse() : [...events];
    const start = (): void => {
      for (const target of this.store.webhookEndpoints.values()) {
        const wanted = ordered.filter((event) => endpointWants(target.endpoint, event.type));
        if (wanted.length === 0) continue;
        const previous = this.lines.get(target.endpoint.id) ?? Promise.resolve();
        const next = previous.then(async () => {
          for (const event of wanted) {
            await Promise.all(Array.from({ length: 1 + duplicate }, () => this.attempt(target, event, 0)));
          }
        });
        this.lines.set(target.endpoint.id, next);
      }
    };
    if (delayMs > 0) this.timers.after(delayMs, start);
    else start();
  }

  /** One signed POST; on failure schedules the next retry (bounded by `webhookRetries`). */
  private async attempt(target: EndpointState, event: Stripe.Event, attempt: number): Promise<void> {
    const stored = this.store.events.get(event.id) ?? event;
    const payload = JSON.stringify(stored, null, 2);
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'Stripe-Signature': signatureHeader(payload, target.secret, unixSeconds(this.clock.now())),
    };
    const controller = new AbortController();
    this.aborter.add(controller);
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await post(target.endpoint.url, payload, headers, controller.signal);
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    } finally {
      this.aborter.delete(controller);
    }
    if (controller.signal.aborted) return;
    this.attempts.push({
      eventId: event.id,
      type: event.type,
      endpointId: target.endpoint.id,
      url: target.endpoint.url,
      attempt,
      status,
      error,
      at: new Date(this.clock.now()).toISOString(),
    });
    // Stripe counts only a 2xx as delivered; redirects and errors are failures.
    if (status !== null && status >= 200 && status < 300) {
      const reached = this.reached.get(event.id) ?? new Set<string>();
      this.reached.set(event.id, reached);
      if (!reached.has(target.endpoint.id) && stored.pending_webhooks > 0) stored.pending_webhooks -= 1;
      reached.add(target.endpoint.id);
      return;
    }
    if (attempt >= this.timing.webhookRetries) return;
    const backoff = this.timing.webhookRetryBaseMs * 2 ** attempt;
    this.timers.after(backoff, () => {
      void this.attempt(target, event, attempt + 1);
    });
  }
}

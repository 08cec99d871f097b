/**
 * Test support for the emulator suite: an emulator per suite, the official SDK pointed at it, `/_emulator`
 * controls over plain `fetch`, and a local webhook receiver that verifies every delivery with
 * `stripe.webhooks.constructEvent`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import type { Emulator, EmulatorOptions } from '../../local/stripe-emulator/index.ts';

/** Fast timing for tests. */
export const FAST: EmulatorOptions = { authorizationDelayMs: 20, webhookRetryBaseMs: 20 };

/** The official SDK against `emulator`; no retries unless asked, so each call is one request. */
export function sdk(emulator: Emulator, options: Partial<Stripe.StripeConfig> = {}): Stripe {
  return new Stripe('sk_test_emulator', {
    host: '127.0.0.1',
    port: emulator.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
    ...options,
  });
}

/** POST (or GET, DELETE) a `/_emulator` control; resolves with the status and the JSON body. */
export async function control(
  emulator: Emulator,
  path: string,
  body?: unknown,
  method: 'GET' | 'POST' | 'DELETE' = 'POST',
): Promise<{ status: number; body: Record<string, unknown> }> {
  return emulatorControls(emulator.url).send<Record<string, unknown>>(path, { method, body, accept: () => true });
}

/** A raw API call (for encodings the SDK never sends); `body` is sent form-encoded as given. */
export async function rawApi(
  emulator: Emulator,
  method: string,
  pathAndQuery: string,
  body?: string,
  headers: Record<string, string> = { Authorization: 'Bearer sk_test_emulator' },
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.url}${pathAndQuery}`, {
    method,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** Resolve when `check` returns a value other than undefined; reject after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One delivery the receiver got. */
export interface Delivery {
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The event as `constructEvent` verified it, or null if verification failed. */
  event: Stripe.Event | null;
  verificationError: string | null;
  receivedAt: number;
}

/** A local webhook endpoint. */
export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Status to answer with for the next deliveries (default 200). */
  respondWith(status: (delivery: Delivery, index: number) => number): void;
  /** Verified events of `type`, in arrival order. */
  events(type?: string): Stripe.Event[];
  /** Run `hook` on each delivery before answering it (e.g. to read the API state at that moment). */
  onDelivery(hook: (delivery: Delivery) => Promise<void>): void;
  /** Forget the deliveries so far and answer 200 again. */
  clear(): void;
  close(): Promise<void>;
}

/** Start a receiver that verifies signatures against `secret()` (read at each delivery). */
export async function startReceiver(secret: () => string): Promise<Receiver> {
  const verifier = new Stripe('sk_test_verifier');
  const deliveries: Delivery[] = [];
  let status: (delivery: Delivery, index: number) => number = () => 200;
  let hook: (delivery: Delivery) => Promise<void> = async () => {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const delivery: Delivery = {
        headers: req.headers,
        rawBody,
        event: null,
        verificationError: null,
        receivedAt: Date.now(),
      };
      try {
        delivery.event = verifier.webhooks.constructEvent(rawBody, String(req.headers['stripe-signature']), secret());
      } catch (error) {
        delivery.verificationError = error instanceof Error ? error.message : String(error);
      }
      deliveries.push(delivery);
      const index = deliveries.length - 1;
      hook(delivery).finally(() => {
        res.statusCode = status(delivery, index);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    deliveries,
    respondWith: (next) => {
      status = next;
    },
    onDelivery: (next) => {
      hook = next;
    },
    clear: () => {
      deliveries.length = 0;
      status = () => 200;
      hook = async () => {};
    },
    events: (type) =>
      deliveries.flatMap((delivery) =>
        delivery.event !== null && (type === undefined || delivery.event.type === type) ? [delivery.event] : [],
      ),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The first seeded reader of the first seeded location. */
export function firstReader(emulator: Emulator): string {
  const reader = emulator.seeded.locations[0]?.readers[0];
  if (reader === undefined) throw new Error('the emulator seeded no reader');
  return reader.id;
}

/** A card-present PaymentIntent ready for a reader. */
export function terminalPaymentIntent(
  stripe: Stripe,
  overrides: Partial<Stripe.PaymentIntentCreateParams> = {},
): Promise<Stripe.PaymentIntent> {
  return stripe.paymentIntents.create({
    amount: 1000,
    currency: 'usd',
    allowed_payment_method_types: ['card_present'],
    capture_method: 'manual',
    ...overrides,
  });
}

/** Wait until the reader's action is no longer in progress, and return the reader. */
export function settledReader(stripe: Stripe, readerId: string): Promise<Stripe.Terminal.Reader> {
  return waitFor(async () => {
    const reader = await stripe.terminal.readers.retrieve(readerId);
    if ('deleted' in reader && reader.deleted) throw new Error('reader deleted');
    const live = reader as Stripe.Terminal.Reader;
    return live.action !== null && live.action.status !== 'in_progress' ? live : undefined;
  });
}

/** The Stripe error a promise rejects with. */
export async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error('expected a Stripe error, the call succeeded');
}

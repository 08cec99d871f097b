/**
 * A Stripe API that only answers the two reads the webhook processor makes while applying an event — retrieve a
 * PaymentIntent (with its charge expanded) and retrieve a reader — from a state the test sets. It lets the
 * processor run unchanged against a generated payment story whose Stripe state changes step by step.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expandedPaymentIntent, type StripeState } from './payment-story.ts';

export interface StripeReads {
  url: string;
  /** Stripe's state as the next reads see it, per PaymentIntent id. */
  set(state: StripeState): void;
  /** Reads answered so far. */
  readonly reads: number;
  close(): Promise<void>;
}

/** Start the read-only Stripe on a free port of 127.0.0.1. */
export async function startStripeReads(): Promise<StripeReads> {
  const states = new Map<string, StripeState>();
  let reads = 0;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const paymentIntent = /^\/v1\/payment_intents\/([^/]+)$/.exec(path)?.[1];
    const reader = /^\/v1\/terminal\/readers\/([^/]+)$/.exec(path)?.[1];
    let body: unknown;
    if (request.method === 'GET' && paymentIntent !== undefined) {
      const state = states.get(decodeURIComponent(paymentIntent));
      body = state === undefined ? undefined : expandedPaymentIntent(state);
    } else if (request.method === 'GET' && reader !== undefined) {
      const id = decodeURIComponent(reader);
      body = [...states.values()].find((state) => state.readers[id] !== undefined)?.readers[id];
    }
    reads += 1;
    response.writeHead(body === undefined ? 404 : 200, {
      'content-type': 'application/json',
      'request-id': 'req_reads',
    });
    response.end(
      JSON.stringify(
        body ?? {
          error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such object: ${path}` },
        },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (state) => {
      states.set(state.paymentIntent.id, structuredClone(state));
    },
    get reads() {
      return reads;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

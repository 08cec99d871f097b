/**
 * A cashier's payment through the POS API, step by step, as the scenarios drive it: create, process on a reader,
 * the customer's tap, waiting for the webhook-driven state (never `?refresh=true`), capture.
 */
import type { PaymentResource } from '../shared/payments/resource.ts';
import type { BenchStack, StripeRequest } from './stack.ts';
import { waitFor } from './stack.ts';

export type CaptureMethod = 'automatic' | 'manual';

let orderSequence = 0;

/** A fresh order id (unique per run, so repeated runs against one table never collide). */
export function newOrderId(prefix = 'bench'): string {
  orderSequence += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${orderSequence}`;
}

function expectStatus(what: string, response: { status: number; body: unknown }, expected: number[]): void {
  if (!expected.includes(response.status)) {
    throw new Error(`${what}: HTTP ${response.status} ${JSON.stringify(response.body).slice(0, 400)}`);
  }
}

/** `POST /payments`; with `readerId` the payment is processed on it in the same call. */
export async function createPayment(
  bench: BenchStack,
  input: { captureMethod: CaptureMethod; readerId?: string; amount?: number; orderId?: string; token?: string },
): Promise<PaymentResource> {
  const location = bench.location;
  const response = await bench.api<{ payment: PaymentResource }>('POST', '/payments', {
    token: input.token ?? location.token,
    body: {
      orderId: input.orderId ?? newOrderId(),
      locationId: location.id,
      amount: input.amount ?? 1500,
      currency: 'usd',
      captureMethod: input.captureMethod,
      ...(input.readerId === undefined ? {} : { readerId: input.readerId }),
    },
  });
  expectStatus('POST /payments', response, [200, 201]);
  return response.body.payment;
}

/** `POST /payments/{id}/process`. */
export async function processPayment(bench: BenchStack, paymentId: string, readerId: string): Promise<PaymentResource> {
  const response = await bench.api<{ payment: PaymentResource }>('POST', `/payments/${paymentId}/process`, {
    token: bench.location.token,
    body: { readerId },
  });
  expectStatus('POST /payments/{id}/process', response, [202]);
  return response.body.payment;
}

/** `POST /payments/{id}/capture`. */
export async function capturePayment(bench: BenchStack, paymentId: string): Promise<PaymentResource> {
  const response = await bench.api<{ payment: PaymentResource }>('POST', `/payments/${paymentId}/capture`, {
    token: bench.location.token,
    body: {},
  });
  expectStatus('POST /payments/{id}/capture', response, [200]);
  return response.body.payment;
}

/** `GET /payments/{id}` as recorded: never `?refresh=true`, so only webhooks can have moved it. */
export async function recordedPayment(bench: BenchStack, paymentId: string): Promise<PaymentResource> {
  const response = await bench.api<{ payment: PaymentResource }>('GET', `/payments/${paymentId}`, {
    token: bench.location.token,
  });
  expectStatus('GET /payments/{id}', response, [200]);
  return response.body.payment;
}

/** The state a tapped card leads to: authorized (manual capture) or paid (automatic), the reader's action done. */
export function isSettledAfterTap(payment: PaymentResource, captureMethod: CaptureMethod): boolean {
  const status = captureMethod === 'manual' ? 'requires_capture' : 'succeeded';
  return payment.status === status && payment.readerAction?.status === 'succeeded';
}

/** Wait, through `GET /payments/{id}` without refresh, until `done` holds. */
export function waitForRecorded(
  bench: BenchStack,
  paymentId: string,
  done: (payment: PaymentResource) => boolean,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<PaymentResource> {
  return waitFor(() => recordedPayment(bench, paymentId), done, { what: `payment ${paymentId}`, ...options });
}

/** What a Stripe API request was for, from its method and path. */
export function stripeOperation(request: Pick<StripeRequest, 'method' | 'path'>): string {
  const { method, path } = request;
  if (path.startsWith('/v1/test_helpers/')) return 'test_helper';
  if (method === 'POST' && path === '/v1/payment_intents') return 'create_payment_intent';
  if (method === 'POST' && /^\/v1\/terminal\/readers\/[^/]+\/process_payment_intent$/.test(path)) return 'process';
  if (method === 'POST' && /^\/v1\/payment_intents\/[^/]+\/capture$/.test(path)) return 'capture';
  if (method === 'POST' && /^\/v1\/payment_intents\/[^/]+\/cancel$/.test(path)) return 'cancel';
  if (method === 'POST' && /^\/v1\/payment_intents\/[^/]+$/.test(path)) return 'update_payment_intent';
  if (method === 'POST' && /^\/v1\/terminal\/readers\/[^/]+\/cancel_action$/.test(path)) return 'cancel_action';
  if (method === 'GET' && /^\/v1\/payment_intents\/[^/]+$/.test(path)) return 'retrieve_payment_intent';
  if (method === 'GET' && /^\/v1\/terminal\/readers\/[^/]+$/.test(path)) return 'retrieve_reader';
  if (method === 'GET' && path === '/v1/terminal/readers') return 'list_readers';
  if (method === 'POST' && path === '/v1/refunds') return 'create_refund';
  if (method === 'POST' && /^\/v1\/terminal\/readers\/[^/]+\/refund_payment$/.test(path)) return 'refund_payment';
  if (method === 'GET' && /^\/v1\/refunds\/[^/]+$/.test(path)) return 'retrieve_refund';
  if (method === 'GET' && path.startsWith('/v1/refunds')) return 'list_refunds';
  if (method === 'GET' && path.startsWith('/v1/events')) return 'events';
  return `${method} ${path}`;
}

/** Requests the system made (the benchmark's own test-helper taps left out). */
export function systemRequests(requests: readonly StripeRequest[]): StripeRequest[] {
  return requests.filter((request) => stripeOperation(request) !== 'test_helper');
}

/** Requests counted by operation. */
export function countByOperation(requests: readonly StripeRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) {
    const operation = stripeOperation(request);
    counts[operation] = (counts[operation] ?? 0) + 1;
  }
  return counts;
}

/**
 * Capture and cancel answer before API Gateway's limit however long Stripe takes: a Lambda with 3 s left gives
 * them a deadline 1 s away (2 s are kept for answering), and the emulator's `timeout` fault holds Stripe's answer
 * back until the client gives up. When the outcome is unknown at the deadline the answer is a retryable 504
 * `stripe_timeout`, and the same request again converges on what Stripe did, without doing it twice.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as cancel from '../../../functions/payments/cancel.ts';
import * as capture from '../../../functions/payments/capture.ts';
import * as update from '../../../functions/payments/update.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import {
  apiEvent,
  claimsFor,
  emulatorControl,
  type HandlerModule,
  idleReader,
  invoke,
  type JsonBody,
  type LocalParts,
  lambdaContext,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId, paymentThroughReader } from './client.ts';

/** The time the Lambda has left when the request arrives: API Gateway's limit, as these tests set it. */
const LIMIT_MS = 3_000;

let parts: LocalParts;
let cashier: ApiClient;
let locationId: string;
let readers: [string, string];
const stripe = () => createStripeClient('sk_test_integration', parts.emulator.url);

beforeAll(async () => {
  parts = await startLocalParts();
  const [store] = parts.locations as [{ id: string; readers: [string, string] }];
  locationId = store.id;
  readers = store.readers;
  cashier = apiClient(claimsFor([locationId]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  await fetch(`${parts.emulator.url}/_emulator/faults`, { method: 'DELETE' });
  parts.configure({ STRIPE_TIMEOUT_MS: undefined });
  for (const reader of readers) await idleReader(parts.emulator, reader);
});

/** Call `route` as API Gateway would, with a Lambda that has `LIMIT_MS` left; returns the answer and its time. */
async function withinLimit(module: HandlerModule, route: 'capture' | 'cancel', paymentId: string) {
  const event = apiEvent({
    method: 'POST',
    route: `/payments/{id}/${route}`,
    params: { id: paymentId },
    body: {},
    claims: claimsFor([locationId]),
  });
  const startedAt = Date.now();
  const response = await invoke(module, event, lambdaContext(LIMIT_MS));
  return { response, elapsedMs: Date.now() - startedAt };
}

/** Stripe holds the answer of the next `count` requests to `path` until the client gives up. */
const holdAnswers = (path: string, afterExecuting: boolean, count = 1) =>
  emulatorControl(parts.emulator, '/_emulator/faults', {
    method: 'POST',
    path,
    fault: 'timeout',
    count,
    afterExecuting,
  });

const authorized = (): Promise<JsonBody> =>
  paymentThroughReader(cashier, parts.emulator.url, { locationId, readerId: readers[0], captureMethod: 'manual' });

/** The payment's `capture` or `cancel` requests as Stripe received them (status 0: no answer was sent). */
async function sent(paymentId: string, operation: 'capture' | 'cancel') {
  return (await emulatorRequests(parts.emulator.url))
    .filter((r) => r.method === 'POST' && r.path === `/v1/payment_intents/${paymentId}/${operation}`)
    .map(({ idempotencyKey, status, replayed }) => ({ idempotencyKey, status, replayed }));
}

describe('POST /payments/{id}/capture when Stripe is slow', () => {
  it('answers a retryable 504 stripe_timeout within the limit when the outcome is unknown; the same request again returns the capture made', async () => {
    // Prepare: Stripe captures, but its answer never arrives
    const payment = await authorized();
    await holdAnswers(`/v1/payment_intents/${payment.id}/capture`, true);

    // Act
    const { response, elapsedMs } = await withinLimit(capture, 'capture', payment.id);
    const again = await cashier.capture(payment.id);

    // Assess
    expect(elapsedMs).toBeLessThan(LIMIT_MS);
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'stripe_timeout', retryable: true });
    expect(again.status).toBe(200);
    expect(again.body.payment).toMatchObject({ status: 'succeeded', amountReceived: 1299 });
    expect(await sent(payment.id, 'capture')).toEqual([
      { idempotencyKey: `capture:${payment.id}:0`, status: 0, replayed: false },
      { idempotencyKey: `capture:${payment.id}:0`, status: 200, replayed: true },
    ]);
  });

  it('sends the capture again under the same key when another try fits before the deadline, and answers 200', async () => {
    // Prepare: Stripe's own timeout shorter than the time left
    parts.configure({ STRIPE_TIMEOUT_MS: '500' });
    const payment = await authorized();
    await holdAnswers(`/v1/payment_intents/${payment.id}/capture`, true);

    // Act
    const response = await cashier.capture(payment.id);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.payment).toMatchObject({ status: 'succeeded', amountReceived: 1299 });
    expect((await sent(payment.id, 'capture')).filter((request) => !request.replayed)).toHaveLength(1);
  });
});

describe('POST /payments/{id}/cancel when Stripe is slow', () => {
  it('answers a retryable 504 stripe_timeout within the limit when the outcome is unknown; the same request again returns the canceled payment', async () => {
    // Prepare
    const payment = (
      await cashier.create({
        orderId: newOrderId(),
        locationId,
        amount: 1299,
        currency: 'usd',
        captureMethod: 'manual',
      })
    ).body.payment;
    await holdAnswers(`/v1/payment_intents/${payment.id}/cancel`, true);

    // Act
    const { response, elapsedMs } = await withinLimit(cancel, 'cancel', payment.id);
    const again = await cashier.cancel(payment.id);

    // Assess
    expect(elapsedMs).toBeLessThan(LIMIT_MS);
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'stripe_timeout', retryable: true });
    expect(again.status).toBe(200);
    expect(again.body.payment.status).toBe('canceled');
    expect(await sent(payment.id, 'cancel')).toEqual([
      { idempotencyKey: `cancel:${payment.id}:0`, status: 0, replayed: false },
      { idempotencyKey: `cancel:${payment.id}:0`, status: 200, replayed: true },
    ]);
  });

  it('answers within the limit while the reader holding the payment does not answer, and cancels on the next request', async () => {
    // Prepare: the payment is on the reader; clearing the reader's action gets no answer
    const payment = (
      await cashier.create({ orderId: newOrderId(), locationId, amount: 1299, currency: 'usd', readerId: readers[1] })
    ).body.payment;
    await holdAnswers(`/v1/terminal/readers/${readers[1]}/cancel_action`, false);

    // Act
    const { response, elapsedMs } = await withinLimit(cancel, 'cancel', payment.id);
    const again = await cashier.cancel(payment.id);

    // Assess
    expect(elapsedMs).toBeLessThan(LIMIT_MS);
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'stripe_timeout', retryable: true });
    expect(again.status).toBe(200);
    expect(again.body.payment).toMatchObject({
      status: 'canceled',
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect((await stripe().paymentIntents.retrieve(payment.id)).status).toBe('canceled');
  });
});

describe('PATCH /payments/{id} when Stripe is slow', () => {
  it('answers a retryable 504 stripe_timeout within the limit when the outcome is unknown; the same request again returns the new amount', async () => {
    // Prepare: Stripe changes the amount, but its answer never arrives
    const payment = (await cashier.create({ orderId: newOrderId(), locationId, amount: 1299, currency: 'usd' })).body
      .payment;
    await holdAnswers(`/v1/payment_intents/${payment.id}`, true);
    const event = apiEvent({
      method: 'PATCH',
      route: '/payments/{id}',
      params: { id: payment.id },
      body: { amount: 1599 },
      claims: claimsFor([locationId]),
    });

    // Act
    const startedAt = Date.now();
    const response = await invoke(update, event, lambdaContext(LIMIT_MS));
    const elapsedMs = Date.now() - startedAt;
    const again = await cashier.update(payment.id, { amount: 1599 });

    // Assess
    expect(elapsedMs).toBeLessThan(LIMIT_MS);
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'stripe_timeout', retryable: true });
    expect(again.status).toBe(200);
    expect(again.body.payment.amount).toBe(1599);
    const updates = (await emulatorRequests(parts.emulator.url)).filter(
      (r) => r.method === 'POST' && r.path === `/v1/payment_intents/${payment.id}`,
    );
    expect(updates.filter((r) => !r.replayed)).toHaveLength(1);
  });
});

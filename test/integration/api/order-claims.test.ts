/**
 * An order is claimed before its PaymentIntent is created, so a failure in between (Stripe unreachable, its own
 * failure, a lost answer, a Lambda that died) must never strand the order: the same request completes it with the
 * same PaymentIntent, another amount still gets a payment, `order_conflict` always names a payment, and the
 * reconciler settles what nobody retries. Metadata is kept exactly as sent, whatever its keys.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../../shared/operations/reconcile.ts';
import { reconcileSettings } from '../../../shared/reconcile/settings.ts';
import { getPayment } from '../../../shared/store/payments.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { claimsFor, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, newOrderId } from './client.ts';

let parts: LocalParts;
let cashier: ApiClient;
let locationId: string;
let stripe: Stripe;

beforeAll(async () => {
  parts = await startLocalParts();
  locationId = parts.locations[0]!.id;
  cashier = apiClient(claimsFor([locationId]));
  stripe = createStripeClient('sk_test_integration', parts.emulator.url);
});
afterAll(() => parts?.close());
afterEach(async () => {
  await fetch(`${parts.emulator.url}/_emulator/faults`, { method: 'DELETE' });
});

/** Make the next `count` creates of a PaymentIntent fail (the SDK sends each create twice: it retries once). */
async function failCreates(fault: string, options: { count?: number; afterExecuting?: boolean } = {}) {
  const response = await fetch(`${parts.emulator.url}/_emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'POST', path: '/v1/payment_intents', fault, count: 2, ...options }),
  });
  expect(response.status).toBeLessThan(300);
}

/** The order's PaymentIntents at Stripe, by the metadata every create carries. */
async function paymentIntentsOf(orderId: string): Promise<Stripe.PaymentIntent[]> {
  const all = await stripe.paymentIntents.list({ limit: 100 });
  return all.data.filter((intent) => intent.metadata.orderId === orderId);
}

const order = (orderId: string, amount = 1800) => ({ orderId, locationId, amount, currency: 'usd' });

describe('metadata', () => {
  it('is stored and returned exactly as sent, keys named like Object.prototype members included', async () => {
    // Prepare
    const metadata = { constructor: 'x', toString: 'y', hasOwnProperty: 'z', valueOf: 'v', till: '4' };

    // Act
    const created = await cashier.create({ ...order(newOrderId()), metadata });
    const again = await cashier.create({ ...order(created.body.payment.orderId), metadata });

    // Assess
    expect(created.status).toBe(201);
    expect(again.status).toBe(200);
    expect((await getPayment(parts.deps.store, created.body.payment.id))?.metadata).toStrictEqual(metadata);
    const [intent] = await paymentIntentsOf(created.body.payment.orderId);
    expect(intent?.metadata).toMatchObject(metadata);
  });

  it('refuses __proto__ (no JavaScript object keeps it) with a 400 before anything reaches Stripe', async () => {
    // Prepare
    const orderId = newOrderId();
    const body = JSON.parse(`{"orderId":"${orderId}","locationId":"${locationId}","amount":1800,"currency":"usd",
      "metadata":{"__proto__":"x"}}`);

    // Act
    const response = await cashier.create(body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'invalid_json', message: expect.stringContaining('__proto__') });
    expect(await paymentIntentsOf(orderId)).toHaveLength(0);
  });
});

describe('a create that fails after the order was claimed', () => {
  it.each([
    ['Stripe fails before doing anything', 'server_error', false],
    ['the connection drops after Stripe created it', 'connection_reset', true],
  ])('%s: the same request again completes it, with one PaymentIntent', async (_case, fault, afterExecuting) => {
    // Prepare
    const orderId = newOrderId();
    await failCreates(fault, { afterExecuting });
    const failed = await cashier.create(order(orderId));

    // Act
    const retried = await cashier.create(order(orderId));

    // Assess
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(failed.body.error.retryable).toBe(true);
    expect(retried.status).toBe(201);
    expect(retried.body.payment).toMatchObject({ orderId, amount: 1800, status: 'requires_payment_method' });
    const intents = await paymentIntentsOf(orderId);
    expect(intents.map((intent) => intent.id)).toEqual([retried.body.payment.id]);
  });

  it('another amount then gets a payment of its own; the one nobody saw is cancelled', async () => {
    // Prepare
    const orderId = newOrderId();
    await failCreates('connection_reset', { afterExecuting: true });
    await cashier.create(order(orderId));

    // Act
    const other = await cashier.create(order(orderId, 2400));

    // Assess
    expect(other.status).toBe(201);
    expect(other.body.payment).toMatchObject({ amount: 2400, status: 'requires_payment_method' });
    const live = (await paymentIntentsOf(orderId)).filter((intent) => intent.status !== 'canceled');
    expect(live.map((intent) => intent.id)).toEqual([other.body.payment.id]);
  });

  it('answers order_conflict naming a payment the POS can act on, once the order has one', async () => {
    // Prepare
    const orderId = newOrderId();
    const first = await cashier.create(order(orderId));

    // Act
    const conflict = await cashier.create(order(orderId, 2400));
    const otherCapture = await cashier.create({ ...order(orderId), captureMethod: 'manual' });

    // Assess
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({
      code: 'order_conflict',
      details: { paymentId: first.body.payment.id },
    });
    expect(otherCapture.status).toBe(409);
    expect(otherCapture.body.error).toMatchObject({ code: 'order_conflict' });
  });

  it('the reconciler records the PaymentIntent of a claim nobody retried, from Stripe’s side', async () => {
    // Prepare: the answer is lost; no request comes back for the order
    const orderId = newOrderId();
    await failCreates('connection_reset', { afterExecuting: true });
    await cashier.create(order(orderId));
    const logger = new Logger({ serviceName: 'reconciler-test', logLevel: 'SILENT' });
    const later = Date.now() + 60_000;
    const clock = { now: () => later, sleep: async () => {} };

    // Act
    const summary = await reconcile(
      { ...parts.deps, clock },
      { logger, settings: reconcileSettings(parts.deps.settings), deadlineMs: later + 20_000 },
    );
    const retried = await cashier.create(order(orderId));

    // Assess
    expect(summary.ordersSettled).toBeGreaterThanOrEqual(1);
    const intents = await paymentIntentsOf(orderId);
    expect(intents).toHaveLength(1);
    expect(retried.status).toBe(200);
    expect(retried.body.payment.id).toBe(intents[0]!.id);
  });
});

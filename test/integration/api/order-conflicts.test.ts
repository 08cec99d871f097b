/**
 * The same `orderId` again: answered with the order's payment only when it asks for the same money, captured the
 * same way. Another amount, currency or capture method is 409 `order_conflict`; the description is not compared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsFor, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId } from './client.ts';

let parts: LocalParts;
let cashier: ApiClient;
let locationId: string;

beforeAll(async () => {
  parts = await startLocalParts();
  locationId = parts.locations[0]!.id;
  cashier = apiClient(claimsFor([locationId]));
});
afterAll(() => parts?.close());

const creates = async () =>
  (await emulatorRequests(parts.emulator.url)).filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');

describe('POST /payments for an order that already has a live payment', () => {
  it.each([
    ['another capture method (manual after automatic)', { captureMethod: 'automatic' }, { captureMethod: 'manual' }],
    ['another capture method (automatic after manual)', { captureMethod: 'manual' }, { captureMethod: 'automatic' }],
    ['another capture method (the default, automatic, after manual)', { captureMethod: 'manual' }, {}],
    ['another amount', {}, { amount: 1500 }],
    ['another currency', {}, { currency: 'eur' }],
  ])('refuses %s: 409 order_conflict naming the payment, nothing created', async (_, first, again) => {
    // Prepare
    const orderId = newOrderId();
    const order = { orderId, locationId, amount: 1299, currency: 'usd' };
    const existing = await cashier.create({ ...order, ...first });
    const before = (await creates()).length;

    // Act
    const response = await cashier.create({ ...order, ...again });

    // Assess
    expect(existing.status).toBe(201);
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'order_conflict',
      retryable: false,
      details: { paymentId: existing.body.payment.id },
    });
    expect((await creates()).length).toBe(before);
    expect((await cashier.get(existing.body.payment.id)).body.payment).toMatchObject({
      amount: 1299,
      currency: 'usd',
      captureMethod: existing.body.payment.captureMethod,
    });
  });

  it.each([
    ['the same capture method, given both times', { captureMethod: 'manual' }, { captureMethod: 'manual' }],
    ['the default capture method, once given and once not', { captureMethod: 'automatic' }, {}],
    ['another description', { description: 'Table 4' }, { description: 'Table 4, two more coffees' }],
  ])('answers 200 with the same payment for %s', async (_, first, again) => {
    // Prepare
    const order = { orderId: newOrderId(), locationId, amount: 1299, currency: 'usd' };
    const existing = await cashier.create({ ...order, ...first });

    // Act
    const response = await cashier.create({ ...order, ...again });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.payment.id).toBe(existing.body.payment.id);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as create from '../../../functions/payments/create.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { apiEvent, claimsFor, invoke, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let cashierA: ApiClient;
let cashierB: ApiClient;

beforeAll(async () => {
  parts = await startLocalParts();
  [storeA, storeB] = parts.locations as [typeof storeA, typeof storeB];
  cashierA = apiClient(claimsFor([storeA.id]));
  cashierB = apiClient(claimsFor([storeB.id]));
});
afterAll(() => parts?.close());

const order = (overrides: Record<string, unknown> = {}) => ({
  orderId: newOrderId(),
  locationId: storeA.id,
  amount: 1299,
  currency: 'usd',
  ...overrides,
});

const createRequests = async () =>
  (await emulatorRequests(parts.emulator.url)).filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');

describe('POST /payments', () => {
  it('creates a card-present PaymentIntent for the order and answers 201 with the payment', async () => {
    // Prepare
    const body = order({ captureMethod: 'manual', description: 'Lunch', metadata: { table: '12' } });

    // Act
    const response = await cashierA.create(body);

    // Assess
    expect(response.status).toBe(201);
    expect(response.body.payment).toMatchObject({
      orderId: body.orderId,
      locationId: storeA.id,
      amount: 1299,
      currency: 'usd',
      captureMethod: 'manual',
      status: 'requires_payment_method',
      readerId: null,
      readerAction: null,
      attempts: 0,
      flags: [],
    });
    const stripe = createStripeClient('sk_test_integration', parts.emulator.url);
    const paymentIntent = await stripe.paymentIntents.retrieve(response.body.payment.id);
    expect(paymentIntent).toMatchObject({
      capture_method: 'manual',
      amount: 1299,
      metadata: { orderId: body.orderId, locationId: storeA.id, table: '12' },
    });
    expect(paymentIntent.payment_method_types).toContain('card_present');
  });

  it('answers the same order again with its payment (200), creating no second PaymentIntent', async () => {
    // Prepare
    const body = order();
    const first = await cashierA.create(body);
    const before = (await createRequests()).length;

    // Act
    const again = await cashierA.create(body);

    // Assess
    expect(again.status).toBe(200);
    expect(again.body.payment.id).toBe(first.body.payment.id);
    expect((await createRequests()).length).toBe(before);
  });

  it('refuses the same order with another amount: 409 order_conflict', async () => {
    // Prepare
    const body = order();
    const first = await cashierA.create(body);

    // Act
    const response = await cashierA.create({ ...body, amount: 1500 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'order_conflict',
      retryable: false,
      details: { paymentId: first.body.payment.id },
    });
  });

  it('gives a canceled order a new PaymentIntent (201) with the next generation’s key', async () => {
    // Prepare
    const body = order();
    const first = await cashierA.create(body);
    await cashierA.cancel(first.body.payment.id);

    // Act
    const second = await cashierA.create(body);

    // Assess
    expect(second.status).toBe(201);
    expect(second.body.payment.id).not.toBe(first.body.payment.id);
    const keys = (await createRequests()).map((r) => r.idempotencyKey);
    expect(keys).toContain(`create:${storeA.id}:${body.orderId}:1`);
    expect(keys).toContain(`create:${storeA.id}:${body.orderId}:2`);
    expect((await cashierA.get(first.body.payment.id)).body.payment.status).toBe('canceled');
  });

  it('gives racing creates of one order exactly one PaymentIntent', async () => {
    // Prepare
    const body = order();

    // Act
    const responses = await Promise.all(Array.from({ length: 5 }, () => cashierA.create(body)));

    // Assess
    const ids = new Set(responses.map((r) => r.body.payment.id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(responses.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    const executed = (await createRequests()).filter(
      (r) => r.idempotencyKey?.includes(body.orderId) && !r.replayed && r.status === 200,
    );
    expect(executed).toHaveLength(1);
  });

  it('stays within two DynamoDB requests for a new order', async () => {
    // Prepare
    const before = parts.dynamoRequests();

    // Act
    const response = await cashierA.create(order());

    // Assess
    expect(response.status).toBe(201);
    expect(parts.dynamoRequests() - before).toBeLessThanOrEqual(2);
  });

  it.each([
    ['a 500-character orderId', { orderId: 'x'.repeat(500) }, 'orderId'],
    ['a non-ISO currency', { currency: 'US Dollar' }, 'currency'],
    ['an upper-case currency', { currency: 'USD' }, 'currency'],
    ['a currency Terminal does not offer', { currency: 'xts' }, 'currency'],
    ['a negative amount', { amount: -100 }, 'amount'],
    ['a fractional amount', { amount: 12.5 }, 'amount'],
    ['an amount under Stripe’s minimum', { amount: 49 }, 'amount'],
    ['an amount over eight digits', { amount: 100_000_000 }, 'amount'],
    ['an unknown capture method', { captureMethod: 'automatic_async' }, 'captureMethod'],
    ['an unknown field', { tip: 100 }, 'tip'],
    [
      '21 metadata entries',
      { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) },
      'metadata',
    ],
  ])('refuses %s with 400 validation_error naming the field', async (_, overrides, field) => {
    // Act
    const response = await cashierA.create(order(overrides));

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_error');
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it.each([
    ['a malformed body', '{"orderId": "o-1", ', { 'content-type': 'application/json' }, 400, 'invalid_json'],
    [
      'a form body',
      'orderId=o-1',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      'unsupported_media_type',
    ],
  ])('refuses %s', async (_, body, headers, status, code) => {
    // Act
    const response = await invoke(
      create,
      apiEvent({ method: 'POST', route: '/payments', body, headers, claims: claimsFor([storeA.id]) }),
    );

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it('answers a request without a token 401', async () => {
    // Act
    const response = await apiClient(null).create(order());

    // Assess
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthorized');
  });

  it('refuses a payment for another location: 403 forbidden', async () => {
    // Act
    const response = await cashierB.create(order());

    // Assess
    expect(response.status).toBe(403);
    expect(response.body.error).toEqual({
      code: 'forbidden',
      message: expect.any(String),
      retryable: false,
      requestId: expect.any(String),
    });
  });
});

describe('POST /payments with readerId', () => {
  it('creates and processes at once: 201 with the reader showing the amount', async () => {
    // Act
    const response = await cashierA.create(order({ readerId: storeA.readers[0] }));

    // Assess
    expect(response.status).toBe(201);
    expect(response.body.payment).toMatchObject({
      readerId: storeA.readers[0],
      attempts: 1,
      readerAction: { status: 'in_progress' },
    });
    expect(response.body.reader).toMatchObject({
      id: storeA.readers[0],
      locationId: storeA.id,
      status: 'online',
      action: { type: 'process_payment_intent', status: 'in_progress', paymentIntentId: response.body.payment.id },
    });
    await cashierA.cancel(response.body.payment.id);
  });

  it('processes a repeated create on its reader only once', async () => {
    // Prepare
    const body = order({ readerId: storeA.readers[1] });
    const first = await cashierA.create(body);

    // Act
    const again = await cashierA.create(body);

    // Assess
    expect(again.status).toBe(200);
    expect(again.body.payment).toMatchObject({
      id: first.body.payment.id,
      attempts: 1,
      readerAction: { status: 'in_progress' },
    });
    await cashierA.cancel(first.body.payment.id);
  });

  it('keeps the payment when the reader is busy and says so: 409 reader_busy with the payment', async () => {
    // Prepare
    const occupying = await cashierA.create(order({ readerId: storeA.readers[0] }));

    // Act
    const response = await cashierA.create(order({ readerId: storeA.readers[0] }));

    // Assess
    expect(response.status).toBe(409);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect(response.body.payment).toMatchObject({ status: 'requires_payment_method', attempts: 0 });
    await cashierA.cancel(occupying.body.payment.id);
    const retried = await cashierA.process(response.body.payment.id, { readerId: storeA.readers[0] });
    expect(retried.status).toBe(202);
    await cashierA.cancel(response.body.payment.id);
  });

  it.each([['an unknown reader', 'tmr_doesnotexist', 404, 'reader_not_found']])(
    'refuses %s before creating anything',
    async (_, reader, status, code) => {
      // Prepare
      const body = order({ readerId: reader });
      const before = (await createRequests()).length;

      // Act
      const response = await cashierA.create(body);

      // Assess
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
      expect((await createRequests()).length).toBe(before);
    },
  );
});

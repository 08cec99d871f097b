import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import {
  claimsFor,
  emulatorControl,
  idleReader,
  type LocalParts,
  presentCard,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId, paymentThroughReader } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let cashierA: ApiClient;
let readerA1: string;
let readerA2: string;
const stripe = () => createStripeClient('sk_test_integration', parts.emulator.url);

beforeAll(async () => {
  parts = await startLocalParts();
  storeA = parts.locations[0]!;
  [readerA1, readerA2] = storeA.readers as [string, string];
  cashierA = apiClient(claimsFor([storeA.id]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  await emulatorControl(parts.emulator, '/_emulator/config', { authorizationDelayMs: 50 });
  for (const reader of [readerA1, readerA2]) await idleReader(parts.emulator, reader);
});

const authorized = (reader = readerA1) =>
  paymentThroughReader(cashierA, parts.emulator.url, {
    locationId: storeA.id,
    readerId: reader,
    captureMethod: 'manual',
  });

async function newPayment() {
  const response = await cashierA.create({
    orderId: newOrderId(),
    locationId: storeA.id,
    amount: 1299,
    currency: 'usd',
  });
  return response.body.payment;
}

const executed = async (path: string) =>
  (await emulatorRequests(parts.emulator.url)).filter(
    (r) => r.method === 'POST' && r.path === path && !r.replayed && r.status === 200,
  );

describe('POST /payments/{id}/capture', () => {
  it('captures an authorized payment in two DynamoDB requests: 200 succeeded', async () => {
    // Prepare
    const payment = await authorized();
    const before = parts.dynamoRequests();

    // Act
    const response = await cashierA.capture(payment.id);

    // Assess
    expect(payment).toMatchObject({
      status: 'requires_capture',
      amountCapturable: 1299,
      card: { brand: 'visa', last4: '4242' },
    });
    expect(payment.captureBefore).toEqual(expect.any(String));
    expect(response.status).toBe(200);
    expect(response.body.payment).toMatchObject({
      status: 'succeeded',
      amountReceived: 1299,
      amountCapturable: 0,
      captureBefore: null,
    });
    expect(parts.dynamoRequests() - before).toBeLessThanOrEqual(2);
  });

  it('captures part of the amount', async () => {
    // Prepare
    const payment = await authorized();

    // Act
    const response = await cashierA.capture(payment.id, { amountToCapture: 1000 });

    // Assess
    expect(response.body.payment).toMatchObject({ status: 'succeeded', amountReceived: 1000 });
  });

  it('answers a second capture with the captured payment and captures nothing more', async () => {
    // Prepare
    const payment = await authorized();
    await cashierA.capture(payment.id);

    // Act
    const again = await cashierA.capture(payment.id);

    // Assess
    expect(again.status).toBe(200);
    expect(again.body.payment.status).toBe('succeeded');
    expect(await executed(`/v1/payment_intents/${payment.id}/capture`)).toHaveLength(1);
  });

  it('gives racing captures one capture at Stripe and the same answer', async () => {
    // Prepare
    const payment = await authorized();

    // Act
    const responses = await Promise.all([1, 2, 3].map(() => cashierA.capture(payment.id)));

    // Assess
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(responses.every((r) => r.body.payment.status === 'succeeded')).toBe(true);
    expect(await executed(`/v1/payment_intents/${payment.id}/capture`)).toHaveLength(1);
    expect((await stripe().paymentIntents.retrieve(payment.id)).amount_received).toBe(1299);
  });

  it('lets a capture racing a cancel have exactly one outcome', async () => {
    // Prepare
    const payment = await authorized();

    // Act
    const [captured, canceled] = await Promise.all([cashierA.capture(payment.id), cashierA.cancel(payment.id)]);

    // Assess
    const stripeStatus = (await stripe().paymentIntents.retrieve(payment.id)).status;
    const stored = (await cashierA.get(payment.id)).body.payment.status;
    expect(stored).toBe(stripeStatus);
    if (stripeStatus === 'succeeded') {
      expect([captured.status, canceled.status]).toEqual([200, 409]);
      expect(canceled.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'succeeded' } });
    } else {
      expect(stripeStatus).toBe('canceled');
      expect([captured.status, canceled.status]).toEqual([409, 200]);
      expect(captured.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'canceled' } });
    }
  });

  it.each([
    ['before authorization', 'new', {}, 409, 'invalid_state'],
    ['more than is capturable', 'authorized', { amountToCapture: 5000 }, 400, 'validation_error'],
    ['an unknown payment', 'missing', {}, 404, 'payment_not_found'],
  ])('refuses a capture %s', async (_, kind, body, status, code) => {
    // Prepare
    const id =
      kind === 'missing' ? 'pi_doesnotexist' : kind === 'new' ? (await newPayment()).id : (await authorized()).id;

    // Act
    const response = await cashierA.capture(id, body);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it('refuses to capture an authorization that expired', async () => {
    // Prepare
    await emulatorControl(parts.emulator, '/_emulator/config', { captureWindowSeconds: 1 });
    const payment = await authorized();
    await emulatorControls(parts.emulator.url).advanceClock(1.5);

    // Act
    const response = await cashierA.capture(payment.id);
    await emulatorControl(parts.emulator, '/_emulator/config', { captureWindowSeconds: 172_800 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'canceled' } });
    expect((await cashierA.get(payment.id)).body.payment.flags).toContain('authorization_expired');
  });
});

describe('POST /payments/{id}/cancel', () => {
  it('cancels the reader action first, then the payment', async () => {
    // Prepare
    const payment = (
      await cashierA.create({
        orderId: newOrderId(),
        locationId: storeA.id,
        amount: 1299,
        currency: 'usd',
        readerId: readerA2,
      })
    ).body.payment;

    // Act
    const response = await cashierA.cancel(payment.id, { reason: 'requested_by_customer' });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.payment).toMatchObject({
      status: 'canceled',
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect((await stripe().terminal.readers.retrieve(readerA2)) as { action: unknown }).toMatchObject({ action: null });
  });

  it('answers a second cancel, and racing cancels, with the canceled payment', async () => {
    // Prepare
    const payment = await newPayment();

    // Act
    const racing = await Promise.all([cashierA.cancel(payment.id), cashierA.cancel(payment.id)]);
    const again = await cashierA.cancel(payment.id);

    // Assess
    expect([...racing, again].map((r) => r.status)).toEqual([200, 200, 200]);
    expect(again.body.payment.status).toBe('canceled');
    expect(await executed(`/v1/payment_intents/${payment.id}/cancel`)).toHaveLength(1);
  });

  it('releases an authorization’s hold', async () => {
    // Prepare
    const payment = await authorized();

    // Act
    const response = await cashierA.cancel(payment.id);

    // Assess
    expect(response.body.payment).toMatchObject({ status: 'canceled', amountCapturable: 0 });
  });

  it('refuses to cancel a succeeded payment: 409 invalid_state (refund it instead)', async () => {
    // Prepare
    const payment = await authorized();
    await cashierA.capture(payment.id);

    // Act
    const response = await cashierA.cancel(payment.id);

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'succeeded' } });
    expect(response.body.error.message).toMatch(/refund/i);
  });

  it('reports a card being authorized as 409 reader_busy, and cancels nothing', async () => {
    // Prepare
    await emulatorControl(parts.emulator, '/_emulator/config', { authorizationDelayMs: 4_000 });
    const payment = (
      await cashierA.create({
        orderId: newOrderId(),
        locationId: storeA.id,
        amount: 1299,
        currency: 'usd',
        readerId: readerA1,
      })
    ).body.payment;
    await presentCard(parts.emulator, readerA1);

    // Act
    const response = await cashierA.cancel(payment.id);

    // Assess
    expect(response.status).toBe(409);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect((await stripe().paymentIntents.retrieve(payment.id)).status).not.toBe('canceled');
  });
});

describe('PATCH /payments/{id}', () => {
  it('changes the amount of a payment not yet authorized', async () => {
    // Prepare
    const payment = await newPayment();

    // Act
    const response = await cashierA.update(payment.id, { amount: 1899 });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.payment.amount).toBe(1899);
    expect((await stripe().paymentIntents.retrieve(payment.id)).amount).toBe(1899);
  });

  it('cancels the reader action showing the old amount; the payment is then processed again', async () => {
    // Prepare
    const payment = (
      await cashierA.create({
        orderId: newOrderId(),
        locationId: storeA.id,
        amount: 1299,
        currency: 'usd',
        readerId: readerA2,
      })
    ).body.payment;

    // Act
    const updated = await cashierA.update(payment.id, { amount: 2099 });
    const reprocessed = await cashierA.process(payment.id, { readerId: readerA2 });

    // Assess
    expect(updated.body.payment).toMatchObject({
      amount: 2099,
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect(reprocessed.status).toBe(202);
    expect(reprocessed.body.payment).toMatchObject({
      amount: 2099,
      attempts: 2,
      readerAction: { status: 'in_progress' },
    });
  });

  it.each([
    ['an authorized payment', 'authorized', { amount: 1500 }, 409, 'invalid_state'],
    ['an amount under the minimum', 'new', { amount: 10 }, 400, 'validation_error'],
    ['an unknown field', 'new', { amount: 1500, currency: 'eur' }, 400, 'validation_error'],
    ['an unknown payment', 'missing', { amount: 1500 }, 404, 'payment_not_found'],
  ])('refuses %s', async (_, kind, body, status, code) => {
    // Prepare
    const id =
      kind === 'missing' ? 'pi_doesnotexist' : kind === 'new' ? (await newPayment()).id : (await authorized()).id;

    // Act
    const response = await cashierA.update(id, body);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it('reports a card being authorized as 409 reader_busy', async () => {
    // Prepare
    await emulatorControl(parts.emulator, '/_emulator/config', { authorizationDelayMs: 4_000 });
    const payment = (
      await cashierA.create({
        orderId: newOrderId(),
        locationId: storeA.id,
        amount: 1299,
        currency: 'usd',
        readerId: readerA1,
      })
    ).body.payment;
    await presentCard(parts.emulator, readerA1);

    // Act
    const response = await cashierA.update(payment.id, { amount: 1500 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('reader_busy');
  });

  it('reports an offline reader holding the payment as 503 reader_offline', async () => {
    // Prepare
    const payment = (
      await cashierA.create({
        orderId: newOrderId(),
        locationId: storeA.id,
        amount: 1299,
        currency: 'usd',
        readerId: readerA2,
      })
    ).body.payment;
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/offline`);

    // Act
    const response = await cashierA.update(payment.id, { amount: 1500 });
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/online`);

    // Assess
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('reader_offline');
  });
});

describe('GET /payments/{id}', () => {
  it('answers from the table in one DynamoDB request, and reconciles from Stripe with ?refresh=true', async () => {
    // Prepare
    const payment = (
      await cashierA.create({
        orderId: newOrderId(),
        locationId: storeA.id,
        amount: 1299,
        currency: 'usd',
        captureMethod: 'manual',
        readerId: readerA1,
      })
    ).body.payment;
    await presentCard(parts.emulator, readerA1);
    // The authorization completes once its delay has passed.
    await emulatorControls(parts.emulator.url).advanceClock(0.3);
    const before = parts.dynamoRequests();

    // Act
    const stored = await cashierA.get(payment.id);
    const reads = parts.dynamoRequests() - before;
    const refreshed = await cashierA.get(payment.id, { refresh: 'true' });

    // Assess
    expect(reads).toBe(1);
    expect(stored.body.payment).toMatchObject({
      status: 'requires_payment_method',
      readerAction: { status: 'in_progress' },
    });
    expect(refreshed.body.payment).toMatchObject({
      status: 'requires_capture',
      readerAction: { status: 'succeeded' },
      card: { brand: 'visa', last4: '4242' },
    });
  });

  it.each([
    ['an unknown payment', 'pi_doesnotexist', {}, 404, 'payment_not_found'],
    ['an unknown query parameter', 'pi_doesnotexist', { expand: 'all' }, 400, 'validation_error'],
    ['a refresh that is not a boolean', 'pi_doesnotexist', { refresh: 'yes' }, 400, 'validation_error'],
  ])('refuses %s', async (_, id, query, status, code) => {
    // Act
    const response = await cashierA.get(id, query);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { refreshPayment } from '../../../shared/operations/refresh-payment.ts';
import { getPayment } from '../../../shared/store/payments.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import {
  claimsFor,
  clearEmulatorFaults,
  emulatorControl,
  idleReader,
  type LocalParts,
  presentCard,
  readerTakesCommandUnseen,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, eventually, newOrderId, paymentThroughReader } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let cashierA: ApiClient;
let readerA1: string;
let readerA2: string;

beforeAll(async () => {
  parts = await startLocalParts();
  storeA = parts.locations[0]!;
  [readerA1, readerA2] = storeA.readers as [string, string];
  cashierA = apiClient(claimsFor([storeA.id]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  // Each test starts with idle, online readers.
  for (const reader of [readerA1, readerA2]) await idleReader(parts.emulator, reader);
});

async function newPayment(overrides: Record<string, unknown> = {}) {
  const response = await cashierA.create({
    orderId: newOrderId(),
    locationId: storeA.id,
    amount: 2500,
    currency: 'usd',
    captureMethod: 'automatic',
    ...overrides,
  });
  return response.body.payment;
}

const processRequests = async (paymentId: string) =>
  (await emulatorRequests(parts.emulator.url)).filter(
    (r) => r.path.endsWith('/process_payment_intent') && r.idempotencyKey?.startsWith(`process:${paymentId}:`),
  );

describe('POST /payments/{id}/process', () => {
  it('shows the payment on the reader: 202 with the action in progress', async () => {
    // Prepare
    const payment = await newPayment();

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA1, enableCustomerCancellation: true });

    // Assess
    expect(response.status).toBe(202);
    expect(response.body.payment).toMatchObject({
      id: payment.id,
      readerId: readerA1,
      attempts: 1,
      readerAction: { status: 'in_progress' },
    });
    expect(response.body.reader.action).toMatchObject({ status: 'in_progress', paymentIntentId: payment.id });
    expect((await processRequests(payment.id)).map((r) => r.idempotencyKey)).toEqual([`process:${payment.id}:1:0`]);
  });

  it('processes the same PaymentIntent again after a decline, and attempts grows', async () => {
    // Prepare
    const declined = await paymentThroughReader(cashierA, parts.emulator.url, {
      locationId: storeA.id,
      readerId: readerA1,
      captureMethod: 'automatic',
      cardNumber: '4000000000009995',
    });

    // Act
    const retried = await cashierA.process(declined.id, { readerId: readerA1 });
    await presentCard(parts.emulator, readerA1);
    const settled = await eventually(
      () => cashierA.get(declined.id, { refresh: 'true' }),
      (r) => r.body.payment.status === 'succeeded',
    );

    // Assess
    expect(declined).toMatchObject({
      status: 'requires_payment_method',
      attempts: 1,
      readerAction: { status: 'failed', failureCode: 'card_declined' },
      lastPaymentError: { code: 'card_declined', declineCode: 'insufficient_funds' },
    });
    expect(retried.status).toBe(202);
    expect(retried.body.payment).toMatchObject({
      id: declined.id,
      attempts: 2,
      readerAction: { status: 'in_progress' },
    });
    expect(settled.body.payment).toMatchObject({
      id: declined.id,
      status: 'succeeded',
      attempts: 2,
      amountReceived: 1299,
      readerAction: { status: 'succeeded' },
      card: { last4: '4242' },
    });
  });

  it('answers a repeated process on the same reader with the running action, sending nothing new', async () => {
    // Prepare
    const payment = await newPayment();
    await cashierA.process(payment.id, { readerId: readerA1 });

    // Act
    const again = await cashierA.process(payment.id, { readerId: readerA1 });

    // Assess
    expect(again.status).toBe(202);
    expect(again.body.payment.attempts).toBe(1);
    expect(await processRequests(payment.id)).toHaveLength(1);
  });

  it('refuses a payment already running on another reader: 409 invalid_state naming that reader', async () => {
    // Prepare
    const payment = await newPayment();
    await cashierA.process(payment.id, { readerId: readerA1 });

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA2 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'invalid_state',
      details: { status: 'requires_payment_method', readerId: readerA1 },
    });
  });

  it('refuses a payment that already succeeded: 409 invalid_state with its status', async () => {
    // Prepare
    const paid = await paymentThroughReader(cashierA, parts.emulator.url, {
      locationId: storeA.id,
      readerId: readerA1,
      captureMethod: 'automatic',
    });

    // Act
    const response = await cashierA.process(paid.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'succeeded' } });
  });

  it('reports a busy reader: 409 reader_busy, retryable, with Retry-After', async () => {
    // Prepare
    const first = await newPayment();
    const second = await newPayment();
    await cashierA.process(first.id, { readerId: readerA1 });

    // Act
    const response = await cashierA.process(second.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect((await cashierA.get(second.id)).body.payment).toMatchObject({ attempts: 0, readerAction: null });
  });

  it('uses a fresh key after a refused command, so the retry reaches the reader', async () => {
    // Prepare
    const first = await newPayment();
    const second = await newPayment();
    await cashierA.process(first.id, { readerId: readerA1 });
    await cashierA.process(second.id, { readerId: readerA1 });
    await cashierA.cancel(first.id);

    // Act
    const retried = await cashierA.process(second.id, { readerId: readerA1 });

    // Assess
    expect(retried.status).toBe(202);
    expect((await processRequests(second.id)).map((r) => r.idempotencyKey)).toEqual([
      `process:${second.id}:1:0`,
      `process:${second.id}:1:1`,
    ]);
  });

  it('records a decline on refresh even when the PaymentIntent was read a moment before the reader declined', async () => {
    // Prepare: the payment on the reader, the PaymentIntent as Stripe answered just before the card was declined
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 1299,
      currency: 'usd',
      readerId: readerA1,
    });
    const id = created.body.payment.id as string;
    const stripe = await parts.deps.stripe();
    const before = await stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    await presentCard(parts.emulator, readerA1, '4000000000009995');
    await eventually(
      async () => (await stripe.terminal.readers.retrieve(readerA1)) as { action?: { status?: string } | null },
      (reader) => reader.action?.status === 'failed',
    );
    // The first PaymentIntent read is answered with what it held before the decline, as a read crossing it would be.
    let stale = true;
    const crossing = new Proxy(stripe, {
      get(target, property, receiver) {
        if (property !== 'paymentIntents') return Reflect.get(target, property, receiver);
        return new Proxy(target.paymentIntents, {
          get(intents, name, intentsReceiver) {
            if (name !== 'retrieve') return Reflect.get(intents, name, intentsReceiver);
            return (...args: Parameters<typeof intents.retrieve>) => {
              if (!stale) return intents.retrieve(...args);
              stale = false;
              return Promise.resolve(before);
            };
          },
        });
      },
    });
    const stored = (await getPayment(parts.deps.store, id))!;

    // Act
    const refreshed = await refreshPayment({ ...parts.deps, stripe: async () => crossing }, stored);

    // Assess
    expect(stale).toBe(false);
    expect(refreshed).toMatchObject({
      status: 'requires_payment_method',
      readerAction: { status: 'failed', failureCode: 'card_declined' },
      lastPaymentError: { code: 'card_declined', declineCode: 'insufficient_funds' },
    });
  });

  it('reports an offline reader: 503 reader_offline, retryable', async () => {
    // Prepare
    const payment = await newPayment();
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/offline`);

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA2 });

    // Assess
    expect(response.status).toBe(503);
    expect(response.body.error).toMatchObject({ code: 'reader_offline', retryable: true });
  });

  it('treats a timeout after which the reader holds the payment as success (false negative)', async () => {
    // Prepare
    const payment = await newPayment();
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA1}/next-command`, {
      fault: 'timeout_after_delivery',
    });

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(202);
    expect(response.body.payment).toMatchObject({ attempts: 1, readerAction: { status: 'in_progress' } });
    expect(response.body.reader.action).toMatchObject({ status: 'in_progress', paymentIntentId: payment.id });
    expect(await processRequests(payment.id)).toHaveLength(1);
  });

  it('keeps the attempt when the reader cannot be read after a timeout: the command may have reached it', async () => {
    // Prepare: the reader takes the command but Stripe answers with a timeout, and every read of the reader fails
    const payment = await newPayment();
    expect((await cashierA.getReader(readerA1)).status).toBe(200);
    await readerTakesCommandUnseen(parts.emulator, readerA1);

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA1 });
    await clearEmulatorFaults(parts.emulator);
    const stored = await getPayment(parts.deps.store, payment.id);
    const retried = await cashierA.process(payment.id, { readerId: readerA1 });

    // Assess: not answered as refused, the attempt kept on the reader; asked again, the reader shows it running
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'reader_timeout', retryable: true });
    expect(stored).toMatchObject({ readerId: readerA1, attempts: 1 });
    expect(retried.status).toBe(202);
    expect(retried.body.payment).toMatchObject({ attempts: 1, readerAction: { status: 'in_progress' } });
  });

  it('retries a timed-out command under a new key after checking the reader', async () => {
    // Prepare
    const payment = await newPayment();
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA1}/next-command`, { fault: 'timeout' });

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(202);
    const requests = await processRequests(payment.id);
    expect(requests.map((r) => r.idempotencyKey)).toEqual([`process:${payment.id}:1:0`, `process:${payment.id}:1:1`]);
    const readerReads = (await emulatorRequests(parts.emulator.url)).filter(
      (r) => r.method === 'GET' && r.path === `/v1/terminal/readers/${readerA1}`,
    );
    expect(readerReads.length).toBeGreaterThanOrEqual(1);
  });

  it('gives up after its bounded retries: 504 reader_timeout, and the next request reaches the reader', async () => {
    // Prepare
    parts.configure({ READER_TIMEOUT_RETRIES: '0' });
    const payment = await newPayment();
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA1}/next-command`, { fault: 'timeout' });

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA1 }).finally(() => {
      parts.configure({ READER_TIMEOUT_RETRIES: undefined });
    });
    const retried = await cashierA.process(payment.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'reader_timeout', retryable: true });
    expect(retried.status).toBe(202);
    expect(retried.body.payment.attempts).toBe(1);
  });

  it('takes Stripe’s word when the PaymentIntent cannot be processed: 409 invalid_state with the current status', async () => {
    // Prepare
    const payment = await newPayment();
    await createStripeClient('sk_test_integration', parts.emulator.url).paymentIntents.cancel(payment.id);

    // Act
    const response = await cashierA.process(payment.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'canceled' } });
    expect((await cashierA.get(payment.id)).body.payment.status).toBe('canceled');
  });

  it.each([
    ['an unknown payment', 'pi_doesnotexist', () => readerA1, 404, 'payment_not_found'],
    ['an unknown reader', 'new', () => 'tmr_doesnotexist', 404, 'reader_not_found'],
  ])('refuses %s', async (_, paymentId, readerId, status, code) => {
    // Prepare
    const id = paymentId === 'new' ? (await newPayment()).id : paymentId;

    // Act
    const response = await cashierA.process(id, { readerId: readerId() });

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });
});

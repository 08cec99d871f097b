import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { claimsFor, emulatorControl, idleReader, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, eventually, newOrderId } from './client.ts';

let parts: LocalParts;
let stripe: Stripe;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let cashierA: ApiClient;
let cashierB: ApiClient;

beforeAll(async () => {
  parts = await startLocalParts();
  stripe = createStripeClient('sk_test_integration', parts.emulator.url);
  storeA = parts.locations[0]!;
  storeB = parts.locations[1]!;
  cashierA = apiClient(claimsFor([storeA.id]));
  cashierB = apiClient(claimsFor([storeB.id]));
  // Store A offers tips on its readers; store B does not.
  const configuration = await stripe.terminal.configurations.create({
    tipping: { usd: { percentages: [10, 15, 20], smart_tip_threshold: 1000, fixed_amounts: [100, 200, 300] } },
  });
  await stripe.terminal.locations.update(storeA.id, { configuration_overrides: configuration.id });
});
afterAll(() => parts?.close());
afterEach(async () => {
  for (const reader of [...storeA.readers, ...storeB.readers]) await idleReader(parts.emulator, reader);
});

/** Create an order's payment and show it on the reader; the customer taps, with `tip` chosen on the screen. */
async function tipped(
  cashier: ApiClient,
  store: { id: string; readers: string[] },
  options: { tip: number; captureMethod?: 'manual' | 'automatic'; process?: Record<string, unknown> },
) {
  const orderId = newOrderId();
  const readerId = store.readers[0]!;
  const created = await cashier.create({
    orderId,
    locationId: store.id,
    amount: 1000,
    currency: 'usd',
    captureMethod: options.captureMethod ?? 'manual',
  });
  const processed = await cashier.process(created.body.payment.id, { readerId, ...options.process });
  expect(processed.status).toBe(202);
  await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, { amount_tip: options.tip });
  const settled = await eventually(
    () => cashier.get(created.body.payment.id, { refresh: 'true' }),
    (response) => response.body.payment.readerAction?.status !== 'in_progress',
  );
  return { orderId, payment: settled.body.payment };
}

describe('tips chosen on the reader', () => {
  it('records the tip once in tipAmount, with amount and amountCapturable including it, and captures it', async () => {
    // Act
    const { payment } = await tipped(cashierA, storeA, { tip: 150, process: { tipping: { eligibleAmount: 1000 } } });
    const again = (await cashierA.get(payment.id, { refresh: 'true' })).body.payment;
    const captured = await cashierA.capture(payment.id);
    const atStripe = await stripe.paymentIntents.retrieve(payment.id);

    // Assess
    expect(payment).toMatchObject({ status: 'requires_capture', amount: 1150, amountCapturable: 1150, tipAmount: 150 });
    expect(again.tipAmount).toBe(150);
    expect(captured.body.payment).toMatchObject({ status: 'succeeded', amountReceived: 1150, tipAmount: 150 });
    expect(atStripe.amount_details?.tip?.amount).toBe(150);
  });

  it('treats the order sent again with its amount before the tip as the same order, not a conflict', async () => {
    // Prepare
    const { orderId, payment } = await tipped(cashierA, storeA, { tip: 200, captureMethod: 'automatic' });

    // Act
    const again = await cashierA.create({
      orderId,
      locationId: storeA.id,
      amount: 1000,
      currency: 'usd',
      captureMethod: 'automatic',
    });

    // Assess
    expect(payment).toMatchObject({ status: 'succeeded', amount: 1200, tipAmount: 200 });
    expect(again.status).toBe(200);
    expect(again.body.payment.id).toBe(payment.id);
  });

  it('takes no tip with skipTipping, nor on a reader whose location has no tipping set up', async () => {
    // Act
    const skipped = await tipped(cashierA, storeA, { tip: 150, process: { skipTipping: true } });
    const untipped = await tipped(cashierB, storeB, { tip: 150 });

    // Assess
    expect(skipped.payment).toMatchObject({ status: 'requires_capture', amount: 1000, tipAmount: 0 });
    expect(untipped.payment).toMatchObject({ status: 'requires_capture', amount: 1000, tipAmount: 0 });
  });

  it('refuses an eligible amount larger than the payment: 400 validation_error, nothing sent to the reader', async () => {
    // Prepare
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 1000,
      currency: 'usd',
    });

    // Act
    const processed = await cashierA.process(created.body.payment.id, {
      readerId: storeA.readers[0]!,
      tipping: { eligibleAmount: 1001 },
    });
    const createAndProcess = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 1000,
      currency: 'usd',
      readerId: storeA.readers[0]!,
      tipping: { eligibleAmount: 5000 },
    });

    // Assess
    for (const response of [processed, createAndProcess]) {
      expect(response.status).toBe(400);
      expect(response.body.error.details).toEqual([{ field: 'tipping.eligibleAmount', message: expect.any(String) }]);
    }
    expect((await cashierA.get(created.body.payment.id)).body.payment.attempts).toBe(0);
  });
});

describe('GET /payments/{id}/receipt', () => {
  it('prints the EMV fields, the card and how it was read, the tip and the refunds', async () => {
    // Prepare
    const { payment } = await tipped(cashierA, storeA, { tip: 100, captureMethod: 'automatic' });
    await cashierA.refund(payment.id, `receipt-${payment.id}`, { amount: 300 });
    await emulatorControl(parts.emulator, '/_emulator/clock/advance', { seconds: 1 });
    await cashierA.get(payment.id, { refresh: 'true' });

    // Act
    const response = await cashierA.receipt(payment.id);

    // Assess
    expect(response.status).toBe(200);
    const { receipt } = response.body;
    expect(receipt).toMatchObject({
      paymentId: payment.id,
      amount: 1100,
      tipAmount: 100,
      amountRefunded: 300,
      currency: 'usd',
      status: 'succeeded',
      card: { brand: 'visa', last4: '4242', readMethod: expect.any(String) },
      refunds: [{ amount: 300, status: 'succeeded' }],
    });
    for (const field of [
      'applicationPreferredName',
      'dedicatedFileName',
      'authorizationCode',
      'authorizationResponseCode',
      'accountType',
      'applicationCryptogram',
      'terminalVerificationResults',
      'transactionStatusInformation',
    ]) {
      expect(receipt.emv[field], field).toEqual(expect.any(String));
    }
  });

  it('reads Stripe first when the record has not learnt of the authorization yet (its events late)', async () => {
    // Prepare: tapped, but nothing has told the record (no webhooks here, no refresh).
    const readerId = storeB.readers[0]!;
    const created = await cashierB.create({
      orderId: newOrderId(),
      locationId: storeB.id,
      amount: 900,
      currency: 'usd',
      readerId,
    });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, {});
    await eventually(
      () => stripe.paymentIntents.retrieve(created.body.payment.id),
      (intent) => intent.status === 'succeeded',
    );
    const before = (await cashierB.get(created.body.payment.id)).body.payment;

    // Act
    const response = await cashierB.receipt(created.body.payment.id);

    // Assess
    expect(before.status).toBe('requires_payment_method');
    expect(response.status).toBe(200);
    expect(response.body.receipt).toMatchObject({ status: 'succeeded', amount: 900, card: { last4: '4242' } });
    expect((await cashierB.get(created.body.payment.id)).body.payment.status).toBe('succeeded');
  });

  it('refuses an unpaid payment and a canceled one: 409 invalid_state; another location’s: 404', async () => {
    // Prepare
    const unpaid = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 700,
      currency: 'usd',
    });
    const canceled = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 700,
      currency: 'usd',
    });
    await cashierA.cancel(canceled.body.payment.id);

    // Act
    const notYet = await cashierA.receipt(unpaid.body.payment.id);
    const gone = await cashierA.receipt(canceled.body.payment.id);
    const elsewhere = await cashierB.receipt(unpaid.body.payment.id);

    // Assess
    expect(notYet.status).toBe(409);
    expect(notYet.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'requires_payment_method' } });
    expect(gone.status).toBe(409);
    expect(elsewhere.status).toBe(404);
  });
});

describe('POST /payments/{id}/receipt/email', () => {
  it('has Stripe send its receipt to the address: 202, receiptEmail set at Stripe and on the payment', async () => {
    // Prepare
    const { payment } = await tipped(cashierA, storeA, { tip: 0, captureMethod: 'automatic' });

    // Act
    const response = await cashierA.emailReceipt(payment.id, { email: 'customer@example.com' });
    const atStripe = await stripe.paymentIntents.retrieve(payment.id);

    // Assess
    expect(response.status).toBe(202);
    expect(response.body.payment.receiptEmail).toBe('customer@example.com');
    expect(atStripe.receipt_email).toBe('customer@example.com');
  });

  it('refuses an address that is not one (400) and a canceled payment (409)', async () => {
    // Prepare
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 700,
      currency: 'usd',
    });
    await cashierA.cancel(created.body.payment.id);

    // Act
    const invalid = await cashierA.emailReceipt(created.body.payment.id, { email: 'not-an-address' });
    const canceled = await cashierA.emailReceipt(created.body.payment.id, { email: 'customer@example.com' });

    // Assess
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details).toEqual([{ field: 'email', message: expect.any(String) }]);
    expect(canceled.status).toBe(409);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import {
  claimsFor,
  clearEmulatorFaults,
  emulatorControl,
  idleReader,
  type LocalParts,
  readerTakesCommandUnseen,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, eventually, newOrderId, paymentThroughReader } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let cashierA: ApiClient;
let cashierB: ApiClient;
let readerA1: string;
let readerA2: string;

beforeAll(async () => {
  parts = await startLocalParts();
  storeA = parts.locations[0]!;
  storeB = parts.locations[1]!;
  [readerA1, readerA2] = storeA.readers as [string, string];
  cashierA = apiClient(claimsFor([storeA.id]));
  cashierB = apiClient(claimsFor([storeB.id]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  await emulatorControl(parts.emulator, '/_emulator/config', { authorizationDelayMs: 50 });
  for (const reader of [readerA1, readerA2]) await idleReader(parts.emulator, reader);
});

const newKey = () => `refund-${randomUUID()}`;

/** A payment of `amount` taken on reader A1 and captured at once. */
const paid = (amount = 1299) =>
  paymentThroughReader(cashierA, parts.emulator.url, {
    locationId: storeA.id,
    readerId: readerA1,
    captureMethod: 'automatic',
    amount,
  });

/** Let the emulator settle its pending refunds (its clock, not ours, moves), then re-read the payment. */
async function settled(paymentId: string) {
  await emulatorControls(parts.emulator.url).advanceClock(1);
  return (await cashierA.get(paymentId, { refresh: 'true' })).body.payment;
}

const refundsCreated = async () =>
  (await emulatorRequests(parts.emulator.url)).filter(
    (r) => r.method === 'POST' && r.path === '/v1/refunds' && !r.replayed && r.status === 200,
  );

/** Present a card of `type` on a reader (Stripe's test helper). */
async function present(readerId: string, type: 'card_present' | 'interac_present' = 'card_present') {
  const response = await fetch(
    `${parts.emulator.url}/v1/test_helpers/terminal/readers/${readerId}/present_payment_method`,
    {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_integration', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ type }).toString(),
    },
  );
  if (!response.ok) throw new Error(`present_payment_method: ${response.status} ${await response.text()}`);
}

describe('POST /payments/{id}/refunds online', () => {
  it('refunds all that remains: 201 pending, then succeeded with amountRefunded', async () => {
    // Prepare
    const payment = await paid();

    // Act
    const response = await cashierA.refund(payment.id, newKey(), {});
    const after = await settled(payment.id);

    // Assess
    expect(response.status).toBe(201);
    expect(response.body.refund).toMatchObject({
      id: expect.stringMatching(/^re_/),
      paymentId: payment.id,
      amount: 1299,
      currency: 'usd',
      status: 'pending',
      method: 'api',
      readerId: null,
      failureReason: null,
    });
    expect(response.body.payment.refunds).toHaveLength(1);
    expect(after.amountRefunded).toBe(1299);
    expect(after.refunds).toMatchObject([{ id: response.body.refund.id, status: 'succeeded' }]);
    expect(after.status).toBe('succeeded');
  });

  it('makes several partial refunds, then refuses more than remains with the refundable amount', async () => {
    // Prepare
    const payment = await paid(1000);

    // Act
    const first = await cashierA.refund(payment.id, newKey(), { amount: 300, reason: 'requested_by_customer' });
    const second = await cashierA.refund(payment.id, newKey(), { amount: 500 });
    const tooMuch = await cashierA.refund(payment.id, newKey(), { amount: 201 });
    const rest = await cashierA.refund(payment.id, newKey(), {});
    const nothingLeft = await cashierA.refund(payment.id, newKey(), {});
    const after = await settled(payment.id);
    const listed = await cashierA.listRefunds(payment.id);

    // Assess
    expect([first.status, second.status, rest.status]).toEqual([201, 201, 201]);
    expect(first.body.refund.reason).toBe('requested_by_customer');
    expect(rest.body.refund.amount).toBe(200);
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error).toMatchObject({ code: 'refund_exceeds_balance', details: { refundable: 200 } });
    expect(nothingLeft.status).toBe(409);
    expect(nothingLeft.body.error).toMatchObject({ code: 'refund_exceeds_balance', details: { refundable: 0 } });
    expect(after.amountRefunded).toBe(1000);
    expect(listed.status).toBe(200);
    expect(listed.body.refunds.map((r: { amount: number }) => r.amount)).toEqual([300, 500, 200]);
  });

  it('answers the same Idempotency-Key again with the same refund: 200, no second refund at Stripe', async () => {
    // Prepare
    const payment = await paid();
    const key = newKey();
    const before = (await refundsCreated()).length;

    // Act
    const first = await cashierA.refund(payment.id, key, { amount: 400 });
    const again = await cashierA.refund(payment.id, key, { amount: 400 });

    // Assess
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.refund.id).toBe(first.body.refund.id);
    expect(again.body.payment.refunds).toHaveLength(1);
    expect((await refundsCreated()).length - before).toBe(1);
  });

  it('refuses the same Idempotency-Key with another body: 409 idempotency_key_reused', async () => {
    // Prepare
    const payment = await paid();
    const key = newKey();
    const first = await cashierA.refund(payment.id, key, { amount: 400 });

    // Act
    const other = await cashierA.refund(payment.id, key, { amount: 500 });

    // Assess
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({
      code: 'idempotency_key_reused',
      details: { refundId: first.body.refund.id },
    });
  });

  it('needs an Idempotency-Key of 1 to 255 visible characters: 400 validation_error', async () => {
    // Prepare
    const payment = await paid();

    // Act
    const missing = await cashierA.refund(payment.id, null, {});
    const overlong = await cashierA.refund(payment.id, 'k'.repeat(256), {});
    const withSpace = await cashierA.refund(payment.id, 'two words', {});
    const longest = await cashierA.refund(payment.id, 'k'.repeat(255), { amount: 100 });

    // Assess
    for (const response of [missing, overlong, withSpace]) {
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({
        code: 'validation_error',
        details: [{ field: 'Idempotency-Key', message: expect.any(String) }],
      });
    }
    expect(longest.status).toBe(201);
    expect(longest.body.refund.idempotencyKey).toBe('k'.repeat(255));
  });

  it('refuses a zero, negative or fractional amount: 400 validation_error', async () => {
    // Prepare
    const payment = await paid();

    // Act
    const answers = await Promise.all(
      [0, -5, 10.5, '100'].map((amount) => cashierA.refund(payment.id, newKey(), { amount })),
    );

    // Assess
    for (const response of answers) {
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('validation_error');
    }
    expect((await cashierA.listRefunds(payment.id)).body.refunds).toEqual([]);
  });

  it('refuses an uncaptured payment (cancel it instead) and a canceled one: 409 invalid_state', async () => {
    // Prepare
    const authorized = await paymentThroughReader(cashierA, parts.emulator.url, {
      locationId: storeA.id,
      readerId: readerA1,
      captureMethod: 'manual',
    });
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 700,
      currency: 'usd',
    });
    await cashierA.cancel(created.body.payment.id);

    // Act
    const uncaptured = await cashierA.refund(authorized.id, newKey(), {});
    const canceled = await cashierA.refund(created.body.payment.id, newKey(), {});

    // Assess
    expect(uncaptured.status).toBe(409);
    expect(uncaptured.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'requires_capture' } });
    expect(uncaptured.body.error.message).toMatch(/cancel/i);
    expect(canceled.status).toBe(409);
    expect(canceled.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'canceled' } });
  });

  it("answers another location's payment as not found: 404, nothing refunded", async () => {
    // Prepare
    const payment = await paid();
    const before = (await refundsCreated()).length;

    // Act
    const refund = await cashierB.refund(payment.id, newKey(), {});
    const list = await cashierB.listRefunds(payment.id);

    // Assess
    expect(refund.status).toBe(404);
    expect(refund.body.error.code).toBe('payment_not_found');
    expect(list.status).toBe(404);
    expect((await refundsCreated()).length).toBe(before);
  });

  it('lets exactly one of two racing refunds whose sum exceeds the balance through', async () => {
    // Prepare
    const payment = await paid(1000);

    // Act
    const answers = await Promise.all([
      cashierA.refund(payment.id, newKey(), { amount: 600 }),
      cashierA.refund(payment.id, newKey(), { amount: 600 }),
    ]);
    const after = await settled(payment.id);

    // Assess
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.status === 409)?.body.error.code).toBe('refund_exceeds_balance');
    expect(after.refunds).toHaveLength(1);
    expect(after.amountRefunded).toBe(600);
  });

  it('records a refund that fails at Stripe, and gives its amount back to refund', async () => {
    // Prepare
    const payment = await paid(1000);
    await emulatorControl(parts.emulator, '/_emulator/refunds/next', { fault: 'fail', failureReason: 'declined' });

    // Act
    const response = await cashierA.refund(payment.id, newKey(), { amount: 1000 });
    const after = await settled(payment.id);
    const again = await cashierA.refund(payment.id, newKey(), { amount: 1000 });

    // Assess
    expect(response.status).toBe(201);
    expect(after.refunds).toMatchObject([{ status: 'failed', failureReason: 'declined' }]);
    expect(after.amountRefunded).toBe(0);
    expect(again.status).toBe(201);
  });

  it('finishes a refund whose Stripe answer was lost when the same key comes again', async () => {
    // Prepare
    const payment = await paid();
    const key = newKey();
    await emulatorControl(parts.emulator, '/_emulator/faults', {
      method: 'POST',
      path: '/v1/refunds',
      fault: 'server_error',
      count: 10,
      afterExecuting: true,
    });

    // Act
    const lost = await cashierA.refund(payment.id, key, { amount: 500 });
    const pendingClaim = (await cashierA.listRefunds(payment.id)).body.refunds;
    await fetch(`${parts.emulator.url}/_emulator/faults`, { method: 'DELETE' });
    const again = await cashierA.refund(payment.id, key, { amount: 500 });
    const after = await settled(payment.id);

    // Assess
    expect([502, 504]).toContain(lost.status);
    expect(lost.body.error.retryable).toBe(true);
    expect(pendingClaim).toMatchObject([{ id: null, status: 'pending', amount: 500, idempotencyKey: key }]);
    expect(again.status).toBe(200);
    expect(again.body.refund).toMatchObject({ id: expect.stringMatching(/^re_/), amount: 500 });
    expect(after.refunds).toHaveLength(1);
    expect(after.amountRefunded).toBe(500);
    const made = (await emulatorRequests(parts.emulator.url)).filter(
      (r) => r.path === '/v1/refunds' && r.method === 'POST' && r.idempotencyKey?.includes(payment.id),
    );
    expect(new Set(made.map((r) => r.idempotencyKey)).size).toBe(1);
  });
});

describe('POST /payments/{id}/refunds on a reader', () => {
  it('asks for the card on the reader: 202, then the refund is made when the card is presented', async () => {
    // Prepare
    const payment = await paid();

    // Act
    const response = await cashierA.refund(payment.id, newKey(), { readerId: readerA2, amount: 500 });
    await present(readerA2);
    const after = await eventually(
      () => settled(payment.id),
      (p) => p.refunds[0]?.status === 'succeeded',
    );

    // Assess
    expect(response.status).toBe(202);
    expect(response.body.refund).toMatchObject({
      id: null,
      status: 'pending',
      method: 'reader',
      readerId: readerA2,
      readerAction: { type: 'refund_payment', status: 'in_progress' },
    });
    expect(response.body.reader).toMatchObject({
      id: readerA2,
      action: { type: 'refund_payment', status: 'in_progress', paymentIntentId: payment.id },
    });
    expect(after.refunds[0]).toMatchObject({
      id: expect.stringMatching(/^re_/),
      status: 'succeeded',
      readerAction: { status: 'succeeded' },
    });
    expect(after.amountRefunded).toBe(500);
  });

  it('reports a busy reader (409 reader_busy) and keeps no claim', async () => {
    // Prepare
    const payment = await paid();
    const other = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 800,
      currency: 'usd',
      readerId: readerA2,
    });
    expect(other.status).toBe(201);

    // Act
    const response = await cashierA.refund(payment.id, newKey(), { readerId: readerA2 });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect((await cashierA.listRefunds(payment.id)).body.refunds).toEqual([]);
  });

  it('reports an offline reader: 503 reader_offline, and the same key works once it is back', async () => {
    // Prepare
    const payment = await paid();
    const key = newKey();
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/offline`);

    // Act
    const offline = await cashierA.refund(payment.id, key, { readerId: readerA2 });
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/online`);
    const retried = await cashierA.refund(payment.id, key, { readerId: readerA2 });

    // Assess
    expect(offline.status).toBe(503);
    expect(offline.body.error.code).toBe('reader_offline');
    expect(retried.status).toBe(202);
  });

  it('treats a timeout after which the reader holds the refund as success (false negative)', async () => {
    // Prepare
    const payment = await paid();
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/next-command`, {
      fault: 'timeout_after_delivery',
    });

    // Act
    const response = await cashierA.refund(payment.id, newKey(), { readerId: readerA2 });

    // Assess
    expect(response.status).toBe(202);
    expect(response.body.reader.action).toMatchObject({ type: 'refund_payment', status: 'in_progress' });
  });

  it('keeps the refund claimed when the reader cannot be read after a timeout: the command may have reached it', async () => {
    // Prepare: the reader takes the refund command, Stripe answers with a timeout, and every read of the reader fails
    const payment = await paid();
    const key = newKey();
    expect((await cashierA.getReader(readerA2)).status).toBe(200);
    await readerTakesCommandUnseen(parts.emulator, readerA2);

    // Act
    const response = await cashierA.refund(payment.id, key, { readerId: readerA2 });
    await clearEmulatorFaults(parts.emulator);
    const another = await cashierA.refund(payment.id, newKey(), {});

    // Assess: not refused, the claim kept, so the refundable balance still holds the reader's refund back
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'reader_timeout', retryable: true });
    const stored = (await cashierA.get(payment.id)).body.payment;
    expect(stored.refunds).toHaveLength(1);
    expect(stored.refunds[0]).toMatchObject({ status: 'pending', amount: stored.amount });
    expect(another.status).toBe(409);
    expect(another.body.error.code).toBe('refund_exceeds_balance');
  });

  it('records a customer who cancels on the reader: the refund is canceled and its amount refundable again', async () => {
    // Prepare
    const payment = await paid();
    const started = await cashierA.refund(payment.id, newKey(), {
      readerId: readerA2,
      enableCustomerCancellation: true,
    });

    // Act
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/customer-cancel`);
    const after = (await cashierA.get(payment.id, { refresh: 'true' })).body.payment;
    const again = await cashierA.refund(payment.id, newKey(), {});

    // Assess
    expect(started.status).toBe(202);
    expect(after.refunds[0]).toMatchObject({
      id: null,
      status: 'canceled',
      readerAction: { status: 'failed', failureCode: 'customer_canceled' },
    });
    expect(after.amountRefunded).toBe(0);
    expect(again.status).toBe(201);
  });
});

describe('POST /readers/{id}/cancel-action on a reader refund', () => {
  it.each([
    ['naming the payment', true],
    ['resetting the reader', false],
  ])('cancels the refund the reader waits for (%s): canceled, nothing refunded', async (_, named) => {
    // Prepare
    const payment = await paid();
    await cashierA.refund(payment.id, newKey(), { readerId: readerA2 });

    // Act
    const cleared = await cashierA.cancelAction(readerA2, named ? { paymentId: payment.id } : {});
    const after = (await cashierA.get(payment.id)).body.payment;

    // Assess
    expect(cleared.status).toBe(200);
    expect(cleared.body.reader.action).toBeNull();
    expect(after.refunds[0]).toMatchObject({
      id: null,
      status: 'canceled',
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect(after.amountRefunded).toBe(0);
  });
});

describe('Interac', () => {
  async function interacPayment(captureMethod: 'automatic' | 'manual') {
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 2500,
      currency: 'cad',
      captureMethod,
      readerId: readerA1,
    });
    expect(created.status).toBe(201);
    await present(readerA1, 'interac_present');
    return (
      await eventually(
        () => cashierA.get(created.body.payment.id, { refresh: 'true' }),
        (r) => r.body.payment.status === 'succeeded',
      )
    ).body.payment;
  }

  it('takes a cad payment with the Interac card and captures it at once, even when asked for manual capture', async () => {
    // Act
    const payment = await interacPayment('manual');

    // Assess
    expect(payment).toMatchObject({
      status: 'succeeded',
      currency: 'cad',
      amountReceived: 2500,
      card: { brand: 'interac' },
    });
  });

  it('refuses an online refund (409 card_present_refund_required) and refunds with the card on a reader', async () => {
    // Prepare
    const payment = await interacPayment('automatic');
    const before = (await refundsCreated()).length;

    // Act
    const online = await cashierA.refund(payment.id, newKey(), {});
    const onReader = await cashierA.refund(payment.id, newKey(), { readerId: readerA2 });
    await present(readerA2, 'interac_present');
    const after = await eventually(
      () => settled(payment.id),
      (p) => p.refunds[0]?.status === 'succeeded',
    );

    // Assess
    expect(online.status).toBe(409);
    expect(online.body.error.code).toBe('card_present_refund_required');
    expect((await refundsCreated()).length).toBe(before);
    expect(onReader.status).toBe(202);
    expect(after.amountRefunded).toBe(2500);
  });

  it('keeps card_present authorizations of a manual cad payment waiting for capture', async () => {
    // Prepare
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 2500,
      currency: 'cad',
      captureMethod: 'manual',
      readerId: readerA1,
    });

    // Act
    await present(readerA1, 'card_present');
    const after = await eventually(
      () => cashierA.get(created.body.payment.id, { refresh: 'true' }),
      (r) => r.body.payment.status !== 'requires_payment_method',
    );

    // Assess
    expect(after.body.payment.status).toBe('requires_capture');
  });
});

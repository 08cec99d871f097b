/**
 * Refunds on the local stack, followed by webhook alone (never `refresh=true`): delivered once, duplicated,
 * reversed, or lost, in which case the reconciler's `unsettledRefunds` pass finds them. Domain time moves by the
 * emulator's clock.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REFUND_FIRST_CHECK_AFTER_MS } from '../../../shared/payments/refunds.ts';
import type { PaymentResource, RefundResource } from '../../../shared/payments/resource.ts';
import { api, type LocalStack } from '../../support/stack.ts';
import {
  advance,
  drained,
  emulator,
  emulatorRequests,
  paymentView,
  scheduledRun,
  startPayment,
  startReconcileStack,
  stored,
  stripeFor,
  tap,
  waitFor,
  watchBatches,
} from './support.ts';

let stack: LocalStack;
let batches: ReturnType<typeof watchBatches>;
let readerPay: string;
let readerRefund: string;

beforeAll(async () => {
  stack = await startReconcileStack({});
  batches = watchBatches(stack);
  [readerPay, readerRefund] = stack.state.locations[0]!.readers as [string, string];
});

afterAll(async () => {
  await stack?.stop();
});

afterEach(async () => {
  await emulator(stack, 'webhooks', {});
  await drained(stack, batches);
});

/** A payment taken on the paying reader and captured at once, its events applied. */
async function paid(amount = 1500): Promise<PaymentResource> {
  const payment = await startPayment(stack, readerPay, { captureMethod: 'automatic', amount });
  await tap(stack, readerPay);
  return waitFor(
    () => paymentView(stack, payment.id),
    (p) => p.status === 'succeeded' && p.card !== null,
  );
}

async function refund(paymentId: string, body: Record<string, unknown> = {}, key = `refund-${randomUUID()}`) {
  return api<{ refund: RefundResource; payment: PaymentResource }>(stack, 'POST', `/payments/${paymentId}/refunds`, {
    token: stack.state.adminToken,
    body,
    headers: { 'idempotency-key': key },
  });
}

/** Past the refund's first check, with the emulator's own timers (refund settlement) run on the way. */
const pastFirstCheck = () => advance(stack, REFUND_FIRST_CHECK_AFTER_MS + 1_000);

describe('refund events', () => {
  it('move an online refund from pending to succeeded, each event applied once even when delivered three times', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'webhooks', { duplicate: 2 });

    // Act
    const response = await refund(payment.id, { amount: 600 });
    await advance(stack, 1_000);
    const view = await waitFor(
      () => paymentView(stack, payment.id),
      (p) => p.refunds[0]?.status === 'succeeded',
    );
    await drained(stack, batches);

    // Assess
    expect(response.status).toBe(201);
    expect(view).toMatchObject({ amountRefunded: 600, refunds: [{ amount: 600, status: 'succeeded' }] });
    const record = await stored(stack, payment.id);
    const applied = record.history.filter((entry) => entry.source === 'webhook' && entry.kind === 'refund');
    expect(applied.length).toBeGreaterThan(0);
    expect(new Set(applied.map((entry) => entry.eventId)).size).toBe(applied.length);
    expect(record.refundCheckAt).toBeNull();
  });

  it('keep a succeeded refund succeeded when its older events arrive after the newer ones', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'webhooks', { mode: 'hold', reverse: true });
    await refund(payment.id, { amount: 500 });
    await advance(stack, 1_000);

    // Act
    await emulator(stack, 'webhooks/release');
    await drained(stack, batches);
    const view = await paymentView(stack, payment.id);

    // Assess
    expect(view.refunds).toMatchObject([{ amount: 500, status: 'succeeded' }]);
    expect(view.amountRefunded).toBe(500);
  });

  it('record a refund that failed at Stripe (refund.failed)', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'refunds/next', { fault: 'fail', failureReason: 'expired_or_canceled_card' });

    // Act
    await refund(payment.id);
    await advance(stack, 1_000);
    const view = await waitFor(
      () => paymentView(stack, payment.id),
      (p) => p.refunds[0]?.status === 'failed',
    );

    // Assess
    expect(view.refunds).toMatchObject([{ status: 'failed', failureReason: 'expired_or_canceled_card' }]);
    expect(view.amountRefunded).toBe(0);
  });

  it("follow a reader refund through the reader's action and the refund's own events", async () => {
    // Prepare
    const payment = await paid();
    const started = await refund(payment.id, { readerId: readerRefund, amount: 700 });

    // Act
    await tap(stack, readerRefund);
    await advance(stack, 1_000);
    const view = await waitFor(
      () => paymentView(stack, payment.id),
      (p) => p.refunds[0]?.status === 'succeeded',
    );

    // Assess
    expect(started.status).toBe(202);
    expect(view.refunds[0]).toMatchObject({
      id: expect.stringMatching(/^re_/),
      method: 'reader',
      readerId: readerRefund,
      status: 'succeeded',
      readerAction: { status: 'succeeded' },
    });
    expect(view.amountRefunded).toBe(700);
  });
});

describe('the reconciler and unsettled refunds', () => {
  it('settles an online refund whose events were all lost, then reads nothing more', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'webhooks', { mode: 'drop' });
    await refund(payment.id, { amount: 400 });
    await advance(stack, 1_000);
    expect((await paymentView(stack, payment.id)).refunds[0]?.status).toBe('pending');
    await pastFirstCheck();

    // Act
    const summary = await scheduledRun(stack);
    const view = await paymentView(stack, payment.id);
    const again = await scheduledRun(stack);

    // Assess
    expect(summary.candidates.unsettledRefunds).toBe(1);
    expect(summary.refundsSettled).toBe(1);
    expect(view.refunds).toMatchObject([{ amount: 400, status: 'succeeded' }]);
    expect(view.amountRefunded).toBe(400);
    expect(again.candidates.unsettledRefunds).toBe(0);
  });

  it('settles a reader refund whose events were lost: the card was presented, the refund made', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'webhooks', { mode: 'drop' });
    await refund(payment.id, { readerId: readerRefund });
    await tap(stack, readerRefund);
    await pastFirstCheck();

    // Act
    const summary = await scheduledRun(stack);
    const view = await paymentView(stack, payment.id);

    // Assess
    expect(summary.refundsSettled).toBe(1);
    expect(view.refunds[0]).toMatchObject({
      id: expect.stringMatching(/^re_/),
      status: 'succeeded',
      readerAction: { status: 'succeeded' },
    });
  });

  it('ends a reader refund whose reader dropped the action without a refund: canceled, amount refundable again', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'webhooks', { mode: 'drop' });
    await refund(payment.id, { readerId: readerRefund });
    // Someone cleared the reader outside this API (the Dashboard): no event, no refund.
    await stripeFor(stack).terminal.readers.cancelAction(readerRefund);
    await pastFirstCheck();

    // Act
    await scheduledRun(stack);
    const view = await paymentView(stack, payment.id);
    const again = await refund(payment.id);

    // Assess
    expect(view.refunds[0]).toMatchObject({
      id: null,
      status: 'canceled',
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect(view.amountRefunded).toBe(0);
    expect(again.status).toBe(201);
  });

  it('makes an online refund whose request never reached Stripe, under its own key, once', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'faults', { method: 'POST', path: '/v1/refunds', fault: 'server_error', count: 20 });
    const key = `refund-${randomUUID()}`;
    const cutShort = await refund(payment.id, { amount: 300 }, key);
    await fetch(`${stack.state.stripe.apiBase}/_emulator/faults`, { method: 'DELETE' });
    await pastFirstCheck();

    // Act
    await scheduledRun(stack);
    await advance(stack, 1_000);
    const view = await waitFor(
      () => paymentView(stack, payment.id),
      (p) => p.refunds[0]?.status === 'succeeded',
    );

    // Assess
    expect([502, 504]).toContain(cutShort.status);
    expect(view.refunds).toMatchObject([{ idempotencyKey: key, amount: 300, status: 'succeeded' }]);
    const made = (await emulatorRequests(stack)).filter(
      (r) => r.method === 'POST' && r.path === '/v1/refunds' && r.status === 200 && !r.replayed,
    );
    expect(made.filter((r) => r.idempotencyKey?.includes(payment.id))).toHaveLength(1);
  });

  it('frees a reader still waiting for the card past AUTO_CANCEL_STUCK_AFTER_SECONDS: the refund is canceled', async () => {
    // Prepare
    const payment = await paid();
    await refund(payment.id, { readerId: readerRefund });
    stack.configure({ AUTO_CANCEL_STUCK_AFTER_SECONDS: '60' });
    await pastFirstCheck();

    // Act
    const summary = await scheduledRun(stack).finally(() =>
      stack.configure({ AUTO_CANCEL_STUCK_AFTER_SECONDS: undefined }),
    );
    const view = await paymentView(stack, payment.id);
    const reader = await stripeFor(stack).terminal.readers.retrieve(readerRefund);

    // Assess
    expect(summary.actionsCanceled).toBe(1);
    expect(view.refunds[0]).toMatchObject({ status: 'canceled', readerAction: { failureCode: 'canceled' } });
    expect('action' in reader ? reader.action : null).toBeNull();
  });

  it('looks again later, and later still, at a refund that stays pending', async () => {
    // Prepare
    const payment = await paid();
    await emulator(stack, 'webhooks', { mode: 'drop' });
    await emulator(stack, 'refunds/next', { fault: 'pending_forever' });
    await refund(payment.id, { amount: 200 });
    await pastFirstCheck();

    // Act
    const first = await scheduledRun(stack);
    const right = await scheduledRun(stack);
    const checkedOnce = await stored(stack, payment.id);
    await advance(stack, Date.parse(checkedOnce.refundCheckAt ?? '') - stack.deps.clock.now() + 1_000);
    const second = await scheduledRun(stack);
    const checkedTwice = await stored(stack, payment.id);

    // Assess
    expect(first.candidates.unsettledRefunds).toBe(1);
    expect(right.candidates.unsettledRefunds).toBe(0);
    expect(second.candidates.unsettledRefunds).toBe(1);
    expect(checkedTwice.refunds[0]?.status).toBe('pending');
    const firstWait = Date.parse(checkedOnce.refundCheckAt ?? '');
    const secondWait = Date.parse(checkedTwice.refundCheckAt ?? '');
    expect(secondWait - stack.deps.clock.now()).toBeGreaterThan(firstWait - stack.deps.clock.now());
    expect(checkedTwice.refundChecks).toBe(2);
  });
});

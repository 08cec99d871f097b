/**
 * A process command on its way to the reader (a slow reader link, or the pause before retrying a
 * `terminal_reader_timeout`): from the claim until Stripe answers, nothing may judge the attempt over, send the
 * payment to a second reader, change its amount, or cancel it. The emulator's command latency and timeout fault
 * hold that window open.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import { savePayment } from '../../../shared/store/payments.ts';
import { newPayment as storedPayment } from '../../support/fixtures.ts';
import {
  claimsFor,
  emulatorControl,
  idleReader,
  type JsonBody,
  type LocalParts,
  presentCard,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, eventually, newOrderId } from './client.ts';

/** How long the emulator keeps a reader command travelling, and the pause before a retry after a timeout. */
const WINDOW_MS = 3_000;

/** The emulator's controls; its clock is the handlers' clock too. */
const clock = () => emulatorControls(parts.emulator.url);

/** Close the window at once: the clock moves past it, so the command lands (or is sent again) without a wait. */
async function windowClosed<T>(processing: Promise<T>): Promise<T> {
  await clock().advanceClock(WINDOW_MS / 1000);
  return processing;
}

let parts: LocalParts;
let cashier: ApiClient;
let locationId: string;
let readerA1: string;
let readerA2: string;

beforeAll(async () => {
  parts = await startLocalParts({ env: { READER_TIMEOUT_RETRY_DELAY_MS: String(WINDOW_MS) } });
  const [store] = parts.locations as [{ id: string; readers: [string, string] }];
  locationId = store.id;
  [readerA1, readerA2] = store.readers;
  cashier = apiClient(claimsFor([locationId]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  await emulatorControl(parts.emulator, '/_emulator/config', { readerCommandLatencyMs: 0 });
  for (const reader of [readerA1, readerA2]) await idleReader(parts.emulator, reader);
});

async function newPayment(): Promise<JsonBody> {
  const response = await cashier.create({ orderId: newOrderId(), locationId, amount: 2500, currency: 'usd' });
  return response.body.payment;
}

/**
 * Start processing on `readerId` and return once the attempt is claimed (recorded) but not yet answered, in a
 * later second than the claim: only a read from a later second could ever be taken to end the attempt.
 */
async function claimedButUnanswered(paymentId: string, readerId: string) {
  const processing = cashier.process(paymentId, { readerId });
  const claimed = await eventually(
    () => cashier.get(paymentId),
    (response) => response.body.payment.attempts === 1,
  );
  expect(claimed.body.payment.attempts).toBe(1);
  const now = parts.deps.clock.now();
  await clock().advanceClock(((Math.floor(now / 1000) + 1) * 1000 - now + 20) / 1000);
  // Wrapped: an async function returning the promise itself would wait for it.
  return { processing };
}

const windows = [
  {
    name: 'a slow reader link',
    open: () => emulatorControl(parts.emulator, '/_emulator/config', { readerCommandLatencyMs: WINDOW_MS }),
  },
  {
    name: 'the pause before retrying a terminal_reader_timeout',
    open: () => emulatorControl(parts.emulator, `/_emulator/readers/${readerA1}/next-command`, { fault: 'timeout' }),
  },
];

describe.each(windows)('while a process command is on its way ($name)', ({ open }) => {
  it('a refresh does not end the attempt, and the tap after it is recorded', async () => {
    // Prepare
    const payment = await newPayment();
    await open();
    const { processing } = await claimedButUnanswered(payment.id, readerA1);

    // Act
    const refreshed = await cashier.get(payment.id, { refresh: 'true' });
    const processed = await windowClosed(processing);
    await presentCard(parts.emulator, readerA1);
    const settled = await eventually(
      () => cashier.get(payment.id, { refresh: 'true' }),
      (response) => response.body.payment.status === 'succeeded',
    );

    // Assess
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.payment.readerAction).toMatchObject({ status: 'in_progress' });
    expect(processed.status).toBe(202);
    expect(settled.body.payment).toMatchObject({
      status: 'succeeded',
      readerId: readerA1,
      attempts: 1,
      amountReceived: 2500,
      readerAction: { status: 'succeeded' },
    });
  });

  it('a second reader is refused (retryable), and never receives the PaymentIntent', async () => {
    // Prepare
    const payment = await newPayment();
    await open();
    const { processing } = await claimedButUnanswered(payment.id, readerA1);

    // Act
    await cashier.get(payment.id, { refresh: 'true' });
    const second = await cashier.process(payment.id, { readerId: readerA2 });
    await windowClosed(processing);
    const readerTwo = await cashier.getReader(readerA2);

    // Assess
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'invalid_state', retryable: true });
    expect(second.body.error.details).toMatchObject({ readerId: readerA1 });
    expect(readerTwo.body.reader.action).toBeNull();
  });

  it('cancel-action for the payment answers reader_busy instead of cancelling nothing', async () => {
    // Prepare
    const payment = await newPayment();
    await open();
    const { processing } = await claimedButUnanswered(payment.id, readerA1);

    // Act
    const canceled = await cashier.cancelAction(readerA1, { paymentId: payment.id });
    await windowClosed(processing);
    const after = await cashier.get(payment.id);

    // Assess
    expect(canceled.status).toBe(409);
    expect(canceled.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect(canceled.headers['retry-after']).toBeDefined();
    expect(after.body.payment.readerAction).toMatchObject({ status: 'in_progress' });
  });

  it('PATCH answers reader_busy, so the reader never charges an amount the record does not hold', async () => {
    // Prepare
    const payment = await newPayment();
    await open();
    const { processing } = await claimedButUnanswered(payment.id, readerA1);

    // Act
    const patched = await cashier.update(payment.id, { amount: 4000 });
    const processed = await windowClosed(processing);
    await presentCard(parts.emulator, readerA1);
    const settled = await eventually(
      () => cashier.get(payment.id, { refresh: 'true' }),
      (response) => response.body.payment.status === 'succeeded',
    );

    // Assess
    expect(patched.status).toBe(409);
    expect(patched.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect(processed.body.payment.amount).toBe(2500);
    expect(settled.body.payment).toMatchObject({ amount: 2500, amountReceived: 2500 });
  });

  it('cancel answers reader_busy; once the command landed, cancel clears the reader and cancels', async () => {
    // Prepare
    const payment = await newPayment();
    await open();
    const { processing } = await claimedButUnanswered(payment.id, readerA1);

    // Act
    const early = await cashier.cancel(payment.id);
    await windowClosed(processing);
    const late = await cashier.cancel(payment.id);
    const reader = await cashier.getReader(readerA1);

    // Assess
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect(late.status).toBe(200);
    expect(late.body.payment).toMatchObject({ status: 'canceled', readerAction: { status: 'failed' } });
    expect(reader.body.reader.action).toBeNull();
  });
});

describe('a process command Stripe refuses', () => {
  it('says the payment is missing when its PaymentIntent is gone at Stripe, not the reader', async () => {
    // Prepare: a payment whose PaymentIntent Stripe does not hold
    const paymentIntent = { id: 'pi_gone000000000000' };
    const record = storedPayment({
      id: paymentIntent.id,
      amount: 2500,
      orderId: newOrderId(),
      locationId,
      createdAt: new Date(),
    });
    await savePayment(parts.deps.store, record);

    // Act
    const response = await cashier.process(record.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({
      code: 'payment_not_found',
      message: 'This payment no longer exists at Stripe.',
    });
    expect((await cashier.get(record.id)).body.payment).toMatchObject({ attempts: 0, readerAction: null });
  });
});

describe('a process command Stripe does not answer', () => {
  async function dropProcessAnswers(afterExecuting: boolean, count = 20) {
    await emulatorControl(parts.emulator, '/_emulator/faults', {
      method: 'POST',
      path: '/v1/terminal/readers/*',
      fault: 'connection_reset',
      count,
      afterExecuting,
    });
  }

  it('sends it again under the same key, so Stripe runs it once or replays what it did', async () => {
    // Prepare: the first two sends get no answer (the SDK retries once on its own)
    const payment = await newPayment();
    await dropProcessAnswers(false, 2);

    // Act
    const response = await cashier.process(payment.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(202);
    const sent = (await emulatorRequests(parts.emulator.url)).filter((r) =>
      r.idempotencyKey?.startsWith(`process:${payment.id}:`),
    );
    expect(new Set(sent.map((r) => r.idempotencyKey))).toEqual(new Set([`process:${payment.id}:1:0`]));
    expect(sent.filter((r) => r.status === 200)).toHaveLength(1);
  });
  afterEach(async () => {
    await fetch(`${parts.emulator.url}/_emulator/faults`, { method: 'DELETE' });
  });

  it('is accepted when the reader shows it took the command', async () => {
    // Prepare
    const payment = await newPayment();
    await dropProcessAnswers(true);

    // Act
    const response = await cashier.process(payment.id, { readerId: readerA1 });

    // Assess
    expect(response.status).toBe(202);
    expect(response.body.payment).toMatchObject({ attempts: 1, readerAction: { status: 'in_progress' } });
  });

  it('keeps the attempt in flight when the reader does not show it yet: no second reader meanwhile', async () => {
    // Prepare
    const payment = await newPayment();
    await dropProcessAnswers(false);

    // Act
    const unanswered = await cashier.process(payment.id, { readerId: readerA1 });
    await fetch(`${parts.emulator.url}/_emulator/faults`, { method: 'DELETE' });
    const elsewhere = await cashier.process(payment.id, { readerId: readerA2 });

    // Assess
    expect(unanswered.status).toBe(502);
    expect(unanswered.body.error.code).toBe('stripe_unavailable');
    expect(unanswered.body.error.retryable).toBe(true);
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error).toMatchObject({ code: 'invalid_state', retryable: true });
    expect((await cashier.get(payment.id)).body.payment).toMatchObject({
      attempts: 1,
      readerId: readerA1,
      readerAction: { status: 'in_progress' },
    });
  });
});

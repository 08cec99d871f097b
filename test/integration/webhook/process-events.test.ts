/**
 * The webhook path end to end on the local stack: the emulator's signed deliveries → the receiver → SQS → the
 * queue poller → the processor → DynamoDB, read back through `GET /payments/{id}` (never with `refresh=true`).
 * The reconciler is kept out of the way, so only webhooks can move a payment here.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BatchOutcome } from '../../../local/queue-poller.ts';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import type { PaymentRecord } from '../../../shared/payments/types.ts';
import { getPayment } from '../../../shared/store/payments.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { api, type LocalStack, startTestStack } from '../../support/stack.ts';

let stack: LocalStack;
let stripe: Stripe;
let location: { id: string; readers: string[]; token: string };
const batches: BatchOutcome[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    // Only webhooks may move a payment in these tests.
    reconcileIntervalSeconds: 3600,
    emulator: { authorizationDelayMs: 50 },
    env: { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  stripe = createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
  location = stack.state.locations[0]!;
  stack.poller.onBatch((outcome) => batches.push(outcome));
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await emulator('webhooks', {});
});

function emulator(path: string, body: unknown = {}): Promise<unknown> {
  return emulatorControls(stack.state.stripe.apiBase).post(path, body);
}

let orders = 0;

/** POST /payments with a reader: the PaymentIntent is created and shown on the reader (attempt 1). */
async function processPayment(
  readerId: string,
  options: { amount?: number; captureMethod?: 'automatic' | 'manual' } = {},
) {
  orders += 1;
  const response = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
    token: location.token,
    body: {
      orderId: `order-${Date.now()}-${orders}`,
      locationId: location.id,
      amount: options.amount ?? 1500,
      currency: 'usd',
      captureMethod: options.captureMethod ?? 'automatic',
      readerId,
    },
  });
  expect(response.status).toBe(201);
  return response.body.payment;
}

function tap(readerId: string, number = '4242424242424242') {
  return stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, { card_present: { number } });
}

async function paymentView(id: string): Promise<PaymentResource> {
  const response = await api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${id}`, { token: location.token });
  expect(response.status).toBe(200);
  return response.body.payment;
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 8_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Until nothing is queued or in flight, and no batch has run for a moment. */
async function drained(quietMs = 400): Promise<void> {
  const until = Date.now() + 15_000;
  let quietSince = Date.now();
  let seen = batches.length;
  let pending = 0;
  while (Date.now() < until) {
    const { Attributes = {} } = await stack.sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.sqs.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    pending = Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
    if (pending > 0 || batches.length !== seen) {
      seen = batches.length;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the event queue did not drain: ${pending} pending, last batch ${JSON.stringify(batches.at(-1))}`);
}

async function eventsOf(paymentIntentId: string): Promise<Stripe.Event[]> {
  const events = await stripe.events.list({ limit: 100 });
  return events.data.filter((event) => {
    const object = event.data.object as {
      id?: string;
      payment_intent?: string;
      action?: Stripe.Terminal.Reader.Action | null;
    };
    const actionIntent = object.action?.process_payment_intent?.payment_intent;
    return (
      object.id === paymentIntentId || object.payment_intent === paymentIntentId || actionIntent === paymentIntentId
    );
  });
}

async function stored(id: string): Promise<PaymentRecord> {
  const record = await getPayment(stack.deps.store, id);
  if (record === undefined) throw new Error(`payment ${id} is not stored`);
  return record;
}

const webhookEntries = (record: PaymentRecord) => record.history.filter((entry) => entry.source === 'webhook');

describe('processing Stripe events', () => {
  it('moves a tapped payment to succeeded in GET /payments/{id} without refresh, within about a second', async () => {
    // Prepare
    const readerId = location.readers[0]!;
    const payment = await processPayment(readerId);
    expect(payment.readerAction?.status).toBe('in_progress');

    // Act
    const tappedAt = Date.now();
    await tap(readerId);
    const view = await waitFor(
      () => paymentView(payment.id),
      (p) => p.status === 'succeeded' && p.readerAction?.status === 'succeeded',
    );
    const elapsedMs = Date.now() - tappedAt;

    // Assess
    expect(view).toMatchObject({
      status: 'succeeded',
      amountReceived: 1500,
      readerAction: { status: 'succeeded', failureCode: null },
      card: { brand: 'visa', last4: '4242' },
      attempts: 1,
    });
    // Typically about 0.6 s here (50 ms of it the simulated authorization); the bound leaves room for a loaded machine.
    expect(elapsedMs).toBeLessThan(5_000);
    await drained();
    const record = await stored(payment.id);
    const events = new Set((await eventsOf(payment.id)).map((event) => event.id));
    const applied = webhookEntries(record).map((entry) => entry.eventId ?? '');
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((id) => events.has(id))).toBe(true);
  });

  it('applies each event once when Stripe delivers it several times at once', async () => {
    // Prepare
    const readerId = location.readers[1]!;
    await emulator('webhooks', { duplicate: 2 });
    const payment = await processPayment(readerId, { captureMethod: 'manual' });
    const before = await stored(payment.id);

    // Act
    await tap(readerId);
    await waitFor(
      () => paymentView(payment.id),
      (p) => p.status === 'requires_capture' && p.readerAction?.status === 'succeeded' && p.card !== null,
    );
    await drained();

    // Assess
    const after = await stored(payment.id);
    const applied = webhookEntries(after).map((entry) => entry.eventId);
    expect(new Set(applied).size).toBe(applied.length);
    // Each processor write adds one audit entry: the versions count the state writes.
    expect(after.version - before.version).toBe(applied.length);
    expect(after).toMatchObject({ status: 'requires_capture', amountCapturable: 1500, card: { last4: '4242' } });
    const deliveries = await deliveredCopies(applied.map((id) => id ?? ''));
    expect(Object.values(deliveries)).toEqual(applied.map(() => 3));
  });

  it.each(['payment_intent.succeeded', 'terminal.reader.action_succeeded'])(
    'answers a resent %s with one DynamoDB request and no write',
    async (type) => {
      // Prepare
      const readerId = location.readers[0]!;
      const payment = await processPayment(readerId);
      await tap(readerId);
      await waitFor(
        () => paymentView(payment.id),
        (p) => p.status === 'succeeded' && p.readerAction?.status === 'succeeded',
      );
      await drained();
      const event = (await eventsOf(payment.id)).find((candidate) => candidate.type === type)!;
      const before = await stored(payment.id);
      const requestsBefore = stack.dynamoRequests();
      const batchesBefore = batches.length;

      // Act
      await emulator(`events/${event.id}/resend`);
      await waitFor(
        async () => batches.length,
        (count) => count > batchesBefore,
      );
      await drained();

      // Assess
      const requests = stack.dynamoRequests() - requestsBefore;
      expect(
        batches.slice(batchesBefore).map(({ received, deleted, failed }) => ({ received, deleted, failed })),
      ).toEqual([{ received: 1, deleted: 1, failed: 0 }]);
      expect(requests).toBe(1);
      expect((await stored(payment.id)).version).toBe(before.version);
    },
  );

  it.each([
    ['newest first', { reverse: true }],
    ['late', { delayMs: 800 }],
  ])("ends in the PaymentIntent's state when events arrive %s", async (_case, delivery) => {
    // Prepare
    const readerId = location.readers[1]!;
    await emulator('webhooks', delivery);
    const payment = await processPayment(readerId, { captureMethod: 'manual' });

    // Act
    await tap(readerId);
    await waitFor(
      () => paymentView(payment.id),
      (p) => p.status === 'requires_capture' && p.readerAction?.status === 'succeeded' && p.card !== null,
    );
    await drained();

    // Assess
    const view = await paymentView(payment.id);
    const intent = await stripe.paymentIntents.retrieve(payment.id);
    expect(view).toMatchObject({
      status: intent.status,
      amountCapturable: intent.amount_capturable,
      readerAction: { status: 'succeeded', failureCode: null },
      card: { brand: 'visa', last4: '4242' },
    });
    expect(view.captureBefore).not.toBeNull();
    if ('reverse' in delivery) {
      const tapEvents = (await eventsOf(payment.id)).filter((event) => event.type !== 'payment_intent.created');
      const order = await deliveryOrder(tapEvents.map((event) => event.id));
      expect(order[0]).toBe('terminal.reader.action_succeeded');
    }
  });

  it('keeps a captured payment captured when the older authorization events are released after it', async () => {
    // Prepare: authorize with every event held, then capture through the API
    const readerId = location.readers[0]!;
    const payment = await processPayment(readerId, { captureMethod: 'manual' });
    await emulator('webhooks', { mode: 'hold' });
    await tap(readerId);
    await waitFor(
      () => stripe.paymentIntents.retrieve(payment.id),
      (intent) => intent.status === 'requires_capture',
    );
    expect((await paymentView(payment.id)).readerAction?.status).toBe('in_progress');
    const capture = await api(stack, 'POST', `/payments/${payment.id}/capture`, { token: location.token, body: {} });
    expect(capture.status).toBe(200);

    // Act
    await emulator('webhooks', {});
    await emulator('webhooks/release');
    await drained();

    // Assess
    const view = await paymentView(payment.id);
    expect(view).toMatchObject({
      status: 'succeeded',
      amountReceived: 1500,
      amountCapturable: 0,
      readerAction: { status: 'succeeded' },
      card: { last4: '4242' },
    });
    const record = await stored(payment.id);
    const staleAuthorization = (await eventsOf(payment.id)).find(
      (event) => event.type === 'payment_intent.amount_capturable_updated',
    )!;
    expect(record.history.some((entry) => entry.eventId === staleAuthorization.id)).toBe(false);
  });

  it.each([
    ['without authorization', 'connection_error', 'requires_payment_method', 'failed'],
    ['after authorization', 'connection_error_after_authorization', 'requires_capture', 'succeeded'],
  ])('records what the PaymentIntent shows after a connection error %s', async (_case, fault, status, action) => {
    // Prepare: only the reader's event is delivered, so what is known of the PaymentIntent comes from a read
    const readerId = location.readers[1]!;
    const payment = await processPayment(readerId, { captureMethod: 'manual' });
    await emulator(`readers/${readerId}/next-authorization`, { fault });
    await emulator('webhooks', { mode: 'drop' });
    await tap(readerId);
    await waitFor(
      () => stripe.terminal.readers.retrieve(readerId) as Promise<Stripe.Terminal.Reader>,
      (reader) => reader.action?.status === 'failed',
    );
    const failure = (await eventsOf(payment.id)).find((event) => event.type === 'terminal.reader.action_failed')!;

    // Act
    await emulator(`events/${failure.id}/resend`);
    const view = await waitFor(
      () => paymentView(payment.id),
      (p) => p.readerAction?.status !== 'in_progress',
    );

    // Assess
    const intent = await stripe.paymentIntents.retrieve(payment.id);
    expect(intent.status).toBe(status);
    expect(view).toMatchObject({
      status: intent.status,
      amountCapturable: intent.amount_capturable,
      readerAction: { status: action },
    });
    const record = await stored(payment.id);
    if (status === 'requires_capture') {
      expect(view.card).toEqual({ brand: 'visa', last4: '4242' });
      expect(record.history).toContainEqual(
        expect.objectContaining({ source: 'poll', eventId: failure.id, eventType: 'terminal.reader.action_failed' }),
      );
    } else {
      expect(view.readerAction).toMatchObject({ failureCode: 'connection_error' });
    }
  });

  it('does not let a decline fail the next attempt that started on the same reader in the same second', async () => {
    // Prepare: a decline whose event is held until the next attempt has started on the same reader, in the same
    // second (a loaded machine may need another try to fit both into one second)
    const readerId = location.readers[0]!;
    const payment = await processPayment(readerId);
    await emulator('webhooks', { mode: 'hold' });
    let sameSecond = false;
    for (let round = 0; round < 4 && !sameSecond; round += 1) {
      sameSecond = await declineThenProcessAgain(payment.id, readerId);
    }
    expect(sameSecond).toBe(true);
    const attempts = (await stored(payment.id)).attempts;
    const readerReadsBefore = await readerReads(readerId);

    // Act
    await emulator('webhooks', {});
    await emulator('webhooks/release');
    await drained();

    // Assess: the processor asked the reader, which still runs the latest attempt
    const view = await paymentView(payment.id);
    expect(view).toMatchObject({
      attempts,
      status: 'requires_payment_method',
      readerAction: { status: 'in_progress' },
    });
    expect(await readerReads(readerId)).toBeGreaterThan(readerReadsBefore);
    await tap(readerId);
    const paid = await waitFor(
      () => paymentView(payment.id),
      (p) => p.status === 'succeeded',
    );
    expect(paid).toMatchObject({ attempts, readerAction: { status: 'succeeded' } });
  });

  it('frees the recorded reader when the payment is authorized on another one (a command Stripe said was not delivered)', async () => {
    // Prepare: the record's attempt runs on reader 0; the same PaymentIntent reaches reader 1 outside the API
    const [recorded, other] = location.readers as [string, string];
    const payment = await processPayment(recorded);
    await stripe.terminal.readers.processPaymentIntent(other, { payment_intent: payment.id });

    // Act
    await tap(other);
    const settled = await waitFor(
      () => stripe.terminal.readers.retrieve(recorded) as Promise<Stripe.Terminal.Reader>,
      (reader) => reader.action === null,
    );
    await drained();

    // Assess: paid once, the other reader's event applied (not dead-lettered), the recorded reader freed
    const view = await paymentView(payment.id);
    expect(settled.action).toBeNull();
    expect(view).toMatchObject({ status: 'succeeded', amountReceived: 1500, readerAction: { status: 'succeeded' } });
    expect(await deadLetters()).toBe(0);
  });
});

function emulatorGet<T>(path: string): Promise<T> {
  return emulatorControls(stack.state.stripe.apiBase).get<T>(path);
}

interface DeliveryAttempt {
  eventId: string;
  type: string;
  status: number | null;
}

/** Accepted deliveries per event id. */
async function deliveredCopies(eventIds: string[]): Promise<Record<string, number>> {
  const { attempts } = await emulatorGet<{ attempts: DeliveryAttempt[] }>('webhooks');
  const counts: Record<string, number> = {};
  for (const id of eventIds) {
    counts[id] = attempts.filter((attempt) => attempt.eventId === id && attempt.status === 200).length;
  }
  return counts;
}

/** The types of these events in the order they were delivered. */
async function deliveryOrder(eventIds: string[]): Promise<string[]> {
  const { attempts } = await emulatorGet<{ attempts: DeliveryAttempt[] }>('webhooks');
  const wanted = new Set(eventIds);
  return attempts.filter((attempt) => wanted.has(attempt.eventId)).map((attempt) => attempt.type);
}

/** How often the reader has been retrieved from the emulator. */
async function readerReads(readerId: string): Promise<number> {
  const { data } = await emulatorGet<{ data: { method: string; path: string }[] }>('requests');
  return data.filter((request) => request.method === 'GET' && request.path === `/v1/terminal/readers/${readerId}`)
    .length;
}

/**
 * Decline the card of the running attempt, then process the payment again on the same reader through the API.
 * True when the decline's event was created in the second the new attempt started.
 */
async function declineThenProcessAgain(paymentId: string, readerId: string): Promise<boolean> {
  const declinesBefore = new Set((await eventsOf(paymentId)).map((event) => event.id));
  await startOfSecond();
  await tap(readerId, '4000000000000002');
  await waitFor(
    () => stripe.terminal.readers.retrieve(readerId) as Promise<Stripe.Terminal.Reader>,
    (reader) => reader.action?.status === 'failed',
  );
  const retry = await api(stack, 'POST', `/payments/${paymentId}/process`, {
    token: location.token,
    body: { readerId },
  });
  expect(retry.status).toBe(202);
  const decline = (await eventsOf(paymentId)).find(
    (event) => event.type === 'terminal.reader.action_failed' && !declinesBefore.has(event.id),
  )!;
  const started = (await stored(paymentId)).attemptLog.at(-1)!;
  return started.readerId === readerId && decline.created === Math.floor(started.startedAtMs / 1000);
}

/** Messages in the event DLQ. */
async function deadLetters(): Promise<number> {
  const { Attributes = {} } = await stack.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: stack.sqs.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages);
}

/** Move the clock to the start of the next second, so a few steps fit in one. */
async function startOfSecond(): Promise<void> {
  const now = stack.deps.clock.now();
  await emulatorControls(stack.state.stripe.apiBase).advanceClock((1000 - (now % 1000) + 5) / 1000);
}

/**
 * The processor's failure handling on the local stack: a record whose processing really fails among good ones,
 * poison bodies, events for PaymentIntents the system does not hold, a reader event that arrives before the API
 * recorded its attempt, and concurrent writers. The queue redelivers within a second and gives up after 3
 * receives, so redrive to the DLQ is observable.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../../local/lambda.ts';
import type { BatchOutcome } from '../../../local/queue-poller.ts';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import { recordProcessAccepted } from '../../../shared/payments/process.ts';
import { startProcessAttempt } from '../../../shared/payments/record.ts';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import type { PaymentRecord } from '../../../shared/payments/types.ts';
import { EventAlreadyAppliedError, readPaymentForEvent, savePaymentWithEvent } from '../../../shared/store/events.ts';
import { getPayment, savePayment, updatePayment, VersionConflictError } from '../../../shared/store/payments.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { readerActionObservation } from '../../../shared/stripe/snapshots.ts';
import { newPayment } from '../../support/fixtures.ts';
import { sqsEvent } from '../../support/invoke.ts';
import { api, type LocalStack, startTestStack } from '../../support/stack.ts';

const MAX_RECEIVES = 3;

let stack: LocalStack;
let stripe: Stripe;
let location: { id: string; readers: string[]; token: string };
const batches: BatchOutcome[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    reconcileIntervalSeconds: 3600,
    queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: MAX_RECEIVES, waitTimeSeconds: 1 },
    emulator: { authorizationDelayMs: 50 },
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
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

async function emulator(path: string, body: unknown = {}): Promise<void> {
  await emulatorControls(stack.state.stripe.apiBase).post(path, body);
}

/** POST /payments without a reader. */
async function createPayment(): Promise<PaymentResource> {
  const response = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
    token: location.token,
    body: { orderId: `order-${randomUUID()}`, locationId: location.id, amount: 1500, currency: 'usd' },
  });
  expect(response.status).toBe(201);
  return response.body.payment;
}

/** The JSON Stripe delivers for the latest event of `type` about `objectId`, as the receiver queues it. */
async function eventBody(type: string, objectId: string): Promise<string> {
  const events = await stripe.events.list({ type, limit: 100 });
  const event = events.data.find((candidate) => (candidate.data.object as { id: string }).id === objectId);
  if (event === undefined) throw new Error(`no ${type} event for ${objectId}`);
  return JSON.stringify(event);
}

/** The queued events of a PaymentIntent canceled directly in Stripe (webhooks dropped meanwhile). */
async function canceledEvent(paymentIntentId: string): Promise<string> {
  await emulator('webhooks', { mode: 'drop' });
  await stripe.paymentIntents.cancel(paymentIntentId);
  await emulator('webhooks', {});
  return eventBody('payment_intent.canceled', paymentIntentId);
}

async function enqueue(bodies: string[]): Promise<void> {
  const sent = await stack.sqs.client.send(
    new SendMessageBatchCommand({
      QueueUrl: stack.sqs.queueUrl,
      Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body })),
    }),
  );
  expect(sent.Failed ?? []).toEqual([]);
}

/** Take (and delete) what the DLQ holds now. */
async function takeDeadLetters(): Promise<Message[]> {
  const taken: Message[] = [];
  for (;;) {
    const { Messages = [] } = await stack.sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.sqs.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return taken;
    for (const message of Messages) {
      await stack.sqs.client.send(
        new DeleteMessageCommand({ QueueUrl: stack.sqs.dlqUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
    taken.push(...Messages);
  }
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stored(id: string): Promise<PaymentRecord> {
  const record = await getPayment(stack.deps.store, id);
  if (record === undefined) throw new Error(`payment ${id} is not stored`);
  return record;
}

const counts = (outcomes: BatchOutcome[]) =>
  outcomes.map(({ received, deleted, failed }) => ({ received, deleted, failed }));

/** A `terminal.reader.action_failed` event with `connection_error` for `paymentIntentId`, as Stripe sends it. */
function connectionErrorEvent(paymentIntentId: string, readerId: string): string {
  return JSON.stringify({
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: readerId,
        object: 'terminal.reader',
        action: {
          type: 'process_payment_intent',
          status: 'failed',
          failure_code: 'connection_error',
          failure_message: 'Could not connect to Stripe.',
          process_payment_intent: { payment_intent: paymentIntentId },
        },
        status: 'online',
      },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'terminal.reader.action_failed',
  });
}

/**
 * A payment stored with an attempt running on `readerId`, whose PaymentIntent Stripe does not know: applying a
 * connection error to it needs the PaymentIntent, and that read fails every time.
 */
async function paymentUnknownToStripe(readerId: string): Promise<PaymentRecord> {
  const now = new Date();
  const id = `pi_missing${randomUUID().replaceAll('-', '').slice(0, 14)}`;
  const record = newPayment({ id, amount: 1500, locationId: location.id, createdAt: now });
  return savePayment(
    stack.deps.store,
    startProcessAttempt(record, { readerId, startedAtMs: now.getTime() - 5_000 }, now),
  );
}

describe('processing Stripe events when things go wrong', () => {
  it('fails only the record whose processing fails, applies the others once, and redrives it to the DLQ', async () => {
    // Prepare
    const [first, second] = [await createPayment(), await createPayment()];
    const good = [await canceledEvent(first.id), await canceledEvent(second.id)];
    const broken = await paymentUnknownToStripe(location.readers[0]!);
    const failing = connectionErrorEvent(broken.id, location.readers[0]!);
    const versions = [(await stored(first.id)).version, (await stored(second.id)).version];
    const from = batches.length;

    // Act
    await enqueue([good[0]!, failing, good[1]!]);
    const deadLetters = await waitFor(takeDeadLetters, (messages) => messages.length > 0);

    // Assess
    expect(deadLetters.map((message) => message.Body)).toEqual([failing]);
    expect(counts(batches.slice(from))).toEqual([
      { received: 3, deleted: 2, failed: 1 },
      ...Array.from({ length: MAX_RECEIVES - 1 }, () => ({ received: 1, deleted: 0, failed: 1 })),
    ]);
    for (const [index, payment] of [first, second].entries()) {
      const record = await stored(payment.id);
      expect(record.status).toBe('canceled');
      expect(record.version).toBe(versions[index]! + 1);
      const eventId = (JSON.parse(good[index]!) as { id: string }).id;
      expect(record.history.filter((entry) => entry.eventId === eventId)).toHaveLength(1);
    }
    expect(await stored(broken.id)).toMatchObject({ version: broken.version, readerAction: { status: 'in_progress' } });
  });

  it('sends poison bodies straight to the DLQ with the reason, without holding up the rest', async () => {
    // Prepare
    const payment = await createPayment();
    const good = await canceledEvent(payment.id);
    const poison = ['this is not json', JSON.stringify({ hello: 'world' })];
    const from = batches.length;

    // Act
    await enqueue([poison[0]!, good, poison[1]!]);
    const deadLetters = await waitFor(takeDeadLetters, (messages) => messages.length >= 2);
    await waitFor(
      async () => batches.length,
      (length) => length > from,
    );

    // Assess
    expect(counts(batches.slice(from))).toEqual([{ received: 3, deleted: 3, failed: 0 }]);
    const reasons = Object.fromEntries(
      deadLetters.map((message) => [message.Body, message.MessageAttributes?.reason?.StringValue]),
    );
    expect(reasons).toEqual({ [poison[0]!]: 'not_json', [poison[1]!]: 'not_an_event' });
    expect((await stored(payment.id)).status).toBe('canceled');
  });

  it('acknowledges an event for a PaymentIntent the system does not hold, and stores nothing', async () => {
    // Prepare: a PaymentIntent created in Stripe directly, not through the API
    const intent = await stripe.paymentIntents.create({
      amount: 1500,
      currency: 'usd',
      allowed_payment_method_types: ['card_present'],
    });
    const body = await canceledEvent(intent.id);
    const eventId = (JSON.parse(body) as { id: string }).id;
    const from = batches.length;

    // Act
    await enqueue([body]);
    await waitFor(
      async () => batches.length,
      (length) => length > from,
    );

    // Assess
    expect(counts(batches.slice(from))).toEqual([{ received: 1, deleted: 1, failed: 0 }]);
    expect(await readPaymentForEvent(stack.deps.store, intent.id, eventId)).toEqual({ alreadyApplied: false });
    expect(await takeDeadLetters()).toEqual([]);
  });

  it('applies a reader event that arrived before the API recorded its process attempt', async () => {
    // Prepare: the reader takes the command and the card before the attempt is recorded (the API's window)
    const readerId = location.readers[1]!;
    const payment = await createPayment();
    const startedAtMs = Date.now();
    const answer = await stripe.terminal.readers.processPaymentIntent(readerId, { payment_intent: payment.id });
    const from = batches.length;
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId);
    await waitFor(
      async () => batches.slice(from).reduce((failed, batch) => failed + batch.failed, 0),
      (failed) => failed > 0,
    );

    // Act: the API records the attempt, with the reader's answer to its command
    const command = {
      attempt: 1,
      readerId,
      startedAtMs,
      answer: readerActionObservation(answer, { source: 'api' }, Math.floor(startedAtMs / 1000), 1),
      nextTry: 1,
    };
    const recorded = await updatePayment(stack.deps.store, await stored(payment.id), (r) =>
      recordProcessAccepted(r, command, new Date()),
    );
    expect(recorded.record.readerAction?.status).toBe('in_progress');
    const view = await waitFor(
      async () =>
        (await api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${payment.id}`, { token: location.token }))
          .body.payment,
      (p) => p.readerAction?.status === 'succeeded',
    );

    // The PaymentIntent's own events may end the action first; the reader's event, failed once, comes back after.
    const appliedReaderEvent = (history: { source: string; kind: string }[]) =>
      history.some((entry) => entry.source === 'webhook' && entry.kind === 'reader_action');
    const record = await waitFor(
      () => stored(payment.id),
      (candidate) => appliedReaderEvent(candidate.history),
    );

    // Assess
    expect(view).toMatchObject({ status: 'succeeded', attempts: 1, readerAction: { status: 'succeeded' } });
    expect(record.history).toContainEqual(
      expect.objectContaining({
        source: 'webhook',
        kind: 'reader_action',
        eventType: 'terminal.reader.action_succeeded',
      }),
    );
  });

  it('applies events of one payment from concurrent invocations, each once', async () => {
    // Prepare: two events of one payment, handed to two invocations at the same time
    const payment = await createPayment();
    await emulator('webhooks', { mode: 'drop' });
    await stripe.paymentIntents.update(payment.id, { amount: 2500 });
    await stripe.paymentIntents.cancel(payment.id);
    await emulator('webhooks', {});
    const canceled = await eventBody('payment_intent.canceled', payment.id);
    const otherCopy = JSON.stringify({ ...JSON.parse(canceled), id: `evt_${randomUUID().replaceAll('-', '')}` });
    const { handler } = await import('../../../functions/webhook/process-events.ts');
    const before = await stored(payment.id);

    // Act
    const results = await Promise.all(
      [canceled, otherCopy].map((body) => handler.withDependencies(stack.deps)(sqsEvent(body), context())),
    );

    // Assess
    expect(results).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    const after = await stored(payment.id);
    expect(after).toMatchObject({ status: 'canceled', amount: 2500, version: before.version + 1 });
    // The first writer applied the cancellation; the other found nothing left to change.
    expect(after.history.filter((entry) => entry.source === 'webhook')).toHaveLength(1);
  });
});

describe('savePaymentWithEvent', () => {
  it('refuses a write over a version another writer already replaced', async () => {
    // Prepare
    const payment = await stored((await createPayment()).id);
    await updatePayment(stack.deps.store, payment, (r) => ({ ...r, description: 'changed by another writer' }));
    const event = {
      id: `evt_${randomUUID()}`,
      type: 'payment_intent.canceled',
      created: 1,
      paymentIntentId: payment.id,
    };

    // Act
    const write = savePaymentWithEvent(stack.deps.store, { ...payment, status: 'canceled' }, event, new Date());

    // Assess
    await expect(write).rejects.toBeInstanceOf(VersionConflictError);
    expect(await readPaymentForEvent(stack.deps.store, payment.id, event.id)).toMatchObject({ alreadyApplied: false });
  });

  it('refuses to record an event twice, and leaves the payment as the first write stored it', async () => {
    // Prepare
    const payment = await stored((await createPayment()).id);
    const event = {
      id: `evt_${randomUUID()}`,
      type: 'payment_intent.canceled',
      created: 1,
      paymentIntentId: payment.id,
    };
    const first = await savePaymentWithEvent(stack.deps.store, { ...payment, status: 'canceled' }, event, new Date());

    // Act
    const second = savePaymentWithEvent(stack.deps.store, { ...first, status: 'succeeded' }, event, new Date());

    // Assess
    await expect(second).rejects.toBeInstanceOf(EventAlreadyAppliedError);
    expect(await stored(payment.id)).toMatchObject({ status: 'canceled', version: payment.version + 1 });
    expect(await readPaymentForEvent(stack.deps.store, payment.id, event.id)).toMatchObject({ alreadyApplied: true });
  });
});

function context() {
  return lambdaContext(
    { name: 'ProcessStripeEvents', entry: 'functions/webhook/process-events.ts', timeoutSeconds: 30 },
    'us-east-1',
  );
}

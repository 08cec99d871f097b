/**
 * Restart safety: the stack's event processor is killed (SIGKILL, in a process of its own) in the middle of a
 * batch — half of the batch applied to DynamoDB, nothing deleted from the queue — and started again. The queue
 * brings the batch back after its visibility timeout; every event ends applied exactly once and every payment
 * ends as Stripe's PaymentIntent, without any refresh from Stripe.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueuePoller, startQueuePoller } from '../../local/queue-poller.ts';
import type { PaymentResource } from '../../shared/payments/resource.ts';
import type { PaymentRecord } from '../../shared/payments/types.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
import { backgroundFunctions } from '../../shared/routes.ts';
import { getPayment } from '../../shared/store/payments.ts';
import { createStripeClient } from '../../shared/stripe/client.ts';
import { api, type LocalStack, startTestStack } from '../support/stack.ts';
import { HALF_APPLIED_MARKER } from './fixtures/dies-mid-batch.ts';
import { queueDepth, queueDrained, tableItems, waitFor } from './support/probes.ts';

const PAYMENTS = 8;
const VISIBILITY_TIMEOUT_SECONDS = 2;

let stack: LocalStack;
let stripe: Stripe;
let restarted: QueuePoller | undefined;
let child: ChildProcess | undefined;

beforeAll(async () => {
  stack = await startTestStack({
    reconcileIntervalSeconds: 3600,
    queue: { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS, waitTimeSeconds: 1 },
    emulator: { authorizationDelayMs: 20 },
    env: { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
    log: () => undefined,
  });
  stripe = createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
  // The processor runs only where the test says, from here on.
  await stack.poller.stop();
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await restarted?.stop();
  await stack?.stop();
});

/** Pay `PAYMENTS` payments across every reader, leaving their events in the queue. */
async function paymentsWithQueuedEvents(): Promise<PaymentResource[]> {
  const readers = stack.state.locations.flatMap((location) =>
    location.readers.map((readerId) => ({ location, readerId })),
  );
  const payments: PaymentResource[] = [];
  for (let index = 0; index < PAYMENTS; index += 1) {
    const { location, readerId } = readers[index % readers.length] as (typeof readers)[number];
    const response = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
      token: location.token,
      body: {
        orderId: `restart-${Date.now()}-${index}`,
        locationId: location.id,
        // Amounts ending in 0: the test amounts ending 01, 05, 55, 65, 75 decline.
        amount: 1000 + index * 10,
        currency: 'usd',
        captureMethod: index % 2 === 0 ? 'manual' : 'automatic',
        readerId,
      },
    });
    expect(response.status).toBe(201);
    payments.push(response.body.payment);
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, {
      card_present: { number: '4242424242424242' },
    });
    // Only Stripe is asked: the record must learn the outcome from the queued events alone.
    await waitFor(
      () => stripe.paymentIntents.retrieve(response.body.payment.id),
      (paymentIntent) => paymentIntent.status !== 'requires_payment_method',
    );
  }
  return payments;
}

/** Start the processor in its own process; resolves once it has applied half a batch (and is stuck there). */
function processorDyingMidBatch(): Promise<{ applied: number; of: number; lines: string[] }> {
  const lines: string[] = [];
  child = spawn(
    process.execPath,
    [
      'test/reliability/fixtures/processor-process.ts',
      stack.sqs.queueUrl,
      stack.sqs.queueArn,
      'test/reliability/fixtures/dies-mid-batch.ts',
    ],
    // At INFO the processor logs each record it has applied ("Event processed").
    { env: { ...process.env, ...stack.env, POWERTOOLS_LOG_LEVEL: 'INFO' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the processor never reached mid-batch: ${stderr.join('')}`)),
      30_000,
    );
    child?.on('exit', (code) => reject(new Error(`the processor exited (${code}): ${stderr.join('')}`)));
    createInterface({ input: child?.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line);
      if (!line.includes(HALF_APPLIED_MARKER)) return;
      clearTimeout(timer);
      const { applied, of } = JSON.parse(line) as { applied: number; of: number };
      resolve({ applied, of, lines });
    });
  });
}

function kill(process_: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    process_.removeAllListeners('exit');
    process_.once('exit', () => resolve());
    process_.kill('SIGKILL');
  });
}

const webhookEventIds = (record: PaymentRecord) =>
  record.history.flatMap((entry) => (entry.source === 'webhook' && entry.eventId ? [entry.eventId] : []));

describe('killing the event processor mid-batch', () => {
  it('loses no event and applies none twice once it is started again', async () => {
    // Prepare
    const payments = await paymentsWithQueuedEvents();
    const queued = await waitFor(
      () => queueDepth(stack, stack.sqs.queueUrl),
      (depth) => depth >= PAYMENTS * 3,
    );
    expect(queued).toBeGreaterThanOrEqual(PAYMENTS * 3);

    // Act: kill it with half a batch applied and nothing deleted.
    const midBatch = await processorDyingMidBatch();
    await kill(child as ChildProcess);
    child = undefined;
    const processedBeforeKill = midBatch.lines.filter((line) => line.includes('"Event processed"')).length;
    const afterKill = await queueDepth(stack, stack.sqs.queueUrl);
    const appliedBeforeKill = (await tableItems(stack)).filter((item) => item.entity === 'event').length;

    // Act: start it again, as the stack does.
    restarted = startQueuePoller({
      client: stack.sqs.client,
      queueUrl: stack.sqs.queueUrl,
      queueArn: stack.sqs.queueArn,
      function: {
        ...backgroundFunctions.processEvents,
        timeoutSeconds: eventQueue.processorTimeoutSeconds,
        dependencies: () => stack.deps,
      },
      batchSize: eventQueue.batchSize,
      waitTimeSeconds: 1,
      log: () => undefined,
    });
    await queueDrained(stack, { quietMs: (VISIBILITY_TIMEOUT_SECONDS + 1) * 1000, timeoutMs: 60_000 });

    // Assess: the kill happened mid-batch: records applied, none of them deleted.
    expect(midBatch.applied).toBeLessThan(midBatch.of);
    expect(processedBeforeKill).toBe(midBatch.applied);
    expect(appliedBeforeKill).toBeGreaterThan(0);
    expect(afterKill).toBe(queued);
    // Nothing lost: every payment is what Stripe holds, learnt from the events alone.
    for (const payment of payments) {
      const paymentIntent = await stripe.paymentIntents.retrieve(payment.id);
      const record = (await getPayment(stack.deps.store, payment.id)) as PaymentRecord;
      expect(record).toMatchObject({
        status: paymentIntent.status,
        amountCapturable: paymentIntent.amount_capturable,
        amountReceived: paymentIntent.amount_received,
        readerAction: { status: 'succeeded' },
        card: { last4: '4242' },
      });
      // Nothing applied twice: each event once in the audit trail, one write per applied event.
      const applied = webhookEventIds(record);
      expect(new Set(applied).size).toBe(applied.length);
      // Three writes before any event: created, its attempt claimed, Stripe's answer to the command recorded.
      expect(record.version).toBe(3 + applied.length);
    }
    const dedupe = (await tableItems(stack)).filter((item) => item.entity === 'event');
    const appliedEverywhere = (await Promise.all(payments.map((p) => getPayment(stack.deps.store, p.id)))).flatMap(
      (r) => webhookEventIds(r as PaymentRecord),
    );
    expect(dedupe.map((item) => item.eventId).sort()).toEqual([...appliedEverywhere].sort());
    expect(await queueDepth(stack, stack.sqs.dlqUrl)).toBe(0);
  }, 120_000);
});

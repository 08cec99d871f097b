/**
 * Webhook receiver throughput: signed `payment_intent.succeeded` deliveries through the local gateway into SQS from
 * concurrent senders, some events delivered twice (Stripe's retries). Each event is about its own payment, seeded in
 * the table, so the processor applies every one; once the queue has drained, every distinct event must have been
 * applied exactly once: its dedupe item stored, its payment succeeded and written once (version + 1), its id once
 * in the payment's history.
 */
import { BatchGetCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mapConcurrently } from '../../shared/concurrency.ts';
import type { PaymentRecord } from '../../shared/payments/types.ts';
import { EVENT_SORT_KEY, eventPk } from '../../shared/store/events.ts';
import { PAYMENT_SORT_KEY, paymentPk } from '../../shared/store/payments.ts';
import { openPayment, writePayments } from '../seed.ts';
import { deliver, paymentSucceededEvent, signDelivery } from '../signed-events.ts';
import { type BenchStack, sleep } from '../stack.ts';

export interface WebhookThroughputResult {
  events: number;
  duplicateDeliveries: number;
  deliveries: number;
  concurrency: number;
  sendSeconds: number;
  deliveriesPerSecond: number;
  /** Deliveries the route did not answer 200. */
  rejected: number;
  /** From the last answer until the queue was empty and the processor idle. */
  drainSeconds: number;
  /** Distinct events applied per second, from the first delivery until drained. */
  appliedPerSecond: number;
  /** Distinct events with no dedupe item or whose payment did not change. */
  lost: number;
  /** Payments written more than once, or with their event more than once in the history. */
  duplicated: number;
  /** Records the processor reported failed (SQS delivers them again) during the run. */
  failedRecords: number;
  deadLettered: number;
}

/** Send `events` distinct events (plus `duplicateEvery`-th ones again) with `concurrency` senders, then verify. */
export async function measureWebhookThroughput(
  bench: BenchStack,
  options: { events: number; concurrency: number; duplicateEvery: number; drainTimeoutMs: number },
): Promise<WebhookThroughputResult> {
  const tableName = bench.stack.state.dynamodb.tableName;
  const secret = bench.stack.state.stripe.webhookSecret;
  const createdAt = new Date(Date.now() - 60_000);
  const payments = Array.from({ length: options.events }, () => openPayment(bench.location.id, createdAt));
  await writePayments(bench.table, tableName, payments);
  await bench.quiesce();

  const events = payments.map((payment) => paymentSucceededEvent(payment));
  const bodies = events.map((event) => ({ id: event.id, body: JSON.stringify(event) }));
  // A retry comes later than the first delivery: duplicates go after a random later position.
  const order: number[] = bodies.map((_, index) => index);
  for (let index = 0; index < bodies.length; index += options.duplicateEvery) {
    const at = index + 1 + Math.floor(Math.random() * (order.length - index));
    order.splice(Math.min(at, order.length), 0, index);
  }

  const failedBefore = bench.failedRecords;

  const started = performance.now();
  const statuses = await mapConcurrently(order, options.concurrency, (index) =>
    // Signed at send time, as each of Stripe's attempts is.
    deliver(bench.stack.apiUrl, signDelivery(bodies[index] as { id: string; body: string }, secret)).catch(() => 0),
  );
  const sent = performance.now();
  await bench.quiesce(options.drainTimeoutMs);
  const drained = Math.max(sent, bench.lastBatchAt);

  const stored = await readPayments(bench.table, tableName, payments);
  const appliedEvents = await existingEvents(
    bench.table,
    tableName,
    events.map((event) => event.id),
  );
  let lost = 0;
  let duplicated = 0;
  for (const [index, payment] of payments.entries()) {
    const event = events[index] as { id: string };
    const now = stored.get(payment.id);
    const mentions =
      (now?.history as { eventId?: string }[] | undefined)?.filter((entry) => entry.eventId === event.id).length ?? 0;
    const versionDelta = Number(now?.version ?? payment.version) - payment.version;
    if (!appliedEvents.has(event.id) || versionDelta === 0 || now?.status !== 'succeeded') lost += 1;
    if (versionDelta > 1 || mentions > 1) duplicated += 1;
  }
  const sendSeconds = (sent - started) / 1000;
  return {
    events: events.length,
    duplicateDeliveries: order.length - events.length,
    deliveries: order.length,
    concurrency: options.concurrency,
    sendSeconds,
    deliveriesPerSecond: order.length / sendSeconds,
    rejected: statuses.filter((status) => status !== 200).length,
    drainSeconds: Math.max(0, (drained - sent) / 1000),
    appliedPerSecond: events.length / Math.max(0.001, (drained - started) / 1000),
    lost,
    duplicated,
    failedRecords: bench.failedRecords - failedBefore,
    deadLettered: await bench.queueDepth('deadLetters'),
  };
}

/** The stored payments, by id (BatchGetItem, 100 keys a request). */
async function readPayments(
  client: DynamoDBDocumentClient,
  tableName: string,
  payments: readonly PaymentRecord[],
): Promise<Map<string, Record<string, unknown>>> {
  const items = await batchGet(
    client,
    tableName,
    payments.map((payment) => ({ pk: paymentPk(payment.id), sk: PAYMENT_SORT_KEY })),
  );
  return new Map(items.map((item) => [String(item.id), item]));
}

/** Which of `eventIds` have a dedupe item (were applied). */
async function existingEvents(
  client: DynamoDBDocumentClient,
  tableName: string,
  eventIds: readonly string[],
): Promise<Set<string>> {
  const items = await batchGet(
    client,
    tableName,
    eventIds.map((id) => ({ pk: eventPk(id), sk: EVENT_SORT_KEY })),
  );
  return new Set(items.map((item) => String(item.eventId)));
}

async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, string>[],
): Promise<Record<string, unknown>[]> {
  const chunks: Record<string, string>[][] = [];
  for (let start = 0; start < keys.length; start += 100) chunks.push(keys.slice(start, start + 100));
  const pages = await mapConcurrently(chunks, 4, async (chunk) => {
    const found: Record<string, unknown>[] = [];
    let pending: Record<string, unknown>[] | undefined = chunk;
    for (let round = 0; pending !== undefined && pending.length > 0; round += 1) {
      if (round >= 8) throw new Error('DynamoDB Local kept keys unprocessed');
      if (round > 0) await sleep(50 * round);
      const output: BatchGetCommandOutput = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(output.Responses?.[tableName] ?? []));
      pending = output.UnprocessedKeys?.[tableName]?.Keys;
    }
    return found;
  });
  return pages.flat();
}

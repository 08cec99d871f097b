/**
 * Property, through the webhook processor's store path: the real handler (`functions/webhook/process-events.ts`)
 * with DynamoDB Local, fed generated payment stories whose events arrive late, duplicated, reordered and split
 * over SQS batches that run at the same time, while the API's own steps are written between them. The stored
 * payment must end as delivering each event once, in order, through the reducer alone.
 *
 * Stripe is a read-only stand-in that answers the processor's reads from the story's state at that moment.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDb, startDynamoDb, useDynamoDb } from '../../local/dynamodb.ts';
import { lambdaContext } from '../../local/lambda.ts';
import { environmentDependencies } from '../../shared/environment.ts';
import { getPayment, savePayment, updatePayment } from '../../shared/store/payments.ts';
import { sharedDynamoDbEndpoint } from '../support/shared-dynamodb.ts';
import {
  applyStep,
  buildTimeline,
  deliveriesAfter,
  deliverySchedule,
  inOrderSchedule,
  isKnownOrderDependence,
  paymentStory,
  playThroughReducer,
  type Timeline,
  visibleState,
} from './support/payment-story.ts';
import { type StripeReads, startStripeReads } from './support/stripe-reads.ts';

type ProcessEvents = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const RUNS = 20;
/** SQS moves a message to the DLQ after this many receives (the queue's `maxReceiveCount`). */
const MAX_RECEIVES = 5;

/** A table of this file's own (the run's DynamoDB Local may hold others). */
const TABLE = `reliability-processor-${process.pid}`;

let dynamodb: LocalDynamoDb;
let stripe: StripeReads;
let processEvents: ProcessEvents;
const previousEnv = { ...process.env };

beforeAll(async () => {
  [dynamodb, stripe] = await Promise.all([
    sharedDynamoDbEndpoint() === undefined
      ? startDynamoDb({ port: 0, tableName: TABLE })
      : useDynamoDb(sharedDynamoDbEndpoint() as string, TABLE),
    startStripeReads(),
  ]);
  Object.assign(process.env, {
    TABLE_NAME: TABLE,
    DYNAMODB_ENDPOINT: dynamodb.endpoint,
    STRIPE_API_BASE: stripe.url,
    STRIPE_SECRET_KEY: 'sk_test_reliability_reads',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler: processEvents } = (await import('../../functions/webhook/process-events.ts')) as unknown as {
    handler: ProcessEvents;
  });
});

afterAll(async () => {
  await Promise.all([dynamodb?.stop(), stripe?.close()]);
  process.env = previousEnv;
});

let messages = 0;

function sqsRecord(event: Stripe.Event, receives: number): SQSRecord {
  messages += 1;
  return {
    messageId: `msg-${messages}`,
    receiptHandle: `receipt-${messages}`,
    body: JSON.stringify(event),
    attributes: {
      ApproximateReceiveCount: String(receives),
      SentTimestamp: String(Date.now()),
      SenderId: 'reliability',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:stripe-events',
    awsRegion: 'us-east-1',
  };
}

interface Pending {
  event: Stripe.Event;
  receives: number;
}

/** Batches of the given sizes (cycled), invoked at the same time; what failed comes back for redelivery. */
async function deliverConcurrently(pending: Pending[], batchSizes: number[]): Promise<Pending[]> {
  const batches: Pending[][] = [];
  for (let start = 0, index = 0; start < pending.length; index += 1) {
    const size = batchSizes[index % batchSizes.length] ?? 10;
    batches.push(pending.slice(start, start + size));
    start += size;
  }
  const failed = await Promise.all(
    batches.map(async (batch) => {
      const records = batch.map((item) => sqsRecord(item.event, item.receives));
      const context = lambdaContext({ name: 'ProcessStripeEvents', entry: '', timeoutSeconds: 30 }, 'us-east-1');
      const { batchItemFailures } = await processEvents({ Records: records }, context);
      const failedIds = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
      return batch.filter((_, index) => failedIds.has(records[index]?.messageId ?? ''));
    }),
  );
  return failed.flat().map((item) => ({ ...item, receives: item.receives + 1 }));
}

/** Play the timeline through the store: API steps as conditional writes, events through the processor. */
async function playThroughProcessor(
  timeline: Timeline,
  schedule: ReturnType<typeof inOrderSchedule>,
  batchSizes: number[],
): Promise<{ deadLettered: number }> {
  await savePayment(environmentDependencies().store, timeline.initial);
  const groups = deliveriesAfter(schedule, timeline.entries.length);
  let retries: Pending[] = [];
  let deadLettered = 0;
  const requeue = (failed: Pending[]) => {
    deadLettered += failed.filter((item) => item.receives > MAX_RECEIVES).length;
    return failed.filter((item) => item.receives <= MAX_RECEIVES);
  };
  for (const [index, entry] of timeline.entries.entries()) {
    const before = timeline.entries[index - 1]?.stripe ?? timeline.start;
    const stored = await getPayment(environmentDependencies().store, timeline.initial.id);
    if (stored === undefined) throw new Error('the payment is not stored');
    await updatePayment(environmentDependencies().store, stored, (record) =>
      applyStep(record, entry.step, before, new Date()),
    );
    stripe.set(entry.stripe);
    const due = (groups[index] ?? []).map((delivery) => ({
      event: timeline.events[delivery.event]?.event as Stripe.Event,
      receives: 1,
    }));
    retries = requeue(await deliverConcurrently([...retries, ...due], batchSizes));
  }
  for (let round = 0; retries.length > 0 && round <= MAX_RECEIVES; round += 1) {
    retries = requeue(await deliverConcurrently(retries, batchSizes));
  }
  return { deadLettered: deadLettered + retries.length };
}

describe('the webhook processor under any delivery of events', () => {
  it('stores the in-order state whatever the delays, duplicates, order and concurrent batches', async () => {
    // Prepare
    let runs = 0;
    let deliveries = 0;
    const stories = paymentStory(fc.constant('')).filter((story) => !isKnownOrderDependence(story));
    const cases = stories.chain((story) => {
      runs += 1;
      // Event times close to now, as the processor's retry window for unrecorded attempts expects.
      const timeline = buildTimeline(
        { ...story, paymentIntentId: `pi_store_${Date.now()}_${runs}` },
        Date.now() - 60_000,
      );
      return fc.tuple(
        fc.constant(timeline),
        deliverySchedule(timeline),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 4 }),
      );
    });

    // Act & Assess
    await fc.assert(
      fc.asyncProperty(cases, async ([timeline, schedule, batchSizes]) => {
        deliveries += schedule.length;
        const expected = visibleState(playThroughReducer(timeline, inOrderSchedule(timeline)));
        const { deadLettered } = await playThroughProcessor(timeline, schedule, batchSizes);
        const stored = await getPayment(environmentDependencies().store, timeline.initial.id);
        expect(deadLettered).toBe(0);
        expect(stored && visibleState(stored)).toEqual(expected);
        // One audit entry per applied event (a read made for an event is logged under its id too, as a poll).
        const applied = (stored?.history ?? []).flatMap((entry) =>
          entry.source === 'webhook' && entry.eventId ? [entry.eventId] : [],
        );
        expect(new Set(applied).size).toBe(applied.length);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(deliveries).toBeGreaterThan(RUNS * 4);
    console.log(
      `processor property: ${RUNS} payment stories, ${deliveries} event deliveries, ${stripe.reads} Stripe reads`,
    );
  }, 120_000);
});

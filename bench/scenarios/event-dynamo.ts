/**
 * DynamoDB requests per webhook event applied, and per duplicate. Real payments go through the emulator with its
 * webhooks held; their events are then handed to the processor one at a time, each as a one-record SQS batch the
 * way the queue poller hands them over, and again as a duplicate delivery (a new SQS message, the same event).
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { backgroundProfiles } from '../../infra/handler-profiles.ts';
import { invoke, type LocalFunction, lambdaContext } from '../../local/lambda.ts';
import { toRecord } from '../../local/queue-poller.ts';
import { backgroundFunctions } from '../../shared/routes.ts';
import { PAYMENT_SORT_KEY, paymentPk } from '../../shared/store/payments.ts';
import { isHandledEventType } from '../../shared/stripe/event-types.ts';
import { type CaptureMethod, capturePayment, createPayment } from '../payments.ts';
import { type BenchStack, type DynamoTally, waitFor } from '../stack.ts';

/** What one delivery of an event did. */
export interface EventDelivery {
  eventId: string;
  type: string;
  captureMethod: CaptureMethod;
  /** `applied`: the payment changed; `unchanged`: nothing to change; `duplicate`: the event was applied before. */
  outcome: 'applied' | 'unchanged' | 'duplicate' | 'failed';
  tally: DynamoTally;
  /** The payment's stored version went up by this much. */
  versionDelta: number;
}

export interface EventDynamoResult {
  deliveries: EventDelivery[];
}

export interface StripeEventJson {
  id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
}

/** The event processor, over the stack's dependencies (as the stack's queue poller runs it). */
function processorOf(bench: BenchStack): LocalFunction {
  return {
    name: backgroundFunctions.processEvents.name,
    entry: backgroundFunctions.processEvents.entry,
    timeoutSeconds: backgroundProfiles.processEvents.timeoutSeconds,
    dependencies: () => bench.stack.deps,
  };
}

/** Measure every handled event of one manual-capture and one automatic payment, first delivery and duplicate. */
export async function measureEventDynamo(bench: BenchStack): Promise<EventDynamoResult> {
  const deliveries: EventDelivery[] = [];
  const readerId = bench.location.readers[0] as string;
  for (const captureMethod of ['manual', 'automatic'] as const) {
    await bench.quiesce();
    await bench.control('webhooks', { mode: 'hold' });
    try {
      const payment = await createPayment(bench, { captureMethod, readerId });
      await bench.tap(readerId);
      const authorized = captureMethod === 'manual' ? 'requires_capture' : 'succeeded';
      await waitFor(
        () => bench.stripeApi<{ status: string }>('GET', `/v1/payment_intents/${payment.id}`),
        (pi) => pi.status === authorized,
        { what: `PaymentIntent ${payment.id} ${authorized}` },
      );
      deliveries.push(...(await applyEventsOf(bench, payment.id, captureMethod, new Set())));
      if (captureMethod === 'manual') {
        const seen = new Set(deliveries.map((delivery) => delivery.eventId));
        await capturePayment(bench, payment.id);
        deliveries.push(...(await applyEventsOf(bench, payment.id, captureMethod, seen)));
      }
    } finally {
      // The held deliveries now arrive as duplicates of what was applied above, and change nothing.
      await bench.control('webhooks', { mode: 'deliver' });
      await bench.control('webhooks/release', {});
    }
  }
  await bench.quiesce();
  return { deliveries };
}

/** Apply the payment's not yet `seen` events in the order Stripe created them, each followed by a duplicate. */
async function applyEventsOf(
  bench: BenchStack,
  paymentIntentId: string,
  captureMethod: CaptureMethod,
  seen: ReadonlySet<string>,
): Promise<EventDelivery[]> {
  const { data } = await bench.stripeApi<{ data: StripeEventJson[] }>('GET', '/v1/events?limit=100');
  const events = data
    .filter((event) => isHandledEventType(event.type) && concerns(event, paymentIntentId) && !seen.has(event.id))
    .reverse();
  const deliveries: EventDelivery[] = [];
  for (const event of events) {
    for (const copy of ['first', 'duplicate'] as const) {
      const before = await storedVersion(bench, paymentIntentId);
      const { result, tally } = await bench.dynamo.measure(() => processRecord(bench, event));
      const versionDelta = (await storedVersion(bench, paymentIntentId)) - before;
      const failed = result.batchItemFailures.length > 0;
      const outcome = failed
        ? 'failed'
        : copy === 'duplicate'
          ? 'duplicate'
          : versionDelta > 0
            ? 'applied'
            : 'unchanged';
      deliveries.push({ eventId: event.id, type: event.type, captureMethod, outcome, tally, versionDelta });
    }
  }
  return deliveries;
}

/** Whether a Stripe event is about this PaymentIntent (itself, its charge, or a reader action processing it). */
function concerns(event: StripeEventJson, paymentIntentId: string): boolean {
  const object = event.data.object;
  if (object.id === paymentIntentId || object.payment_intent === paymentIntentId) return true;
  const action = object.action as { process_payment_intent?: { payment_intent?: unknown } } | null | undefined;
  return action?.process_payment_intent?.payment_intent === paymentIntentId;
}

/** Hand one event to the processor as a one-record batch, as the queue poller would. */
export async function processRecord(bench: BenchStack, event: StripeEventJson): Promise<SQSBatchResponse> {
  const { queueArn } = bench.stack.sqs;
  const region = bench.stack.env.AWS_REGION ?? 'us-east-1';
  const message: Message = {
    MessageId: randomUUID(),
    ReceiptHandle: randomUUID(),
    Body: JSON.stringify(event),
    Attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      SenderId: 'bench',
    },
    MessageAttributes: {
      eventId: { DataType: 'String', StringValue: event.id },
      eventType: { DataType: 'String', StringValue: event.type },
    },
  };
  const sqsEvent: SQSEvent = { Records: [toRecord(message, queueArn, region)] };
  const processor = processorOf(bench);
  try {
    const { result } = await invoke(processor, sqsEvent, lambdaContext(processor, region));
    return { batchItemFailures: (result as SQSBatchResponse | null)?.batchItemFailures ?? [] };
  } catch {
    // The whole batch failed (the handler threw): the record would come back, as with Lambda.
    return { batchItemFailures: [{ itemIdentifier: message.MessageId as string }] };
  }
}

/** The payment's stored version, read with the benchmark's own client (not counted). */
export async function storedVersion(bench: BenchStack, paymentIntentId: string): Promise<number> {
  const { Item } = await bench.table.send(
    new GetCommand({
      TableName: bench.stack.state.dynamodb.tableName,
      Key: { pk: paymentPk(paymentIntentId), sk: PAYMENT_SORT_KEY },
      ConsistentRead: true,
    }),
  );
  return Number(Item?.version ?? 0);
}

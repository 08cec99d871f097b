/**
 * SQS event source (ReportBatchItemFailures) → the Stripe events the webhook receiver queued, applied to payments
 * exactly once in effect.
 *
 * Per record: parse (a body that is not an event goes straight to the DLQ), read the payment and the event's
 * dedupe item in one request, apply the event through the reducer, and store the change together with the event
 * id in one transaction. Records of one payment run one after another, different payments in parallel. A record
 * that fails, fails alone: SQS delivers it again, and after `maxReceiveCount` failures moves it to the DLQ.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Dependencies } from '../../shared/dependencies.ts';
import { environmentDependencies } from '../../shared/environment.ts';
import { injectable } from '../../shared/injectable.ts';
import { serviceMetrics } from '../../shared/metrics.ts';
import { paymentRiskMetrics } from '../../shared/metrics-names.ts';
import { applyEvent, type EventLog, type EventOutcome } from '../../shared/operations/apply-event.ts';
import { createQueueClient } from '../../shared/queue/client.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
import { parseQueuedEvent } from '../../shared/stripe/event-observations.ts';

const logger = new Logger({ serviceName: 'webhook-processor' });
const metrics = serviceMetrics('webhook-processor');

/** A process request ends within API Gateway's 30 s: by then the API has recorded the attempt it started. */
const ATTEMPT_RECORDING_WINDOW_SECONDS = 45;

/** The processor's dependencies: the operations' and the queue, for the DLQ and for early retries. */
export interface ProcessorDependencies extends Dependencies {
  queue: SQSClient;
}

let fromEnvironment: ProcessorDependencies | undefined;

function environment(): ProcessorDependencies {
  fromEnvironment ??= { ...environmentDependencies(), queue: createQueueClient(environmentDependencies().settings) };
  return fromEnvironment;
}

export const handler = injectable(
  (deps: () => ProcessorDependencies) =>
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
      processBatch(deps(), event, context),
  environment,
);

async function processBatch(deps: ProcessorDependencies, event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  // One processor per invocation: its record lists are per batch, even if invocations share a process (locally).
  const processor = new BatchProcessor(EventType.SQS);
  const inPaymentOrder = serialPerKey();
  // Every Stripe call of every record ends before the invocation's time is up: a record out of time fails alone (and
  // comes back), never the whole batch.
  const remainingMs = () => context.getRemainingTimeInMillis() - eventQueue.recordMarginMs;
  try {
    const recordHandler = (record: SQSRecord) =>
      handleRecord(deps, record, inPaymentOrder, remainingMs).catch((error: unknown) => {
        logger.error('Event record failed; SQS delivers it again', {
          messageId: record.messageId,
          error: error as Error,
        });
        throw error;
      });
    return await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
  } finally {
    metrics.publishStoredMetrics();
  }
}

/** The operation's log: the logger, and a metric for every refund that failed (an alarm watches it). */
const eventLog: EventLog = {
  warn: (message, details) => logger.warn(message, details),
  refundFailed: (refund) => {
    logger.warn('Refund failed', { ...refund });
    count(paymentRiskMetrics.refundsFailed);
  },
};

async function handleRecord(
  deps: ProcessorDependencies,
  record: SQSRecord,
  inPaymentOrder: ReturnType<typeof serialPerKey>,
  remainingMs: () => number,
): Promise<void> {
  const queued = parseQueuedEvent(record.body);
  if (queued.kind === 'poison') {
    // Never log the body; it goes to the DLQ as it is, where an operator can read it.
    logger.error('Poison event message sent to the DLQ', {
      messageId: record.messageId,
      reason: queued.reason,
      ...ids(queued.event),
    });
    await sendToDeadLetterQueue(deps, record, queued.reason);
    count('EventsPoison');
    return;
  }
  if (queued.kind === 'ignored') {
    logger.info('Event concerns no payment', { ...ids(queued.event), reason: queued.reason });
    count('EventsIgnored');
    return;
  }

  const keys = { ...ids(queued.event), paymentId: queued.paymentIntentId };
  const outcome = await inPaymentOrder(queued.paymentIntentId, () =>
    applyEvent(deps, queued, eventLog, { remainingMs }),
  );
  if (outcome === 'unrecorded_attempt') {
    const receives = Number(record.attributes.ApproximateReceiveCount ?? '1');
    const ageSeconds = deps.clock.now() / 1000 - queued.event.created;
    if (ageSeconds < ATTEMPT_RECORDING_WINDOW_SECONDS && receives < eventQueue.maxReceiveCount) {
      // Come back in 2, 4, 8, 16 s (not the queue's 3 minutes): the API records its attempt within seconds.
      await retrySoon(deps, record, 2 ** receives);
      throw new Error(`Event ${queued.event.id} may belong to a process attempt not recorded yet`);
    }
    logger.warn('Reader event matches no recorded process attempt', { ...keys, receives, ageSeconds });
  } else if (outcome === 'unknown_payment') {
    logger.info('Event for a PaymentIntent this system does not hold', keys);
  } else {
    logger.info('Event processed', { ...keys, verdict: outcome });
  }
  count(outcomeMetrics[outcome]);
}

const outcomeMetrics: Record<EventOutcome, string> = {
  applied: 'EventsApplied',
  unchanged: 'EventsUnchanged',
  stale: 'EventsStale',
  duplicate: 'EventsDuplicate',
  unknown_payment: 'EventsUnknownPayment',
  unrecorded_attempt: 'EventsUnmatched',
};

async function sendToDeadLetterQueue(deps: ProcessorDependencies, record: SQSRecord, reason: string): Promise<void> {
  const dlqUrl = deps.settings.EVENT_DLQ_URL;
  // Without a DLQ to send to, failing the record lets the queue's redrive policy move it there.
  if (dlqUrl === undefined) throw new Error('EVENT_DLQ_URL is not configured');
  await deps.queue.send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: reason },
        sourceMessageId: { DataType: 'String', StringValue: record.messageId },
      },
    }),
  );
}

async function retrySoon(deps: ProcessorDependencies, record: SQSRecord, seconds: number): Promise<void> {
  // The record's own queue; from its ARN when EVENT_QUEUE_URL is not set (AWS's standard partition).
  const [, , , region, account, name] = record.eventSourceARN.split(':');
  const queueUrl = deps.settings.EVENT_QUEUE_URL ?? `https://sqs.${region}.amazonaws.com/${account}/${name}`;
  try {
    await deps.queue.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  } catch (error) {
    // The queue's own visibility timeout still brings the record back, only later.
    logger.warn('Could not shorten the retry delay', { messageId: record.messageId, error: error as Error });
  }
}

/** Runs tasks with the same key one after another (in arrival order), tasks with different keys concurrently. */
function serialPerKey() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(task);
    tails.set(
      key,
      run.catch(() => undefined),
    );
    return run;
  };
}

function ids(event: { id: string; type: string } | undefined) {
  return event === undefined ? {} : { eventId: event.id, eventType: event.type };
}

function count(name: string): void {
  metrics.addMetric(name, MetricUnit.Count, 1);
}

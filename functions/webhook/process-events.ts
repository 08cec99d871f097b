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
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { config } from '../../shared/config.ts';
import { METRICS_NAMESPACE } from '../../shared/metrics-names.ts';
import { currentAttempt } from '../../shared/payments/record.ts';
import { applyObservations } from '../../shared/payments/reducer.ts';
import type { Observation, ObservationOrigin, PaymentRecord } from '../../shared/payments/types.ts';
import { sqs } from '../../shared/queue/client.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
import { EventAlreadyAppliedError, readPaymentForEvent, savePaymentWithEvent } from '../../shared/store/events.ts';
import { applyToPayment, VersionConflictError } from '../../shared/store/payments.ts';
import { retrievePaymentIntent, retrieveReader, sleep } from '../../shared/stripe/calls.ts';
import { stripeErrorCode } from '../../shared/stripe/errors.ts';
import {
  authorizedElsewhere,
  mayBelongToUnrecordedAttempt,
  type PaymentEvent,
  parseQueuedEvent,
} from '../../shared/stripe/event-observations.ts';
import { paymentIntentObservation, readerActionObservation } from '../../shared/stripe/snapshots.ts';
import { cancelReaderAction, readerRunsPayment } from '../../shared/stripe/terminal.ts';
import { unixSeconds } from '../../shared/time.ts';

const logger = new Logger({ serviceName: 'webhook-processor' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'webhook-processor' });

/** Re-reads after a concurrent write to the same payment, before the record is left for SQS to retry. */
const MAX_APPLY_ATTEMPTS = 5;
/** A process request ends within API Gateway's 30 s: by then the API has recorded the attempt it started. */
const ATTEMPT_RECORDING_WINDOW_SECONDS = 45;

type Outcome = 'applied' | 'unchanged' | 'stale' | 'duplicate' | 'unknown_payment' | 'unrecorded_attempt';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  // One processor per invocation: its record lists are per batch, even if invocations share a process (locally).
  const processor = new BatchProcessor(EventType.SQS);
  const inPaymentOrder = serialPerKey();
  try {
    const recordHandler = (record: SQSRecord) =>
      handleRecord(record, inPaymentOrder).catch((error: unknown) => {
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
};

async function handleRecord(record: SQSRecord, inPaymentOrder: ReturnType<typeof serialPerKey>): Promise<void> {
  const queued = parseQueuedEvent(record.body);
  if (queued.kind === 'poison') {
    // Never log the body; it goes to the DLQ as it is, where an operator can read it.
    logger.error('Poison event message sent to the DLQ', {
      messageId: record.messageId,
      reason: queued.reason,
      ...ids(queued.event),
    });
    await sendToDeadLetterQueue(record, queued.reason);
    count('EventsPoison');
    return;
  }
  if (queued.kind === 'ignored') {
    logger.info('Event concerns no payment', { ...ids(queued.event), reason: queued.reason });
    count('EventsIgnored');
    return;
  }

  const keys = { ...ids(queued.event), paymentId: queued.paymentIntentId };
  const outcome = await inPaymentOrder(queued.paymentIntentId, () => applyEvent(queued));
  if (outcome === 'unrecorded_attempt') {
    const receives = Number(record.attributes.ApproximateReceiveCount ?? '1');
    const ageSeconds = Date.now() / 1000 - queued.event.created;
    if (ageSeconds < ATTEMPT_RECORDING_WINDOW_SECONDS && receives < eventQueue.maxReceiveCount) {
      // Come back in 2, 4, 8, 16 s (not the queue's 3 minutes): the API records its attempt within seconds.
      await retrySoon(record, 2 ** receives);
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

const outcomeMetrics: Record<Outcome, string> = {
  applied: 'EventsApplied',
  unchanged: 'EventsUnchanged',
  stale: 'EventsStale',
  duplicate: 'EventsDuplicate',
  unknown_payment: 'EventsUnknownPayment',
  unrecorded_attempt: 'EventsUnmatched',
};

/** Apply one event to its payment: one read, and one transactional write when the payment changed. */
async function applyEvent(queued: PaymentEvent): Promise<Outcome> {
  const { event } = queued;
  const reads: { paymentIntent?: Observation; reader?: Observation | null } = {};
  for (let attempt = 1; ; attempt += 1) {
    const { payment, alreadyApplied } = await readPaymentForEvent(queued.paymentIntentId, event.id);
    if (alreadyApplied) return 'duplicate';
    if (payment === undefined) return 'unknown_payment';
    const origin: ObservationOrigin = { source: 'poll', eventId: event.id, eventType: event.type };
    if (queued.readerObservation && authorizedElsewhere(payment, queued.readerObservation)) {
      await releaseOtherReader(payment, origin);
      return 'applied';
    }
    if (queued.readerObservation && mayBelongToUnrecordedAttempt(payment, queued.readerObservation)) {
      return 'unrecorded_attempt';
    }
    if (queued.readPaymentIntent && reads.paymentIntent === undefined) {
      // A connection error may hide an authorization: record what the PaymentIntent shows, before the failure.
      const readAtMs = Date.now();
      reads.paymentIntent = paymentIntentObservation(await retrievePaymentIntent(payment.id), origin, readAtMs);
    }
    let observations = reads.paymentIntent ? [reads.paymentIntent, ...queued.observations] : queued.observations;
    const now = new Date();
    let result = applyObservations(payment, observations, now);
    if (result.verdict === 'ambiguous') {
      // The event may be an earlier attempt's, from the second this one started: the reader says which it is.
      if (reads.reader === undefined) reads.reader = await readReaderAfterAttemptStart(payment, origin);
      const readerRead = reads.reader === null ? [] : [reads.reader];
      observations = observations.flatMap((o) => (o === queued.readerObservation ? readerRead : [o]));
      result = applyObservations(payment, observations, now);
      if (result.verdict === 'ambiguous') throw new Error(`Reader read for event ${event.id} is still ambiguous`);
    }
    if (!result.changed) return result.verdict === 'stale' ? 'stale' : 'unchanged';

    try {
      const applied = { id: event.id, type: event.type, created: event.created, paymentIntentId: payment.id };
      await savePaymentWithEvent(result.record, applied, now);
      return 'applied';
    } catch (error) {
      if (error instanceof EventAlreadyAppliedError) return 'duplicate';
      if (!(error instanceof VersionConflictError) || attempt >= MAX_APPLY_ATTEMPTS) throw error;
      await sleep(Math.random() * 20 * attempt);
    }
  }
}

/**
 * The payment was authorized on another reader than its current attempt's (a command that reached a reader
 * although Stripe reported it did not): free the current attempt's reader, which may still wait for a card for a
 * PaymentIntent that is already paid, then record what Stripe holds, the PaymentIntent first.
 */
async function releaseOtherReader(payment: PaymentRecord, origin: ObservationOrigin): Promise<void> {
  const attempt = currentAttempt(payment);
  const reader = attempt === undefined ? undefined : await retrieveReader(attempt.readerId);
  if (attempt !== undefined && reader !== undefined && readerRunsPayment(reader, payment.id)) {
    logger.warn('Payment authorized on another reader than its current attempt; freeing that reader', {
      paymentId: payment.id,
      readerId: attempt.readerId,
    });
    try {
      await cancelReaderAction(attempt.readerId, `${payment.id}:${attempt.number}`);
    } catch (error) {
      // Offline, it cannot take a card either; busy, a card is being read: the event comes back to look again.
      if (stripeErrorCode(error) !== 'terminal_reader_offline') throw error;
    }
  }
  const readAtMs = Date.now();
  const paymentIntent = paymentIntentObservation(await retrievePaymentIntent(payment.id), origin, readAtMs);
  await applyToPayment(payment, [paymentIntent]);
}

/**
 * The reader's action, read in a later second than the current attempt's start, so that the reducer can tell
 * the attempts apart. Null when the reader no longer exists.
 */
async function readReaderAfterAttemptStart(
  payment: PaymentRecord,
  origin: ObservationOrigin,
): Promise<Observation | null> {
  const attempt = currentAttempt(payment);
  if (attempt === undefined) return null;
  const nextSecondMs = (unixSeconds(attempt.startedAtMs) + 1) * 1000;
  if (Date.now() < nextSecondMs) await sleep(nextSecondMs - Date.now());
  const readAtMs = Date.now();
  const reader = await retrieveReader(attempt.readerId);
  return reader === undefined ? null : readerActionObservation(reader, origin, unixSeconds(readAtMs));
}

async function sendToDeadLetterQueue(record: SQSRecord, reason: string): Promise<void> {
  const dlqUrl = config().EVENT_DLQ_URL;
  // Without a DLQ to send to, failing the record lets the queue's redrive policy move it there.
  if (dlqUrl === undefined) throw new Error('EVENT_DLQ_URL is not configured');
  await sqs().send(
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

async function retrySoon(record: SQSRecord, seconds: number): Promise<void> {
  // The record's own queue; from its ARN when EVENT_QUEUE_URL is not set (AWS's standard partition).
  const [, , , region, account, name] = record.eventSourceARN.split(':');
  const queueUrl = config().EVENT_QUEUE_URL ?? `https://sqs.${region}.amazonaws.com/${account}/${name}`;
  try {
    await sqs().send(
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

/**
 * The local SQS event source mapping: long-polls the event queue, invokes the processor with an `SQSEvent`
 * shaped as Lambda builds it, deletes what succeeded and leaves `batchItemFailures` (or the whole batch, when
 * the handler throws) to come back after the visibility timeout. The queue's redrive policy, not the
 * poller, moves a message that keeps failing to the DLQ.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import { handlerExists, invoke, type LocalFunction, lambdaContext } from './lambda.ts';

export interface QueuePollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  region?: string;
  function: LocalFunction;
  /** Records per invocation (the mapping's `batchSize`). */
  batchSize: number;
  /** Long-poll wait; Lambda's pollers use 20 s. */
  waitTimeSeconds?: number;
  /** Concurrent pollers, each invoking one batch at a time (the mapping's `maximumConcurrency`). */
  concurrency?: number;
  /** Pause between checks while the handler module does not exist. */
  idleCheckMs?: number;
  log?: (line: string) => void;
}

/** Outcome of one batch, for tests and logs. */
export interface BatchOutcome {
  /** The records the handler was given. */
  records: SQSRecord[];
  received: number;
  deleted: number;
  failed: number;
  /** The handler threw or timed out: every record stays for redelivery. */
  error?: Error;
}

export interface QueuePoller {
  /** False while the handler module does not exist (messages wait in the queue, as with no mapping). */
  readonly active: boolean;
  /** Called after every batch. */
  onBatch(listener: (outcome: BatchOutcome) => void): void;
  /** Stop polling and resolve once the in-flight batches are done. */
  stop(): Promise<void>;
}

/** Start polling. While the handler file is missing the poller is wired but idle, and checks again later. */
export function startQueuePoller(options: QueuePollerOptions): QueuePoller {
  const log = options.log ?? ((line: string) => console.error(line));
  const region = options.region ?? 'us-east-1';
  const abort = new AbortController();
  const listeners: ((outcome: BatchOutcome) => void)[] = [];
  let active = handlerExists(options.function);
  if (!active) log(`queue poller: ${options.function.entry} does not exist yet; events wait in the queue`);

  async function pollOnce(): Promise<void> {
    if (!handlerExists(options.function)) {
      await sleep(options.idleCheckMs ?? 2_000, abort.signal);
      return;
    }
    if (!active) log(`queue poller: ${options.function.entry} appeared; delivering events to it`);
    active = true;
    const { Messages = [] } = await options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: options.batchSize,
        WaitTimeSeconds: options.waitTimeSeconds ?? 20,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    if (Messages.length === 0) return;
    const outcome = await processBatch(Messages);
    for (const listener of listeners) listener(outcome);
  }

  async function processBatch(messages: Message[]): Promise<BatchOutcome> {
    const event: SQSEvent = { Records: messages.map((message) => toRecord(message, options.queueArn, region)) };
    const context = lambdaContext(options.function, region);
    let failedIds: Set<string>;
    try {
      const { result } = await invoke(options.function, event, context);
      failedIds = batchItemFailures(result, event);
    } catch (error) {
      log(`${options.function.name} failed, request ${context.awsRequestId}: ${(error as Error).stack ?? error}`);
      return {
        records: event.Records,
        received: messages.length,
        deleted: 0,
        failed: messages.length,
        error: error as Error,
      };
    }
    const succeeded = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
    if (succeeded.length > 0) {
      await options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: succeeded.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
    return {
      records: event.Records,
      received: messages.length,
      deleted: succeeded.length,
      failed: messages.length - succeeded.length,
    };
  }

  async function loop(): Promise<void> {
    while (!abort.signal.aborted) {
      try {
        await pollOnce();
      } catch (error) {
        if (abort.signal.aborted) return;
        log(`queue poller: ${(error as Error).message}`);
        await sleep(1_000, abort.signal);
      }
    }
  }

  const loops = Array.from({ length: options.concurrency ?? 1 }, () => loop());
  return {
    get active() {
      return active;
    },
    onBatch(listener) {
      listeners.push(listener);
    },
    async stop() {
      // Aborting ends a waiting long poll at once; a batch already handed to the handler runs to its end.
      abort.abort();
      await Promise.all(loops);
    },
  };
}

/**
 * The record ids to keep, per Lambda's ReportBatchItemFailures rules: no response, `{}` or an empty list is
 * full success; an entry that is empty or names no record of the batch fails the whole batch.
 */
function batchItemFailures(result: unknown, event: SQSEvent): Set<string> {
  const all = new Set(event.Records.map((record) => record.messageId));
  if (result === null || typeof result !== 'object') return new Set();
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const ids = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    ids.add(id);
  }
  return ids;
}

/** One SQS message as a Lambda `SQSRecord`. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const messageAttributes: Record<string, SQSMessageAttribute> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = toLambdaAttribute(value);
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: message.Attributes as unknown as SQSRecord['attributes'],
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Lambda spells attributes in camel case, binary as base64, with the (unused) list fields present. */
function toLambdaAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
    dataType: value.DataType ?? 'String',
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

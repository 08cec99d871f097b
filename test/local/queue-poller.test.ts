import { createHash } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BatchOutcome, type QueuePoller, startQueuePoller } from '../../local/queue-poller.ts';
import { type LocalSqs, startSqs } from '../../local/sqs.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
import type { BatchRecorder } from './fixtures/batch.ts';

const processor = { name: 'ProcessStripeEvents', entry: 'test/local/fixtures/batch.ts', timeoutSeconds: 5 };
const recorder = (): BatchRecorder => {
  const shared = globalThis as { batchFixture?: BatchRecorder };
  shared.batchFixture ??= { events: [], finished: 0 };
  return shared.batchFixture;
};

let sqs: LocalSqs;
let poller: QueuePoller | undefined;
let outcomes: BatchOutcome[];

beforeEach(async () => {
  recorder().events.length = 0;
  recorder().finished = 0;
  outcomes = [];
  inDlq = [];
  // Redelivery after 1 s and the DLQ after the second failed receive keep the tests to a few seconds.
  sqs = await startSqs({ port: 0, visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  await sqs.stop();
});

function startPoller(entry = processor.entry): QueuePoller {
  poller = startQueuePoller({
    client: sqs.client,
    queueUrl: sqs.queueUrl,
    queueArn: sqs.queueArn,
    function: { ...processor, entry },
    batchSize: eventQueue.batchSize,
    waitTimeSeconds: 1,
    idleCheckMs: 100,
    log: () => undefined,
  });
  poller.onBatch((outcome) => outcomes.push(outcome));
  return poller;
}

async function send(bodies: string[], attributes: Record<string, MessageAttributeValue> = {}): Promise<void> {
  await sqs.client.send(
    new SendMessageBatchCommand({
      QueueUrl: sqs.queueUrl,
      Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body, MessageAttributes: attributes })),
    }),
  );
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function messagesIn(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

/** Bodies that reached the DLQ so far (receiving hides them there, so they are collected as they come). */
let inDlq: string[] = [];
async function dlqBodies(): Promise<string[]> {
  const { Messages = [] } = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: sqs.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  inDlq = [...inDlq, ...Messages.map((message) => message.Body ?? '')].sort();
  return inDlq;
}

function receivesOf(body: string): SQSRecord[] {
  return recorder()
    .events.flatMap((event) => event.Records)
    .filter((record) => record.body === body);
}

describe('the local SQS event source mapping', () => {
  it('invokes the handler with records shaped as Lambda builds them', async () => {
    // Prepare
    const body = JSON.stringify({ id: 'evt_1', type: 'terminal.reader.action_succeeded' });
    await send([body], {
      eventId: { DataType: 'String', StringValue: 'evt_1' },
      attempt: { DataType: 'Number', StringValue: '2' },
      digest: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 255]) },
    });

    // Act
    startPoller();
    await waitFor(() => outcomes.length === 1);

    // Assess
    const [event] = recorder().events;
    expect(event?.Records).toHaveLength(1);
    const record = event?.Records[0] as SQSRecord;
    expect(record).toMatchObject({
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: sqs.queueArn,
      awsRegion: 'us-east-1',
      messageAttributes: {
        eventId: { stringValue: 'evt_1', stringListValues: [], binaryListValues: [], dataType: 'String' },
        attempt: { stringValue: '2', stringListValues: [], binaryListValues: [], dataType: 'Number' },
        digest: {
          binaryValue: Buffer.from([1, 2, 255]).toString('base64'),
          stringListValues: [],
          binaryListValues: [],
          dataType: 'Binary',
        },
      },
    });
    expect(record.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.receiptHandle).toBeTruthy();
    expect(record.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(record.attributes.SentTimestamp),
    );
    expect(record.attributes.SenderId).toBeTruthy();
    expect(outcomes[0]).toMatchObject({ received: 1, deleted: 1, failed: 0 });
    expect(outcomes[0]?.records).toEqual(event?.Records);
    expect(await messagesIn(sqs.queueUrl)).toBe(0);
  });

  it('deletes the records that succeeded and redelivers batchItemFailures until the DLQ takes them', async () => {
    // Prepare
    await send(['ok-1', 'fail', 'ok-2']);

    // Act
    startPoller();
    await waitFor(async () => (await dlqBodies()).includes('fail'));

    // Assess
    expect(receivesOf('ok-1')).toHaveLength(1);
    expect(receivesOf('ok-2')).toHaveLength(1);
    expect(receivesOf('fail').map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(outcomes[0]).toMatchObject({ received: 3, deleted: 2, failed: 1 });
    expect(await messagesIn(sqs.queueUrl)).toBe(0);
  });

  it.each([
    { case: 'the handler throws', poison: 'throw' },
    { case: 'a batchItemFailures entry names no record of the batch', poison: 'bogus' },
  ])('keeps the whole batch for redelivery when $case', async ({ poison }) => {
    // Prepare
    await send(['ok-beside-poison', poison]);

    // Act
    startPoller();
    await waitFor(async () => (await dlqBodies()).length === 2);

    // Assess
    expect(receivesOf('ok-beside-poison').map((record) => record.attributes.ApproximateReceiveCount)).toEqual([
      '1',
      '2',
    ]);
    expect(outcomes[0]).toMatchObject({ received: 2, deleted: 0, failed: 2 });
    expect(inDlq).toEqual(['ok-beside-poison', poison].sort());
  });

  it('is wired but idle while the handler file does not exist, leaving events in the queue', async () => {
    // Prepare
    await send(['waiting']);

    // Act
    const idle = startPoller('test/local/fixtures/not-written-yet.ts');
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    expect(idle.active).toBe(false);
    expect(outcomes).toHaveLength(0);
    expect(await messagesIn(sqs.queueUrl)).toBe(1);
  });

  it('stops only after the batch in flight has finished and been deleted', async () => {
    // Prepare
    await send(['slow']);
    startPoller();
    await waitFor(() => recorder().events.length === 1);

    // Act
    await poller?.stop();

    // Assess
    expect(recorder().finished).toBe(1);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ received: 1, deleted: 1, failed: 0 });
    expect(await messagesIn(sqs.queueUrl)).toBe(0);
  });
});

/**
 * The local DynamoDB Streams event source mapping on DynamoDB Local: records in order, the filter applied, batch
 * item failures retried from the failed record, a crashing batch bisected until the bad record is alone and then
 * sent to the on-failure destination, the others delivered.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalDynamoDb, startDynamoDb, useDynamoDb } from '../../local/dynamodb.ts';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.ts';
import { createDocumentClient } from '../../shared/store/client.ts';
import { sharedDynamoDbEndpoint } from '../support/shared-dynamodb.ts';
import type { StreamRecorder } from './fixtures/stream.ts';

const TABLE = `stream-${randomUUID().slice(0, 8)}`;
let dynamodb: LocalDynamoDb;
let poller: StreamPoller;

const recorder = (): StreamRecorder => {
  const shared = globalThis as { streamFixture?: StreamRecorder };
  shared.streamFixture ??= { batches: [], failedOnce: new Set() };
  return shared.streamFixture;
};

beforeAll(async () => {
  const shared = sharedDynamoDbEndpoint();
  dynamodb =
    shared === undefined ? await startDynamoDb({ port: 0, tableName: TABLE }) : await useDynamoDb(shared, TABLE);
  poller = await startStreamPoller({
    client: dynamodb.client,
    endpoint: dynamodb.endpoint,
    tableName: TABLE,
    function: { name: 'StreamFixture', entry: 'test/local/fixtures/stream.ts', timeoutSeconds: 5 },
    batchSize: 100,
    filterPatterns: [{ eventName: ['INSERT'], dynamodb: { NewImage: { entity: { S: ['kept'] } } } }],
    bisectBatchOnError: true,
    retryAttempts: 2,
    startingPosition: 'TRIM_HORIZON',
    pollIntervalMs: 20,
    retryDelayMs: 10,
    log: () => undefined,
  });
});

afterAll(async () => {
  await poller?.stop();
  await dynamodb?.stop();
});

beforeEach(() => {
  recorder().batches.length = 0;
});

/** Write the items in one batch window: the reader sleeps while they are written, so they come in one read. */
async function write(items: Record<string, unknown>[]): Promise<void> {
  const db = createDocumentClient('us-east-1', dynamodb.endpoint);
  for (const item of items) await db.send(new PutCommand({ TableName: TABLE, Item: { sk: 'X', ...item } }));
}

const delivered = () => recorder().batches.flat();

describe('the local stream event source mapping', () => {
  it('delivers matching inserts in order and drops what the filter rejects', async () => {
    // Act
    await write([
      { pk: 'a1', entity: 'kept' },
      { pk: 'a2', entity: 'skipped' },
      { pk: 'a3', entity: 'kept' },
    ]);
    await write([{ pk: 'a1', entity: 'kept', changed: true }]);

    // Assess
    await expect.poll(() => delivered().filter((id) => id.startsWith('a'))).toEqual(['a1', 'a3']);
  });

  it('retries a batch item failure from the failed record on, once it fails no more', async () => {
    // Act
    await write([
      { pk: 'b1', entity: 'kept' },
      { pk: 'b2', entity: 'kept', fail: true },
      { pk: 'b3', entity: 'kept' },
    ]);

    // Assess: b3 may come first in the very batch that fails at b2, so wait for b2's second delivery too.
    const count = (id: string) => delivered().filter((delivery) => delivery === id).length;
    await expect.poll(() => count('b3') >= 1 && count('b2') >= 2).toBe(true);
    const b = recorder()
      .batches.map((batch) => batch.filter((id) => id.startsWith('b')))
      .filter((batch) => batch.length);
    // b1 is never delivered again once applied; b2 and what follows it are.
    expect(b.flat().filter((id) => id === 'b1')).toHaveLength(1);
    expect(b.flat().filter((id) => id === 'b2')).toHaveLength(2);
  });

  it('bisects a crashing batch until the bad record is alone, and sends only it to the destination', async () => {
    // Prepare
    const before = poller.failed.length;

    // Act
    await write([
      { pk: 'c1', entity: 'kept' },
      { pk: 'c2', entity: 'kept' },
      { pk: 'c3', entity: 'kept', poison: true },
      { pk: 'c4', entity: 'kept' },
    ]);

    // Assess
    await expect.poll(() => poller.failed.length).toBe(before + 1);
    const failed = poller.failed.at(-1);
    expect(failed?.records.map((record) => record.dynamodb?.NewImage?.pk?.S)).toEqual(['c3']);
    // The half after the bad record comes once the bad record has gone to the destination.
    await expect.poll(() => ['c1', 'c2', 'c4'].every((id) => delivered().includes(id))).toBe(true);
    // Alone, the bad record was tried once and retried twice (`retryAttempts`).
    expect(recorder().batches.filter((batch) => batch.length === 1 && batch[0] === 'c3')).toHaveLength(3);
  });
});

/**
 * A shard iterator that can no longer be read (expired, or behind the oldest record the stream still holds) is
 * replaced, so the shard goes on delivering. DynamoDB Local trims and expires on its own schedule, so these faults are
 * produced with a mocked streams client; everything else about the poller is tested on DynamoDB Local.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStreamPoller } from '../../local/stream-poller.ts';
import type { StreamRecorder } from './fixtures/stream.ts';

const STREAM = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1';
const streams = mockClient(DynamoDBStreamsClient);

const table = { send: async () => ({ Table: { LatestStreamArn: STREAM } }) } as unknown as DynamoDBClient;

const recorder = (): StreamRecorder => {
  const shared = globalThis as { streamFixture?: StreamRecorder };
  shared.streamFixture ??= { batches: [], failedOnce: new Set() };
  return shared.streamFixture;
};

function record(id: string, sequence: string) {
  return {
    eventID: `e-${sequence}`,
    eventName: 'INSERT' as const,
    dynamodb: { SequenceNumber: sequence, NewImage: { pk: { S: id }, entity: { S: 'kept' } } },
  };
}

async function delivered(count: number): Promise<string[]> {
  const until = Date.now() + 5_000;
  while (recorder().batches.flat().length < count && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return recorder().batches.flat();
}

async function startPoller(log: string[]) {
  return startStreamPoller({
    client: table,
    endpoint: 'http://localhost:1',
    tableName: 't',
    function: { name: 'StreamFixture', entry: 'test/local/fixtures/stream.ts', timeoutSeconds: 5 },
    batchSize: 100,
    filterPatterns: [{ eventName: ['INSERT'] }],
    bisectBatchOnError: false,
    retryAttempts: 0,
    startingPosition: 'TRIM_HORIZON',
    pollIntervalMs: 10,
    log: (line) => log.push(line),
  });
}

beforeEach(() => {
  recorder().batches.length = 0;
  streams.reset();
  streams.on(DescribeStreamCommand).resolves({ StreamDescription: { Shards: [{ ShardId: 'shard-1' }] } });
  streams.on(GetRecordsCommand).resolves({ Records: [], NextShardIterator: 'idle' });
});

afterEach(() => {
  streams.reset();
});

describe('a shard iterator that can no longer be read', () => {
  it('behind the oldest record kept: a new one at the trim horizon, and the shard delivers again', async () => {
    // Prepare
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'first' });
    streams
      .on(GetShardIteratorCommand, { ShardIteratorType: 'TRIM_HORIZON', ShardId: 'shard-1', StreamArn: STREAM })
      .resolvesOnce({ ShardIterator: 'first' })
      .resolves({ ShardIterator: 'fresh' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'first' })
      .rejects(new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} }));
    streams
      .on(GetRecordsCommand, { ShardIterator: 'fresh' })
      .resolves({ Records: [record('a', '1')], NextShardIterator: 'idle' });
    const log: string[] = [];

    // Act
    const poller = await startPoller(log);
    const ids = await delivered(1);
    await poller.stop();

    // Assess
    expect(ids).toEqual(['a']);
    expect(log.some((line) => line.includes('trimmed'))).toBe(true);
  });

  it('expired: a new one after the last record read, so nothing is delivered twice', async () => {
    // Prepare
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'first' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'first' })
      .resolves({ Records: [record('a', '1')], NextShardIterator: 'second' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'second' })
      .rejects(new ExpiredIteratorException({ message: 'expired', $metadata: {} }));
    streams
      .on(GetShardIteratorCommand, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: '1' })
      .resolves({ ShardIterator: 'after-1' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'after-1' })
      .resolves({ Records: [record('b', '2')], NextShardIterator: 'idle' });
    const log: string[] = [];

    // Act
    const poller = await startPoller(log);
    const ids = await delivered(2);
    await poller.stop();

    // Assess
    expect(ids).toEqual(['a', 'b']);
  });
});

/**
 * The local DynamoDB Streams event source mapping: reads the table's stream from DynamoDB Local shard by shard,
 * drops the records the mapping's filter rejects, and invokes the function with a `DynamoDBStreamEvent` shaped as
 * Lambda builds it, in stream order.
 *
 * Failures as the mapping is configured (`shared/live/definition.ts`): `batchItemFailures` retry the batch from the
 * lowest failed sequence number; a function error splits the batch in two (bisect) until the failing record is
 * alone; a batch that still fails after `retryAttempts` goes to the on-failure destination (here: `failed`, and a
 * log line) and the shard moves on.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { invoke, type LocalFunction, lambdaContext } from './lambda.ts';

export interface StreamPollerOptions {
  client: DynamoDBClient;
  endpoint: string;
  region?: string;
  tableName: string;
  function: LocalFunction;
  batchSize: number;
  /** Lambda's event filter patterns; a record must match one. */
  filterPatterns: readonly object[];
  bisectBatchOnError: boolean;
  retryAttempts: number;
  /** `TRIM_HORIZON` for a new table; `LATEST` for one kept across restarts (old changes are not published again). */
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
  /** Pause when a shard had nothing new; Lambda polls four times a second. */
  pollIntervalMs?: number;
  retryDelayMs?: number;
  log?: (line: string) => void;
}

export interface FailedBatch {
  records: DynamoDBRecord[];
  reason: string;
}

export interface StreamPoller {
  /** Batches sent to the on-failure destination. */
  readonly failed: readonly FailedBatch[];
  /** Invocations made so far. */
  invocations(): number;
  stop(): Promise<void>;
}

interface Shard {
  id: string;
  iterator: string | undefined;
  /** The last record read from it: where a fresh iterator resumes when this one expires. */
  lastSequence?: string;
}

/**
 * A shard iterator that can no longer be read: expired (iterators last 15 minutes), or pointing before the oldest
 * record the stream still holds. Retrying it fails forever, so the shard would deliver nothing more.
 */
function isLostIterator(error: unknown): 'expired' | 'trimmed' | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'ExpiredIteratorException') return 'expired';
  if (name === 'TrimmedDataAccessException') return 'trimmed';
  return undefined;
}

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? ((line: string) => console.error(line));
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const streams = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const { Table } = await options.client.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = Table?.LatestStreamArn;
  if (streamArn === undefined) throw new Error(`Table ${options.tableName} has no stream`);

  const failed: FailedBatch[] = [];
  const shards = new Map<string, Shard>();
  const finished = new Set<string>();
  let invocations = 0;
  let stopped = false;
  let wake: (() => void) | undefined;

  async function discoverShards(position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    let start: string | undefined;
    do {
      const { StreamDescription } = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        const id = shard.ShardId as string;
        if (shards.has(id) || finished.has(id)) continue;
        // Shards already closed when reading starts at LATEST hold nothing new.
        if (position === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) {
          finished.add(id);
          continue;
        }
        const { ShardIterator } = await streams.send(
          new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: position }),
        );
        shards.set(id, { id, iterator: ShardIterator });
      }
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);
  }

  async function deliver(records: DynamoDBRecord[]): Promise<void> {
    let pending = records;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      let outcome: DynamoDBBatchResponse | null;
      try {
        invocations += 1;
        outcome = (await invoke(options.function, { Records: pending }, lambdaContext(options.function, region)))
          .result as DynamoDBBatchResponse | null;
      } catch (error) {
        if (options.bisectBatchOnError && pending.length > 1) {
          const half = Math.ceil(pending.length / 2);
          await deliver(pending.slice(0, half));
          await deliver(pending.slice(half));
          return;
        }
        if (attempt >= options.retryAttempts) return sendToDestination(pending, (error as Error).message);
        await pause(options.retryDelayMs ?? 200);
        continue;
      }
      const failures = outcome?.batchItemFailures ?? [];
      if (failures.length === 0) return;
      const positions = failures.map((failure) =>
        pending.findIndex((record) => record.dynamodb?.SequenceNumber === failure.itemIdentifier),
      );
      // An identifier that names no record of the batch fails the whole batch, as Lambda treats it.
      const from = positions.some((position) => position < 0) ? 0 : Math.min(...positions);
      pending = pending.slice(from);
      if (attempt >= options.retryAttempts) return sendToDestination(pending, 'batch item failures');
      await pause(options.retryDelayMs ?? 200);
    }
  }

  function sendToDestination(records: DynamoDBRecord[], reason: string): void {
    failed.push({ records, reason });
    const first = records[0]?.dynamodb?.SequenceNumber;
    log(`stream poller: ${records.length} record(s) from ${first} sent to the on-failure destination: ${reason}`);
  }

  async function pollShard(shard: Shard): Promise<number> {
    if (shard.iterator === undefined) {
      shards.delete(shard.id);
      finished.add(shard.id);
      return 0;
    }
    let page: { Records?: StreamRecord[]; NextShardIterator?: string };
    try {
      page = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: options.batchSize }));
    } catch (error) {
      const lost = isLostIterator(error);
      if (lost === undefined) throw error;
      // Resume after the last record read; with none read, or when those records are gone, at the oldest one kept
      // (nothing after the iterator's position was read yet, so nothing is delivered twice).
      const resume =
        lost === 'expired' && shard.lastSequence !== undefined
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: shard.lastSequence }
          : { ShardIteratorType: 'TRIM_HORIZON' as const };
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.id, ...resume }),
      );
      log(`stream poller: shard ${shard.id} iterator ${lost}; resumed at ${resume.ShardIteratorType}`);
      shard.iterator = ShardIterator;
      return 0;
    }
    const { Records = [], NextShardIterator } = page;
    const events = Records.map((record) => lambdaRecord(record, streamArn as string, region)).filter((record) =>
      options.filterPatterns.some((pattern) => matchesPattern(record, pattern)),
    );
    if (events.length > 0) await deliver(events);
    shard.iterator = NextShardIterator;
    const last = Records.at(-1)?.dynamodb?.SequenceNumber;
    if (last !== undefined) shard.lastSequence = last;
    return Records.length;
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  await discoverShards(options.startingPosition);
  const loop = (async () => {
    let lastDiscovery = Date.now();
    while (!stopped) {
      try {
        if (Date.now() - lastDiscovery > 5_000 || shards.size === 0) {
          await discoverShards('TRIM_HORIZON');
          lastDiscovery = Date.now();
        }
        let read = 0;
        for (const shard of [...shards.values()]) read += await pollShard(shard);
        if (read === 0) await pause(pollIntervalMs);
      } catch (error) {
        if (stopped) break;
        log(`stream poller: ${(error as Error).message}`);
        await pause(1_000);
      }
    }
  })();

  return {
    failed,
    invocations: () => invocations,
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
      streams.destroy();
    },
  };
}

/** A stream record as Lambda hands it to the function. */
function lambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const { dynamodb } = record;
  const created = dynamodb?.ApproximateCreationDateTime;
  for (const image of [dynamodb?.NewImage, dynamodb?.OldImage, dynamodb?.Keys]) {
    if (image !== undefined) repairEmptyMaps(image as Record<string, unknown>);
  }
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(dynamodb as object),
      ApproximateCreationDateTime: created === undefined ? undefined : Math.floor(new Date(created).getTime() / 1000),
    },
  } as DynamoDBRecord;
}

/**
 * The SDK reads an empty map attribute (`{"M": {}}`) as `{}`, which no AttributeValue is; Lambda hands it over as
 * `{"M": {}}`.
 */
function repairEmptyMaps(image: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(image)) image[name] = repaired(value);
}

function repaired(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Object.keys(value).length === 0) return { M: {} };
  const { M, L } = value as { M?: Record<string, unknown>; L?: unknown[] };
  if (M !== undefined) repairEmptyMaps(M);
  if (L !== undefined) {
    for (const [index, entry] of L.entries()) L[index] = repaired(entry);
  }
  return value;
}

/**
 * Lambda's event filtering, for the pattern forms the mappings use: an object matches field by field; a list
 * matches a value equal to one of its entries (strings, numbers, booleans, null).
 */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some((entry) => entry === value);
  if (typeof pattern !== 'object' || pattern === null) return false;
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern).every(([name, inner]) =>
    matchesPattern((value as Record<string, unknown>)[name], inner),
  );
}

/**
 * Readers as stored (`recordReaders`) on DynamoDB Local: a read that shows nothing new writes nothing, a change
 * writes the next version, and writers racing with different states never lose a version or go back one.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDb, startDynamoDb, useDynamoDb } from '../../../local/dynamodb.ts';
import type { Store } from '../../../shared/dependencies.ts';
import type { ReaderSnapshot } from '../../../shared/payments/types.ts';
import { createDocumentClient } from '../../../shared/store/client.ts';
import { recordReaders } from '../../../shared/store/readers.ts';
import { sharedDynamoDbEndpoint } from '../../support/shared-dynamodb.ts';

const TABLE = `readers-${randomUUID().slice(0, 8)}`;
let dynamodb: LocalDynamoDb;
let store: Store;
let sent: string[] = [];

beforeAll(async () => {
  const shared = sharedDynamoDbEndpoint();
  dynamodb =
    shared === undefined ? await startDynamoDb({ port: 0, tableName: TABLE }) : await useDynamoDb(shared, TABLE);
  const db = createDocumentClient('us-east-1', dynamodb.endpoint);
  db.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  store = { db, table: TABLE };
});

afterAll(async () => {
  await dynamodb?.stop();
});

const now = new Date('2026-12-04T10:00:00.000Z');

function reader(id: string, overrides: Partial<ReaderSnapshot> = {}): ReaderSnapshot {
  return {
    id,
    label: `Register ${id}`,
    locationId: 'tml_1',
    deviceType: 'bbpos_wisepos_e',
    status: 'online',
    action: null,
    ...overrides,
  };
}

async function storedVersion(id: string): Promise<number> {
  const { Item } = await store.db.send(
    new GetCommand({ TableName: TABLE, Key: { pk: `READER#${id}`, sk: 'READER' }, ConsistentRead: true }),
  );
  return Number(Item?.version);
}

describe('recordReaders', () => {
  it('writes new and changed readers in one request, and nothing when nothing changed', async () => {
    // Prepare
    const readers = [reader('tmr_a'), reader('tmr_b'), reader('tmr_c', { locationId: null })];

    // Act
    sent = [];
    const first = await recordReaders(store, readers, now);
    const firstRequests = [...sent];
    sent = [];
    const again = await recordReaders(store, readers, now);
    const againRequests = [...sent];
    sent = [];
    const moved = await recordReaders(store, [reader('tmr_a', { status: 'offline' }), reader('tmr_b')], now);
    const movedRequests = [...sent];

    // Assess
    expect(first.map(({ reader: r, version, changed }) => [r.id, version, changed])).toEqual([
      ['tmr_a', 1, true],
      ['tmr_b', 1, true],
    ]);
    expect(firstRequests).toEqual(['BatchGetItemCommand', 'TransactWriteItemsCommand']);
    expect(again.map(({ version, changed }) => [version, changed])).toEqual([
      [1, false],
      [1, false],
    ]);
    expect(againRequests).toEqual(['BatchGetItemCommand']);
    expect(moved.map(({ version, changed }) => [version, changed])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(movedRequests).toEqual(['BatchGetItemCommand', 'PutItemCommand']);
  });

  it('gives every change of racing writers its own version, and the stored one is the highest', async () => {
    // Prepare
    const id = `tmr_${randomUUID().slice(0, 6)}`;
    await recordReaders(store, [reader(id)], now);
    const states = Array.from({ length: 8 }, (_, n) => reader(id, { label: `Label ${n}` }));

    // Act
    const results = await Promise.all(states.map((state) => recordReaders(store, [state], now)));

    // Assess
    const versions = results.map(([result]) => result?.version as number);
    expect(new Set(versions).size).toBe(versions.length);
    expect(await storedVersion(id)).toBe(Math.max(...versions));
    expect(Math.min(...versions)).toBeGreaterThan(1);
  });
});

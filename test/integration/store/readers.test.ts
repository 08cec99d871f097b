/**
 * Readers as stored (`recordReaders`) on DynamoDB Local: a read that shows nothing new writes nothing, a change
 * writes the next version, and writers racing with different states never lose a version or go back one; a reader's
 * health follows since when its action has run, and the location's stored readers list from the index.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDb, startDynamoDb, useDynamoDb } from '../../../local/dynamodb.ts';
import type { Store } from '../../../shared/dependencies.ts';
import type { ReaderSnapshot } from '../../../shared/payments/types.ts';
import { createDocumentClient } from '../../../shared/store/client.ts';
import { forgetReaders, getReaderLocation, listStoredReaders, recordReaders } from '../../../shared/store/readers.ts';
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
const STUCK_AFTER_MS = 120_000;
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);

function reader(id: string, overrides: Partial<ReaderSnapshot> = {}): ReaderSnapshot {
  return {
    id,
    label: `Register ${id}`,
    locationId: 'tml_1',
    deviceType: 'bbpos_wisepos_e',
    status: 'online',
    action: null,
    lastSeenAt: now.toISOString(),
    health: 'ready',
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
    const first = await recordReaders(store, readers, now, STUCK_AFTER_MS);
    const firstRequests = [...sent];
    sent = [];
    const again = await recordReaders(store, readers, now, STUCK_AFTER_MS);
    const againRequests = [...sent];
    sent = [];
    const moved = await recordReaders(
      store,
      [reader('tmr_a', { status: 'offline' }), reader('tmr_b')],
      now,
      STUCK_AFTER_MS,
    );
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
    await recordReaders(store, [reader(id)], now, STUCK_AFTER_MS);
    const states = Array.from({ length: 8 }, (_, n) => reader(id, { label: `Label ${n}` }));

    // Act
    const results = await Promise.all(states.map((state) => recordReaders(store, [state], now, STUCK_AFTER_MS)));

    // Assess
    const versions = results.map(([result]) => result?.version as number);
    expect(new Set(versions).size).toBe(versions.length);
    expect(await storedVersion(id)).toBe(Math.max(...versions));
    expect(Math.min(...versions)).toBeGreaterThan(1);
  });
});

describe('reader health as stored', () => {
  const inProgress = {
    type: 'process_payment_intent',
    status: 'in_progress' as const,
    failureCode: null,
    failureMessage: null,
    paymentIntentId: 'pi_1',
  };

  it('keeps when the action started, and turns the reader stuck (one write) once it has run past the threshold', async () => {
    // Prepare
    const id = `tmr_${randomUUID().slice(0, 6)}`;
    const busy = reader(id, { action: inProgress });
    await recordReaders(store, [busy], now, STUCK_AFTER_MS);

    // Act
    const [before] = await recordReaders(
      store,
      [{ ...busy, lastSeenAt: later(60).toISOString() }],
      later(60),
      STUCK_AFTER_MS,
    );
    const [past] = await recordReaders(
      store,
      [{ ...busy, lastSeenAt: later(121).toISOString() }],
      later(121),
      STUCK_AFTER_MS,
    );
    const [again] = await recordReaders(
      store,
      [{ ...busy, lastSeenAt: later(180).toISOString() }],
      later(180),
      STUCK_AFTER_MS,
    );

    // Assess
    expect([before?.reader.health, before?.changed, before?.actionSince]).toEqual(['busy', false, now.toISOString()]);
    expect([past?.reader.health, past?.changed, past?.version]).toEqual(['stuck', true, 2]);
    expect([again?.reader.health, again?.changed, again?.version]).toEqual(['stuck', false, 2]);
    expect(again?.reader.lastSeenAt).toBe(later(180).toISOString());
  });

  it('writes nothing when only lastSeenAt moved: the stored lastSeenAt is as of the last change', async () => {
    // Prepare
    const id = `tmr_${randomUUID().slice(0, 6)}`;
    await recordReaders(store, [reader(id)], now, STUCK_AFTER_MS);

    // Act
    sent = [];
    const [seen] = await recordReaders(
      store,
      [reader(id, { lastSeenAt: later(30).toISOString() })],
      later(30),
      STUCK_AFTER_MS,
    );

    // Assess
    expect(seen?.changed).toBe(false);
    expect(sent).toEqual(['BatchGetItemCommand']);
    const { Item } = await store.db.send(
      new GetCommand({ TableName: TABLE, Key: { pk: `READER#${id}`, sk: 'READER' }, ConsistentRead: true }),
    );
    expect(Item?.lastSeenAt).toBe(now.toISOString());
  });

  it('lists a location’s readers from the index with their health, and forgets a reader', async () => {
    // Prepare
    const location = `tml_${randomUUID().slice(0, 6)}`;
    const ids = ['tmr_x1', 'tmr_x2', 'tmr_x3'].map((id) => `${id}${location.slice(4)}`);
    await recordReaders(
      store,
      [
        reader(ids[0] as string, { locationId: location }),
        reader(ids[1] as string, { locationId: location, status: 'offline', health: 'offline' }),
        reader(ids[2] as string, { locationId: location, action: inProgress, health: 'busy' }),
      ],
      now,
      STUCK_AFTER_MS,
    );

    // Act
    const listed = await listStoredReaders(store, location);
    const [tombstone] = await forgetReaders(store, [{ readerId: ids[0] as string, locationId: location }], now);
    const afterForgetting = await listStoredReaders(store, location);
    // A read made before the deletion, arriving after it, does not store the reader again.
    const stale = await recordReaders(store, [reader(ids[0] as string, { locationId: location })], now, STUCK_AFTER_MS);

    // Assess
    expect(listed.map(({ reader: r }) => [r.id, r.health])).toEqual([
      [ids[0], 'ready'],
      [ids[1], 'offline'],
      [ids[2], 'busy'],
    ]);
    expect(afterForgetting.map(({ reader: r }) => r.id)).toEqual([ids[1], ids[2]]);
    expect(tombstone).toEqual({ readerId: ids[0], version: (listed[0]?.version ?? 0) + 1 });
    expect(stale).toEqual([]);
    expect(await getReaderLocation(store, ids[0] as string)).toBeUndefined();
    expect((await listStoredReaders(store, location)).map(({ reader: r }) => r.id)).toEqual([ids[1], ids[2]]);
    const { Item } = await store.db.send(
      new GetCommand({ TableName: TABLE, Key: { pk: `READER#${ids[0]}`, sk: 'READER' }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({ removed: true, locationId: location, version: tombstone?.version });
    expect(Number(Item?.expiresAt)).toBeGreaterThan(now.getTime() / 1000);
  });

  it('lists the whole fleet in one query, by location then id', async () => {
    // Prepare
    const suffix = randomUUID().slice(0, 6);
    const [first, second] = [`tml_a${suffix}`, `tml_b${suffix}`];
    await recordReaders(
      store,
      [
        reader(`tmr_2${suffix}`, { locationId: second }),
        reader(`tmr_1${suffix}`, { locationId: first }),
        reader(`tmr_3${suffix}`, { locationId: first }),
      ],
      now,
      STUCK_AFTER_MS,
    );

    // Act
    const fleet = await listStoredReaders(store);

    // Assess
    const ours = fleet.filter(({ reader: r }) => r.id.endsWith(suffix)).map(({ reader: r }) => [r.locationId, r.id]);
    expect(ours).toEqual([
      [first, `tmr_1${suffix}`],
      [first, `tmr_3${suffix}`],
      [second, `tmr_2${suffix}`],
    ]);
  });
});

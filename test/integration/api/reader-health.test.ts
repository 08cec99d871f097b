/**
 * GET /readers answers from the table (`readersByLocation`) with each reader's health, without calling Stripe;
 * `?refresh=true` reads Stripe first (the live `lastSeenAt`) and forgets a reader deleted there; `?health=` filters.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReaderResource } from '../../../shared/payments/resource.ts';
import { claimsFor, emulatorControl, idleReader, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let cashierA: ApiClient;
let cashierB: ApiClient;

beforeAll(async () => {
  parts = await startLocalParts();
  [storeA, storeB] = parts.locations as [typeof storeA, typeof storeB];
  cashierA = apiClient(claimsFor([storeA.id]));
  cashierB = apiClient(claimsFor([storeB.id]));
});
afterAll(() => parts?.close());

/** The reader list requests Stripe received from here on. */
async function readerListsSince(before: number): Promise<number> {
  const requests = (await emulatorRequests(parts.emulator.url)).slice(before);
  return requests.filter((request) => request.method === 'GET' && request.path === '/v1/terminal/readers').length;
}

const requestCount = async () => (await emulatorRequests(parts.emulator.url)).length;
const ids = (readers: ReaderResource[]) => readers.map((reader) => reader.id).sort();

/** A Stripe API call to the emulator, form-encoded as the Stripe client sends it. */
async function stripeCall(method: string, path: string, form: Record<string, string> = {}): Promise<Response> {
  return fetch(`${parts.emulator.url}${path}`, {
    method,
    headers: { authorization: 'Bearer sk_test_integration', 'content-type': 'application/x-www-form-urlencoded' },
    ...(method === 'GET' ? {} : { body: new URLSearchParams(form).toString() }),
  });
}

describe('GET /readers', () => {
  it('answers from the table once it knows the location’s readers: no Stripe call; refresh=true calls Stripe', async () => {
    // Prepare
    const first = await cashierA.listReaders();

    // Act
    const before = await requestCount();
    const stored = await cashierA.listReaders();
    const storedCalls = await readerListsSince(before);
    const refreshed = await cashierA.listReaders({ refresh: 'true' });
    const refreshCalls = await readerListsSince(before);

    // Assess
    expect(ids(first.body.readers)).toEqual([...storeA.readers].sort());
    expect(stored.status).toBe(200);
    expect(ids(stored.body.readers)).toEqual([...storeA.readers].sort());
    expect(stored.body.readers.every((reader: ReaderResource) => reader.health === 'ready')).toBe(true);
    expect(storedCalls).toBe(0);
    expect(refreshed.status).toBe(200);
    expect(refreshCalls).toBe(1);
  });

  it('keeps lastSeenAt as of the reader’s last change; refresh=true gives Stripe’s live value', async () => {
    // Prepare
    const [readerId] = storeA.readers as [string];
    const stored = (await cashierA.listReaders()).body.readers as ReaderResource[];
    const storedSeen = stored.find((reader) => reader.id === readerId)?.lastSeenAt;
    await parts.emulator.clock.advance(90);

    // Act
    const fromTable = (await cashierA.listReaders()).body.readers as ReaderResource[];
    const live = (await cashierA.listReaders({ refresh: 'true' })).body.readers as ReaderResource[];

    // Assess
    expect(fromTable.find((reader) => reader.id === readerId)?.lastSeenAt).toBe(storedSeen);
    const liveSeen = live.find((reader) => reader.id === readerId)?.lastSeenAt as string;
    expect(Date.parse(liveSeen) - Date.parse(storedSeen as string)).toBeGreaterThanOrEqual(90_000);
  });

  it('filters by health: an offline reader is listed by ?health=offline, the others by ?health=ready', async () => {
    // Prepare
    const [online, offline] = storeA.readers as [string, string];
    await emulatorControl(parts.emulator, `/_emulator/readers/${offline}/offline`);
    try {
      await cashierA.listReaders({ refresh: 'true' });

      // Act
      const before = await requestCount();
      const offlineOnes = await cashierA.listReaders({ health: 'offline' });
      const readyOnes = await cashierA.listReaders({ health: 'ready' });
      const stuckOnes = await cashierA.listReaders({ health: 'stuck' });
      const badHealth = await cashierA.listReaders({ health: 'asleep' });

      // Assess
      expect(offlineOnes.body.readers).toEqual([
        expect.objectContaining({ id: offline, status: 'offline', health: 'offline', paymentId: null }),
      ]);
      expect(ids(readyOnes.body.readers)).toEqual([online]);
      expect(stuckOnes.body.readers).toEqual([]);
      expect(badHealth.status).toBe(400);
      expect(await readerListsSince(before)).toBe(0);
    } finally {
      await idleReader(parts.emulator, offline);
      await cashierA.listReaders({ refresh: 'true' });
    }
  });

  it('forgets a reader deleted at Stripe once refreshed; until then the table still lists it', async () => {
    // Prepare
    const registered = await stripeCall('POST', '/v1/terminal/readers', {
      registration_code: 'simulated-wpe',
      location: storeB.id,
      label: 'B register 2',
    });
    expect(registered.status).toBe(200);
    const { id: readerId } = (await registered.json()) as { id: string };
    const known = await cashierB.listReaders({ refresh: 'true' });
    expect(ids(known.body.readers)).toContain(readerId);
    expect((await stripeCall('DELETE', `/v1/terminal/readers/${readerId}`)).status).toBe(200);

    // Act
    const stale = await cashierB.listReaders();
    const refreshed = await cashierB.listReaders({ refresh: 'true' });
    const after = await cashierB.listReaders();

    // Assess
    expect(ids(stale.body.readers)).toContain(readerId);
    expect(ids(refreshed.body.readers)).toEqual([...storeB.readers].sort());
    expect(ids(after.body.readers)).toEqual([...storeB.readers].sort());
  });

  it('stores a refresh that raced another writer of the reader: read again, and written above the other’s version', async () => {
    // Prepare: the reader stored, then changed at Stripe, so the refresh has a write to make.
    const [readerId] = storeA.readers as [string];
    await cashierA.listReaders({ refresh: 'true' });
    const key = { pk: `READER#${readerId}`, sk: 'READER' };
    const versionOf = async () =>
      Number(
        (await parts.deps.store.db.send(new GetCommand({ TableName: parts.tableName, Key: key, ConsistentRead: true })))
          .Item?.version,
      );
    const before = await versionOf();
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerId}/offline`);
    // Another writer (a racing refresh, the reconciler) stores the reader just before this refresh writes it.
    let raced = false;
    parts.deps.store.db.middlewareStack.add(
      (next) => async (args) => {
        const input = JSON.stringify(args.input);
        const writesReader = /"(TransactItems|Item)"/.test(input) && input.includes(`READER#${readerId}`);
        if (!raced && writesReader) {
          raced = true;
          await parts.deps.store.db.send(
            new UpdateCommand({
              TableName: parts.tableName,
              Key: key,
              UpdateExpression: 'SET #version = #version + :one',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':one': 1 },
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'raceReaderWrite' },
    );

    // Act
    let refreshed: Awaited<ReturnType<ApiClient['listReaders']>>;
    try {
      refreshed = await cashierA.listReaders({ refresh: 'true' });
    } finally {
      parts.deps.store.db.middlewareStack.remove('raceReaderWrite');
      await idleReader(parts.emulator, readerId);
      await cashierA.listReaders({ refresh: 'true' });
    }

    // Assess
    expect(raced).toBe(true);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.readers.find((reader: ReaderResource) => reader.id === readerId)).toMatchObject({
      status: 'offline',
      health: 'offline',
    });
    // The other writer's version, then this refresh's write above it; the one after it (back online) above that.
    expect(await versionOf()).toBe(before + 3);
  });
});

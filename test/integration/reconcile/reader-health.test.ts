/**
 * The reader fleet's health on the local stack: the reconciler lists the readers once per run, however many
 * payments it looks at, and stores a reader going offline, coming back or getting stuck within that run (the
 * change the live updates publish as `reader.updated`); `GET /readers` then shows it from the table.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readerFleetMetrics } from '../../../shared/metrics-names.ts';
import { syncStoredReaders } from '../../../shared/operations/read-readers.ts';
import type { ReaderResource } from '../../../shared/payments/resource.ts';
import { listStoredReaders } from '../../../shared/store/readers.ts';
import { api, type LocalStack } from '../../support/stack.ts';
import {
  advance,
  emulator,
  emulatorRequests,
  type ReconcileSummary,
  scheduledRun,
  startPayment,
  startReconcileStack,
  stripeFor,
  tap,
} from './support.ts';

const STUCK_AFTER_SECONDS = 60;
const OFFLINE_ALERT_AFTER_SECONDS = 300;

let stack: LocalStack;
const logLines: string[] = [];

beforeAll(async () => {
  stack = await startReconcileStack({
    STUCK_ACTION_AFTER_SECONDS: String(STUCK_AFTER_SECONDS),
    READER_OFFLINE_ALERT_AFTER_SECONDS: String(OFFLINE_ALERT_AFTER_SECONDS),
    // The reconciler's metrics are kept: one EMF document per run.
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logLines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.stop();
});

/** The fleet metrics of the reconciler's latest run (its EMF document). */
function latestFleetMetrics(): Record<string, unknown> {
  const documents = logLines
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((document) => document.service === 'reconciler');
  const latest = documents.at(-1) ?? {};
  return Object.fromEntries(Object.values(readerFleetMetrics).map((name) => [name, latest[name]]));
}

/** The location's readers as `GET /readers` shows them from the table. */
async function storedReaders(locationIndex: number): Promise<ReaderResource[]> {
  const location = stack.state.locations[locationIndex]!;
  const response = await api<{ readers: ReaderResource[] }>(stack, 'GET', '/readers', { token: location.token });
  expect(response.status).toBe(200);
  return response.body.readers;
}

async function storedReader(locationIndex: number, readerId: string): Promise<ReaderResource | undefined> {
  return (await storedReaders(locationIndex)).find((reader) => reader.id === readerId);
}

/** The version of the reader's item: one more for every write. */
async function storedVersion(readerId: string): Promise<number> {
  const { Item } = await stack.deps.store.db.send(
    new GetCommand({
      TableName: stack.deps.store.table,
      Key: { pk: `READER#${readerId}`, sk: 'READER' },
      ConsistentRead: true,
    }),
  );
  return Number(Item?.version);
}

/** One scheduled run, with the reader lists it sent to Stripe. */
async function runCountingLists(): Promise<{ summary: ReconcileSummary; readerLists: number }> {
  const before = (await emulatorRequests(stack)).length;
  const summary = await scheduledRun(stack);
  const readerLists = (await emulatorRequests(stack))
    .slice(before)
    .filter((request) => request.method === 'GET' && request.path === '/v1/terminal/readers').length;
  return { summary, readerLists };
}

describe('the reconciler and the reader fleet', () => {
  it('stores a reader going offline, coming back and going offline again, each within one run', async () => {
    // Prepare
    const readerId = stack.state.locations[1]!.readers[0]!;
    await scheduledRun(stack);
    const startVersion = await storedVersion(readerId);

    // Act
    await emulator(stack, `readers/${readerId}/offline`);
    const wentOffline = await runCountingLists();
    const whileOffline = await storedReader(1, readerId);
    await emulator(stack, `readers/${readerId}/online`);
    const cameBack = await runCountingLists();
    const whileOnline = await storedReader(1, readerId);
    await emulator(stack, `readers/${readerId}/offline`);
    await scheduledRun(stack);
    const offlineAgain = await storedReader(1, readerId);
    const quiet = await scheduledRun(stack);
    const quietMetrics = latestFleetMetrics();
    await advance(stack, (OFFLINE_ALERT_AFTER_SECONDS + 1) * 1000);
    const alerting = await scheduledRun(stack);
    const alertingMetrics = latestFleetMetrics();
    await emulator(stack, `readers/${readerId}/online`);
    await scheduledRun(stack);

    // Assess
    expect(whileOffline).toMatchObject({ status: 'offline', health: 'offline' });
    expect(wentOffline).toMatchObject({ summary: { readersOffline: 1, readersOfflineAlerting: 0 }, readerLists: 1 });
    expect(whileOnline).toMatchObject({ status: 'online', health: 'ready' });
    expect(cameBack).toMatchObject({ summary: { readersOffline: 0 }, readerLists: 1 });
    expect(offlineAgain).toMatchObject({ health: 'offline' });
    // Three changes, three writes; a run that finds nothing new (or only a later lastSeenAt) writes nothing.
    expect(quiet.readersCached).toBe(0);
    expect(alerting).toMatchObject({ readersCached: 0, readersOffline: 1, readersOfflineAlerting: 1 });
    expect(quietMetrics).toEqual({ ReadersOffline: 0, ReadersStuck: 0 });
    expect(alertingMetrics).toEqual({ ReadersOffline: 1, ReadersStuck: 0 });
    expect(await storedVersion(readerId)).toBe(startVersion + 4);
  });

  it('stores a reader stuck in the run after its action passed the threshold, with one reader list per run', async () => {
    // Prepare
    const [stuckReader, busyReader] = stack.state.locations[0]!.readers as [string, string];
    await emulator(stack, `readers/${stuckReader}/next-authorization`, { fault: 'disconnect' });
    const stuckPayment = await startPayment(stack, stuckReader);
    await tap(stack, stuckReader);

    // Act
    const firstSeen = await runCountingLists();
    const busy = await storedReader(0, stuckReader);
    await advance(stack, (STUCK_AFTER_SECONDS + 1) * 1000);
    await startPayment(stack, busyReader);
    const pastThreshold = await runCountingLists();
    const stuckMetrics = latestFleetMetrics();
    const stuck = await storedReaders(0);

    // Assess
    expect(busy).toMatchObject({ health: 'busy', paymentId: stuckPayment.id });
    expect(firstSeen.readerLists).toBe(1);
    expect(pastThreshold.readerLists).toBe(1);
    expect(pastThreshold.summary.readersStuck).toBe(1);
    expect(stuckMetrics).toEqual({ ReadersOffline: 0, ReadersStuck: 1 });
    expect(stuck.find((reader) => reader.id === stuckReader)).toMatchObject({
      status: 'online',
      health: 'stuck',
      paymentId: stuckPayment.id,
      action: { status: 'in_progress', paymentIntentId: stuckPayment.id },
    });
    expect(stuck.find((reader) => reader.id === busyReader)).toMatchObject({ health: 'busy' });
  });

  it('forgets a reader deleted at Stripe that the table still holds, within one run, and keeps the others', async () => {
    // Prepare
    const location = stack.state.locations[1]!;
    const stripe = stripeFor(stack);
    const doomed = await stripe.terminal.readers.create({ registration_code: 'simulated-s710', location: location.id });
    await scheduledRun(stack);
    expect(await storedReader(1, doomed.id)).toMatchObject({ health: 'ready' });
    const lastVersion = await storedVersion(doomed.id);
    await stripe.terminal.readers.del(doomed.id);

    // Act
    const before = (await emulatorRequests(stack)).length;
    const summary = await scheduledRun(stack);
    const calls = (await emulatorRequests(stack)).slice(before).map((request) => `${request.method} ${request.path}`);
    const listed = await storedReaders(1);
    const quiet = await scheduledRun(stack);

    // Assess
    expect(summary.readersForgotten).toBe(1);
    // The one list, then the left-out reader read on its own (404) before it is forgotten.
    const fleetCalls = calls.filter((call) => call === 'GET /v1/terminal/readers' || call.includes(doomed.id));
    expect(fleetCalls).toEqual(['GET /v1/terminal/readers', `GET /v1/terminal/readers/${doomed.id}`]);
    expect(listed.map((reader) => reader.id).sort()).toEqual([...location.readers].sort());
    const { Item } = await stack.deps.store.db.send(
      new GetCommand({
        TableName: stack.deps.store.table,
        Key: { pk: `READER#${doomed.id}`, sk: 'READER' },
        ConsistentRead: true,
      }),
    );
    expect(Item).toMatchObject({ removed: true, locationId: location.id, version: lastVersion + 1 });
    expect(quiet.readersForgotten).toBe(0);
  });

  it('keeps a reader registered after the run’s list was read: read on its own, not forgotten', async () => {
    // Prepare: stored (as POST /readers stores it) but missing from a list read just before it was registered.
    const location = stack.state.locations[1]!;
    const stripe = stripeFor(stack);
    const listedBefore = await stripe.terminal.readers.list({ limit: 100 }).autoPagingToArray({ limit: 1_000 });
    const fresh = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: location.id });
    await api(stack, 'GET', `/readers/${fresh.id}`, { token: location.token });
    const stored = await listStoredReaders(stack.deps.store);

    // Act
    const synced = await syncStoredReaders(stack.deps, listedBefore, stored);

    // Assess
    expect(synced.forgotten).toEqual([]);
    expect(synced.recorded.map(({ reader }) => reader.id)).toContain(fresh.id);
    expect(await storedReader(1, fresh.id)).toMatchObject({ health: 'ready' });
  });
});

/**
 * Readers as last read from Stripe (`READER#{id}` / `READER`): the reader → location cache, so authorizing a reader
 * command costs no Stripe call, and the reader's state with a `version` that grows with every change, which the
 * live updates publish. Learned from Stripe the first time a reader is seen, refreshed by `GET /readers` and the
 * reconciler; a read that shows nothing new writes nothing.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';
import type { PaymentRecord, ReaderActionSnapshot, ReaderSnapshot } from '../payments/types.ts';
import { PAYMENT_SORT_KEY, paymentFromItem, paymentPk } from './payments.ts';

export const READER_SORT_KEY = 'READER';

export function readerPk(readerId: string): string {
  return `READER#${readerId}`;
}

/** A reader's cached location. */
export interface ReaderLocation {
  readerId: string;
  locationId: string;
  label: string | null;
  deviceType: string;
  updatedAt: string;
}

function readerFromItem(item: Record<string, unknown>): ReaderLocation {
  return {
    readerId: String(item.readerId),
    locationId: String(item.locationId),
    label: typeof item.label === 'string' ? item.label : null,
    deviceType: String(item.deviceType ?? ''),
    updatedAt: String(item.updatedAt ?? ''),
  };
}

/** The cache entry for a reader snapshot from Stripe (undefined when Stripe gives it no location). */
export function readerLocationOf(reader: ReaderSnapshot, now: Date): ReaderLocation | undefined {
  if (reader.locationId === null) return undefined;
  return {
    readerId: reader.id,
    locationId: reader.locationId,
    label: reader.label,
    deviceType: reader.deviceType,
    updatedAt: now.toISOString(),
  };
}

export async function getReaderLocation(store: Store, readerId: string): Promise<ReaderLocation | undefined> {
  const { Item } = await store.db.send(
    new GetCommand({ TableName: store.table, Key: { pk: readerPk(readerId), sk: READER_SORT_KEY } }),
  );
  return Item === undefined ? undefined : readerFromItem(Item);
}

/** A reader as stored, with the version of its latest change. */
export interface VersionedReader {
  reader: ReaderSnapshot;
  version: number;
}

/** What a change of the reader is told by: the fields of the Reader resource. */
function fingerprintOf(reader: ReaderSnapshot): string {
  // The action's fields named one by one: a stored map comes back from the table with its keys in any order.
  const action = reader.action;
  const shown =
    action === null
      ? null
      : [action.type, action.status, action.failureCode, action.failureMessage, action.paymentIntentId];
  return JSON.stringify([reader.locationId, reader.label, reader.deviceType, reader.status, shown]);
}

/** The reader as stored (its Reader resource fields), when the item holds them. */
export function readerFromStoredItem(item: Record<string, unknown>): VersionedReader | undefined {
  if (item.entity !== 'reader' || typeof item.readerId !== 'string') return undefined;
  return {
    reader: {
      id: item.readerId,
      label: typeof item.label === 'string' ? item.label : null,
      locationId: typeof item.locationId === 'string' ? item.locationId : null,
      deviceType: String(item.deviceType ?? ''),
      status: item.status === 'online' ? 'online' : 'offline',
      action: (item.action as ReaderActionSnapshot | null | undefined) ?? null,
    },
    version: Number(item.version ?? 0),
  };
}

/** Each round, a writer that lost a race reads again; someone wins every round, so racers are done within their number. */
const MAX_WRITE_ROUNDS = 10;

/**
 * Store what Stripe just said of these readers (those without a location are not kept): one batch read, then one
 * write for all the readers that changed, each conditional on the version read, so versions only grow. A reader
 * another writer changed in between is read and written again. Returns each kept reader with its version.
 */
export async function recordReaders(
  store: Store,
  readers: readonly ReaderSnapshot[],
  now: Date,
): Promise<(VersionedReader & { changed: boolean })[]> {
  const located = readers.filter((reader) => reader.locationId !== null);
  const recorded = new Map<string, VersionedReader & { changed: boolean }>();
  let pending = located;
  for (let round = 0; pending.length > 0; round += 1) {
    const stored = await storedFingerprints(
      store,
      pending.map((reader) => reader.id),
    );
    const changed: { reader: ReaderSnapshot; fingerprint: string; version: number }[] = [];
    for (const reader of pending) {
      const fingerprint = fingerprintOf(reader);
      const current = stored.get(reader.id);
      if (current?.fingerprint === fingerprint)
        recorded.set(reader.id, { reader, version: current.version, changed: false });
      else changed.push({ reader, fingerprint, version: current?.version ?? 0 });
    }
    const lost = new Set<string>();
    for (let start = 0; start < changed.length; start += 100) {
      const chunk = changed.slice(start, start + 100);
      if (await writeReaders(store, chunk, now)) {
        for (const { reader, version } of chunk)
          recorded.set(reader.id, { reader, version: version + 1, changed: true });
      } else {
        for (const { reader } of chunk) lost.add(reader.id);
      }
    }
    pending = pending.filter((reader) => lost.has(reader.id));
    if (pending.length > 0 && round >= MAX_WRITE_ROUNDS) throw new Error('Readers kept changing while being stored');
  }
  return located.map((reader) => recorded.get(reader.id) as VersionedReader & { changed: boolean });
}

async function storedFingerprints(
  store: Store,
  readerIds: readonly string[],
): Promise<Map<string, { fingerprint: string; version: number }>> {
  const found = new Map<string, { fingerprint: string; version: number }>();
  for (let start = 0; start < readerIds.length; start += 100) {
    let keys: Record<string, unknown>[] | undefined = readerIds
      .slice(start, start + 100)
      .map((readerId) => ({ pk: readerPk(readerId), sk: READER_SORT_KEY }));
    for (let round = 0; keys !== undefined && keys.length > 0 && round < 5; round += 1) {
      const output: BatchGetCommandOutput = await store.db.send(
        new BatchGetCommand({
          RequestItems: {
            [store.table]: {
              Keys: keys,
              ProjectionExpression: '#readerId, #fingerprint, #version',
              ExpressionAttributeNames: {
                '#readerId': 'readerId',
                '#fingerprint': 'fingerprint',
                '#version': 'version',
              },
            },
          },
        }),
      );
      for (const item of output.Responses?.[store.table] ?? []) {
        found.set(String(item.readerId), {
          fingerprint: String(item.fingerprint ?? ''),
          version: Number(item.version ?? 0),
        });
      }
      keys = output.UnprocessedKeys?.[store.table]?.Keys;
    }
  }
  return found;
}

/** The reader's item at its next version. */
function readerItem(reader: ReaderSnapshot, fingerprint: string, version: number, now: Date): Record<string, unknown> {
  return {
    pk: readerPk(reader.id),
    sk: READER_SORT_KEY,
    entity: 'reader',
    readerId: reader.id,
    locationId: reader.locationId,
    label: reader.label,
    deviceType: reader.deviceType,
    status: reader.status,
    action: reader.action,
    fingerprint,
    version,
    updatedAt: now.toISOString(),
  };
}

/**
 * Write the changed readers at their next version, each only if its stored version is still the one read: one put,
 * or one transaction for several. False when another writer was first (nothing is written then).
 */
async function writeReaders(
  store: Store,
  changed: readonly { reader: ReaderSnapshot; fingerprint: string; version: number }[],
  now: Date,
): Promise<boolean> {
  const puts = changed.map(({ reader, fingerprint, version }) => ({
    TableName: store.table,
    Item: readerItem(reader, fingerprint, version + 1, now),
    ConditionExpression: version === 0 ? 'attribute_not_exists(#version)' : '#version = :version',
    ExpressionAttributeNames: { '#version': 'version' },
    ...(version === 0 ? {} : { ExpressionAttributeValues: { ':version': version } }),
  }));
  try {
    if (puts.length === 1) await store.db.send(new PutCommand(puts[0] as PutCommandInput));
    else if (puts.length > 1)
      await store.db.send(new TransactWriteCommand({ TransactItems: puts.map((Put) => ({ Put })) }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    if (
      error instanceof TransactionCanceledException &&
      (error.CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed')
    ) {
      return false;
    }
    throw error;
  }
}

/** A payment and a reader's cached location in one request (both strongly consistent). */
export async function getPaymentAndReader(
  store: Store,
  paymentId: string,
  readerId: string,
): Promise<{ payment?: PaymentRecord; reader?: ReaderLocation }> {
  const table = store.table;
  const keys = [
    { pk: paymentPk(paymentId), sk: PAYMENT_SORT_KEY },
    { pk: readerPk(readerId), sk: READER_SORT_KEY },
  ];
  const found: Record<string, unknown>[] = [];
  let pending: typeof keys | undefined = keys;
  for (let round = 0; pending !== undefined && pending.length > 0 && round < 5; round += 1) {
    const output = await store.db.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
    );
    found.push(...(output.Responses?.[table] ?? []));
    pending = output.UnprocessedKeys?.[table]?.Keys as typeof keys | undefined;
  }
  const payment = found.find((item) => item.sk === PAYMENT_SORT_KEY);
  const reader = found.find((item) => item.sk === READER_SORT_KEY);
  return {
    ...(payment === undefined ? {} : { payment: paymentFromItem(payment) }),
    ...(reader === undefined ? {} : { reader: readerFromItem(reader) }),
  };
}

/**
 * Readers as last read from Stripe (`READER#{id}` / `READER`): the reader → location cache, so authorizing a reader
 * command costs no Stripe call, and the reader's state with a `version` that grows with every change, which the
 * live updates publish and `GET /readers` lists (`readersByLocation`, one partition for the whole fleet). Learned
 * from Stripe the first time a reader is seen, refreshed by `GET /readers?refresh=true` and the reconciler; a read
 * that shows nothing new writes nothing. A deleted reader leaves a tombstone (`removed`, the next version, out of
 * the index) that expires: it is what the live updates announce, and it keeps a read made before the deletion from
 * storing the reader again.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';
import { healthAsRead, type ReaderSince, readerHealth, readerSince } from '../payments/reader-health.ts';
import {
  type PaymentRecord,
  READER_HEALTHS,
  type ReaderActionSnapshot,
  type ReaderSnapshot,
} from '../payments/types.ts';
import { PAYMENT_SORT_KEY, paymentFromItem, paymentPk } from './payments.ts';
import { EVENT_DEDUPE_TTL_SECONDS, paymentsTable } from './table.ts';

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
  return Item === undefined || Item.removed === true ? undefined : readerFromItem(Item);
}

/** The partition of `readersByLocation` every stored reader is in. */
export const READER_FLEET = 'FLEET';

/** How long a deleted reader's tombstone is kept: longer than any read of it still on its way. */
export const READER_TOMBSTONE_TTL_SECONDS = EVENT_DEDUPE_TTL_SECONDS;

/** A reader as stored, with the version of its latest change. */
export interface VersionedReader {
  reader: ReaderSnapshot;
  version: number;
}

/**
 * What a change of the reader is told by: the fields of the Reader resource but `lastSeenAt`, which moves on every
 * read of an online reader (stored, it would rewrite every reader on every reconciler run and flood the live
 * updates). The table's `lastSeenAt` is therefore as of the reader's last change.
 */
function fingerprintOf(reader: ReaderSnapshot): string {
  // The action's fields named one by one: a stored map comes back from the table with its keys in any order.
  const action = reader.action;
  const shown =
    action === null
      ? null
      : [action.type, action.status, action.failureCode, action.failureMessage, action.paymentIntentId];
  // `fleet`: items stored before the index held the whole fleet are written once more, into it.
  return JSON.stringify([
    'fleet',
    reader.locationId,
    reader.label,
    reader.deviceType,
    reader.status,
    shown,
    reader.health,
  ]);
}

/** The reader as stored (its Reader resource fields), when the item holds them. */
export function readerFromStoredItem(item: Record<string, unknown>): VersionedReader | undefined {
  if (item.entity !== 'reader' || typeof item.readerId !== 'string' || item.removed === true) return undefined;
  const status = item.status === 'online' ? 'online' : 'offline';
  const action = (item.action as ReaderActionSnapshot | null | undefined) ?? null;
  const health = READER_HEALTHS.find((known) => known === item.health);
  return {
    reader: {
      id: item.readerId,
      label: typeof item.label === 'string' ? item.label : null,
      locationId: typeof item.locationId === 'string' ? item.locationId : null,
      deviceType: String(item.deviceType ?? ''),
      status,
      action,
      lastSeenAt: typeof item.lastSeenAt === 'string' ? item.lastSeenAt : null,
      // An item stored before readers kept their health: what its status and action say.
      health: health ?? healthAsRead({ status, action }),
    },
    version: Number(item.version ?? 0),
  };
}

/** The sort key of a reader in `readersByLocation`: by location, then id. */
export function locationReaderKey(locationId: string, readerId: string): string {
  return `${locationId}#${readerId}`;
}

/** A stored reader, and what `recordReaders` compares a new read with. */
export interface StoredReader extends VersionedReader {
  state: StoredReaderState;
}

/**
 * The stored readers of one location, or of every location (`locationId` undefined), by location, then id: one query
 * of the fleet's partition, read in pages.
 */
export async function listStoredReaders(store: Store, locationId?: string): Promise<StoredReader[]> {
  return (await queryFleet(store, locationId)).readers;
}

/** The whole stored fleet, and whether it was ever stored whole (`markFleetSynced`): else it may lack readers. */
export interface StoredFleet {
  readers: StoredReader[];
  synced: boolean;
}

/** Every stored reader, and whether the fleet was stored whole before: one query of the fleet's partition. */
export function listStoredFleet(store: Store): Promise<StoredFleet> {
  return queryFleet(store, undefined);
}

/**
 * The item that says the whole fleet has been stored (by the reconciler or a refresh of every location): in the
 * fleet's partition, after every reader (`~` sorts after every location id), so the fleet's query reads it too.
 */
const FLEET_SYNCED_SORT_KEY = '~synced';

/** Note that the whole fleet is stored now; from then on the reconciler keeps it in step. */
export async function markFleetSynced(store: Store, now: Date): Promise<void> {
  const index = paymentsTable.indexes.readersByLocation;
  await store.db.send(
    new PutCommand({
      TableName: store.table,
      Item: {
        pk: 'FLEET',
        sk: 'SYNCED',
        entity: 'fleet_sync',
        [index.partitionKey.name]: READER_FLEET,
        [index.sortKey.name]: FLEET_SYNCED_SORT_KEY,
        syncedAt: now.toISOString(),
      },
    }),
  );
}

async function queryFleet(store: Store, locationId: string | undefined): Promise<StoredFleet> {
  const index = paymentsTable.indexes.readersByLocation;
  const readers: StoredReader[] = [];
  let synced = false;
  let startKey: Record<string, unknown> | undefined;
  do {
    const output: QueryCommandOutput = await store.db.send(
      new QueryCommand({
        TableName: store.table,
        IndexName: index.indexName,
        KeyConditionExpression:
          locationId === undefined ? '#fleet = :fleet' : '#fleet = :fleet AND begins_with(#reader, :location)',
        ExpressionAttributeNames: {
          '#fleet': index.partitionKey.name,
          ...(locationId === undefined ? {} : { '#reader': index.sortKey.name }),
        },
        ExpressionAttributeValues: {
          ':fleet': READER_FLEET,
          ...(locationId === undefined ? {} : { ':location': locationReaderKey(locationId, '') }),
        },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of output.Items ?? []) {
      if (item.entity === 'fleet_sync') synced = true;
      const stored = readerFromStoredItem(item);
      if (stored !== undefined) readers.push({ ...stored, state: storedStateOf(item) });
    }
    startKey = output.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { readers, synced };
}

/** A reader Stripe no longer has, as it was last stored. */
export interface ForgottenReader {
  readerId: string;
  locationId: string | null;
}

/**
 * Forget readers Stripe no longer has (deleted there or here): each item becomes a tombstone at its next version,
 * out of the fleet's index and the cache, which expires. Returns each tombstone's version.
 */
export async function forgetReaders(
  store: Store,
  readers: readonly ForgottenReader[],
  now: Date,
): Promise<{ readerId: string; version: number }[]> {
  const forgotten: { readerId: string; version: number }[] = [];
  for (const { readerId, locationId } of readers) {
    const { Attributes } = await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { pk: readerPk(readerId), sk: READER_SORT_KEY },
        UpdateExpression:
          'SET #entity = :reader, #readerId = :readerId, #locationId = if_not_exists(#locationId, :locationId), ' +
          '#removed = :true, #version = if_not_exists(#version, :zero) + :one, #updatedAt = :now, #expires = :expires ' +
          'REMOVE #fleet, #sort, #fingerprint, #action',
        ExpressionAttributeNames: {
          '#entity': 'entity',
          '#readerId': 'readerId',
          '#locationId': 'locationId',
          '#removed': 'removed',
          '#version': 'version',
          '#updatedAt': 'updatedAt',
          '#expires': paymentsTable.timeToLiveAttribute,
          '#fleet': paymentsTable.indexes.readersByLocation.partitionKey.name,
          '#sort': paymentsTable.indexes.readersByLocation.sortKey.name,
          '#fingerprint': 'fingerprint',
          '#action': 'action',
        },
        ExpressionAttributeValues: {
          ':reader': 'reader',
          ':readerId': readerId,
          ':locationId': locationId,
          ':true': true,
          ':zero': 0,
          ':one': 1,
          ':now': now.toISOString(),
          ':expires': Math.floor(now.getTime() / 1000) + READER_TOMBSTONE_TTL_SECONDS,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    forgotten.push({ readerId, version: Number(Attributes?.version ?? 0) });
  }
  return forgotten;
}

/** A reader as stored, whether this write changed it, and since when it has been offline or busy. */
export type RecordedReader = VersionedReader & ReaderSince & { changed: boolean };

/** What is kept of a stored reader to tell whether a read shows anything new. */
export interface StoredReaderState extends ReaderSince {
  fingerprint: string;
  version: number;
  status: ReaderSnapshot['status'];
  action: ReaderActionSnapshot | null;
  /** A tombstone: the reader was deleted, and a read of it is not stored again. */
  removed: boolean;
}

function storedStateOf(item: Record<string, unknown>): StoredReaderState {
  return {
    fingerprint: String(item.fingerprint ?? ''),
    version: Number(item.version ?? 0),
    status: item.status === 'online' ? 'online' : 'offline',
    action: (item.action as ReaderActionSnapshot | null | undefined) ?? null,
    actionSince: typeof item.actionSince === 'string' ? item.actionSince : null,
    offlineSince: typeof item.offlineSince === 'string' ? item.offlineSince : null,
    removed: item.removed === true,
  };
}

/** Each round, a writer that lost a race reads again; someone wins every round, so racers are done within their number. */
const MAX_WRITE_ROUNDS = 10;

/**
 * Store what Stripe just said of these readers (those without a location are not kept, nor deleted ones): one batch
 * read (none when the caller read them already: `stored`), then one write for all the readers that changed, each
 * conditional on the version read, so versions only grow. A reader another writer changed in between is read and
 * written again. Each reader's health comes from since when its action has run (kept in its item); returns each
 * kept reader with its version, health and those times.
 */
export async function recordReaders(
  store: Store,
  readers: readonly ReaderSnapshot[],
  now: Date,
  stuckAfterMs: number,
  options: { stored?: ReadonlyMap<string, StoredReaderState> } = {},
): Promise<RecordedReader[]> {
  const located = readers.filter((reader) => reader.locationId !== null);
  const recorded = new Map<string, RecordedReader>();
  let pending = located;
  for (let round = 0; pending.length > 0; round += 1) {
    const stored =
      round === 0 && options.stored !== undefined
        ? options.stored
        : await storedReaders(
            store,
            pending.map((reader) => reader.id),
          );
    const changed: ChangedReader[] = [];
    for (const read of pending) {
      const current = stored.get(read.id);
      if (current?.removed) continue;
      const since = readerSince(read, current, now);
      const reader = { ...read, health: readerHealth(read, since.actionSince, now.getTime(), stuckAfterMs) };
      const fingerprint = fingerprintOf(reader);
      if (current?.fingerprint === fingerprint)
        recorded.set(reader.id, { reader, version: current.version, ...since, changed: false });
      else changed.push({ reader, since, fingerprint, version: current?.version ?? 0 });
    }
    const lost = new Set<string>();
    for (let start = 0; start < changed.length; start += 100) {
      const chunk = changed.slice(start, start + 100);
      if (await writeReaders(store, chunk, now)) {
        for (const { reader, since, version } of chunk)
          recorded.set(reader.id, { reader, version: version + 1, ...since, changed: true });
      } else {
        for (const { reader } of chunk) lost.add(reader.id);
      }
    }
    pending = pending.filter((reader) => lost.has(reader.id));
    if (pending.length > 0 && round >= MAX_WRITE_ROUNDS) throw new Error('Readers kept changing while being stored');
  }
  return located.flatMap((reader) => recorded.get(reader.id) ?? []);
}

interface ChangedReader {
  reader: ReaderSnapshot;
  since: ReaderSince;
  fingerprint: string;
  version: number;
}

async function storedReaders(store: Store, readerIds: readonly string[]): Promise<Map<string, StoredReaderState>> {
  const found = new Map<string, StoredReaderState>();
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
              ProjectionExpression:
                '#readerId, #fingerprint, #version, #status, #action, #actionSince, #offlineSince, #removed',
              ExpressionAttributeNames: {
                '#removed': 'removed',
                '#readerId': 'readerId',
                '#fingerprint': 'fingerprint',
                '#version': 'version',
                '#status': 'status',
                '#action': 'action',
                '#actionSince': 'actionSince',
                '#offlineSince': 'offlineSince',
              },
            },
          },
        }),
      );
      for (const item of output.Responses?.[store.table] ?? []) found.set(String(item.readerId), storedStateOf(item));
      keys = output.UnprocessedKeys?.[store.table]?.Keys;
    }
  }
  return found;
}

/** The reader's item at its next version. */
function readerItem(changed: ChangedReader, version: number, now: Date): Record<string, unknown> {
  const { reader, since, fingerprint } = changed;
  return {
    pk: readerPk(reader.id),
    sk: READER_SORT_KEY,
    entity: 'reader',
    readerId: reader.id,
    locationId: reader.locationId,
    ...(reader.locationId === null
      ? {}
      : { readerFleet: READER_FLEET, locationReaderId: locationReaderKey(reader.locationId, reader.id) }),
    label: reader.label,
    deviceType: reader.deviceType,
    status: reader.status,
    action: reader.action,
    lastSeenAt: reader.lastSeenAt,
    health: reader.health,
    actionSince: since.actionSince,
    offlineSince: since.offlineSince,
    fingerprint,
    version,
    updatedAt: now.toISOString(),
  };
}

/**
 * Write the changed readers at their next version, each only if its stored version is still the one read: one put,
 * or one transaction for several. False when another writer was first (nothing is written then).
 */
async function writeReaders(store: Store, changed: readonly ChangedReader[], now: Date): Promise<boolean> {
  const puts = changed.map((reader) => ({
    TableName: store.table,
    Item: readerItem(reader, reader.version + 1, now),
    ConditionExpression: reader.version === 0 ? 'attribute_not_exists(#version)' : '#version = :version',
    ExpressionAttributeNames: { '#version': 'version' },
    ...(reader.version === 0 ? {} : { ExpressionAttributeValues: { ':version': reader.version } }),
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

/** A stored reader's location and what `recordReaders` compares a new read with (one strongly consistent read). */
export async function getStoredReaderState(
  store: Store,
  readerId: string,
): Promise<{ locationId: string | null; state: StoredReaderState } | undefined> {
  const { Item } = await store.db.send(
    new GetCommand({
      TableName: store.table,
      Key: { pk: readerPk(readerId), sk: READER_SORT_KEY },
      ConsistentRead: true,
    }),
  );
  if (Item === undefined || Item.removed === true) return undefined;
  return { locationId: typeof Item.locationId === 'string' ? Item.locationId : null, state: storedStateOf(Item) };
}

/** Where a deleted reader was, from its tombstone; undefined when the reader is not known deleted. */
export async function getRemovedReader(
  store: Store,
  readerId: string,
): Promise<{ locationId: string | null } | undefined> {
  const { Item } = await store.db.send(
    new GetCommand({
      TableName: store.table,
      Key: { pk: readerPk(readerId), sk: READER_SORT_KEY },
      ConsistentRead: true,
    }),
  );
  if (Item?.removed !== true) return undefined;
  return { locationId: typeof Item.locationId === 'string' ? Item.locationId : null };
}

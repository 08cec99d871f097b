/**
 * Payments in the table: one item per PaymentIntent (`PAYMENT#{id}` / `PAYMENT`). Every change is a conditional
 * write on the record's `version`, so two Lambdas changing one payment never overwrite each other: the loser
 * re-reads and re-applies its change (the reducer's rules make that safe). The API never scans.
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';
import { allListKeys, locationKey, paymentIndexAttributes } from '../payments/index-attributes.ts';
import { applyObservations } from '../payments/reducer.ts';
import type { Observation, ObservationVerdict, PaymentFlag, PaymentRecord, PaymentStatus } from '../payments/types.ts';
import { paymentsTable } from './table.ts';

export const PAYMENT_SORT_KEY = 'PAYMENT';

export function paymentPk(id: string): string {
  return `PAYMENT#${id}`;
}

/** Another writer changed the payment since it was read. */
export class VersionConflictError extends Error {
  constructor(id: string) {
    super(`Payment ${id} changed while it was being updated`);
    this.name = 'VersionConflictError';
  }
}

/** Record fields that are also index keys: an index key may not be null, so a null one is left out. */
const NULLABLE_INDEX_FIELDS = ['authorizedAt', 'captureBefore', 'refundCheckAt'] as const;

/** The item stored for `record`: the record, its keys and its index attributes. */
export function paymentItem(record: PaymentRecord): Record<string, unknown> {
  const item: Record<string, unknown> = {
    ...record,
    pk: paymentPk(record.id),
    sk: PAYMENT_SORT_KEY,
    entity: 'payment',
    ...paymentIndexAttributes(record),
  };
  for (const field of NULLABLE_INDEX_FIELDS) if (item[field] === null) delete item[field];
  return item;
}

/** The record held in a stored item. */
export function paymentFromItem(item: Record<string, unknown>): PaymentRecord {
  const field = <T>(name: keyof PaymentRecord, fallback: T): T => (item[name] ?? fallback) as T;
  return {
    id: field('id', ''),
    orderId: field('orderId', ''),
    locationId: field('locationId', ''),
    amount: field('amount', 0),
    currency: field('currency', ''),
    captureMethod: field('captureMethod', 'automatic'),
    description: field('description', null),
    metadata: field('metadata', {}),
    status: field('status', 'requires_payment_method'),
    readerId: field('readerId', null),
    readerAction: field('readerAction', null),
    lastPaymentError: field('lastPaymentError', null),
    amountCapturable: field('amountCapturable', 0),
    amountReceived: field('amountReceived', 0),
    card: field('card', null),
    receipt: field('receipt', null),
    receiptEmail: field('receiptEmail', null),
    tipAmount: field('tipAmount', 0),
    chargeId: field('chargeId', null),
    paymentMethodType: field('paymentMethodType', null),
    cancellationReason: field('cancellationReason', null),
    authorizedAt: field('authorizedAt', null),
    captureBefore: field('captureBefore', null),
    flags: field('flags', []),
    attempts: field('attempts', 0),
    attemptLog: field('attemptLog', []),
    nextProcessTry: field('nextProcessTry', 0),
    amountUpdates: field('amountUpdates', 0),
    refunds: field('refunds', []),
    refundCommands: field('refundCommands', 0),
    refundCheckAt: field('refundCheckAt', null),
    refundChecks: field('refundChecks', 0),
    paymentIntentObservedAtMs: field('paymentIntentObservedAtMs', 0),
    history: field('history', []),
    version: field('version', 0),
    createdAt: field('createdAt', ''),
    updatedAt: field('updatedAt', ''),
  };
}

/** The payment, read strongly consistent (a payment just created must be found). */
export async function getPayment(store: Store, id: string): Promise<PaymentRecord | undefined> {
  const { Item } = await store.db.send(
    new GetCommand({ TableName: store.table, Key: { pk: paymentPk(id), sk: PAYMENT_SORT_KEY }, ConsistentRead: true }),
  );
  return Item === undefined ? undefined : paymentFromItem(Item);
}

/**
 * Write `record` if the stored version is still `record.version`; returns it with the new version.
 * Throws `VersionConflictError` when another writer got there first.
 */
export async function savePayment(store: Store, record: PaymentRecord): Promise<PaymentRecord> {
  const next = { ...record, version: record.version + 1 };
  try {
    await store.db.send(
      new PutCommand({
        TableName: store.table,
        Item: paymentItem(next),
        ConditionExpression: record.version === 0 ? 'attribute_not_exists(pk)' : '#version = :expected',
        ...(record.version === 0
          ? {}
          : {
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': record.version },
            }),
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new VersionConflictError(record.id);
    throw error;
  }
  return next;
}

/** How often a contended update is retried before giving up. */
const MAX_UPDATE_ATTEMPTS = 8;

/**
 * Apply `change` to the payment and store the result, retrying on concurrent writes: `change` is applied again to
 * the fresh record, so it must be a pure function of the record. Returning the same record writes nothing.
 * `current` is the record as last read, which saves a read on the first try.
 */
export async function updatePayment(
  store: Store,
  current: PaymentRecord,
  change: (record: PaymentRecord) => PaymentRecord,
): Promise<{ record: PaymentRecord; changed: boolean }> {
  let record = current;
  for (let attempt = 1; ; attempt += 1) {
    const next = change(record);
    if (next === record) return { record, changed: false };
    try {
      return { record: await savePayment(store, { ...next, version: record.version }), changed: true };
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= MAX_UPDATE_ATTEMPTS) throw error;
      const fresh = await getPayment(store, record.id);
      if (fresh === undefined) throw error;
      record = fresh;
    }
  }
}

/**
 * Apply observations of Stripe's state through the reducer and store the result if it changed. The one path by
 * which the API, the webhook processor and the reconciler record what Stripe says.
 */
export async function applyToPayment(
  store: Store,
  current: PaymentRecord,
  observations: Observation[],
  now: Date,
): Promise<{ record: PaymentRecord; changed: boolean; verdict: ObservationVerdict }> {
  let verdict: ObservationVerdict = 'unchanged';
  const result = await updatePayment(store, current, (record) => {
    const applied = applyObservations(record, observations, now);
    verdict = applied.verdict;
    return applied.changed ? applied.record : record;
  });
  return { ...result, verdict };
}

/** Which payments to list. */
export interface PaymentListQuery {
  /** Locations to list; `*` lists every payment through the `byCreated` index (each of its partitions). */
  locations: readonly string[] | '*';
  status?: PaymentStatus;
  flag?: PaymentFlag;
  limit: number;
  /** Only payments created before this `createdKey` (from a cursor). */
  before?: string;
}

export interface PaymentPage {
  payments: PaymentRecord[];
  /** Continue after this `createdKey`; undefined when there is nothing more. */
  nextBefore?: string;
}

/** Pages read from one index partition per call before answering with what was found. */
const MAX_PAGES_PER_PARTITION = 5;

interface PartitionResult {
  items: PaymentRecord[];
  /** The oldest `createdKey` examined when the partition was not read to its end. */
  horizon?: string;
}

async function queryPartition(
  store: Store,
  index: 'byLocation' | 'byCreated',
  partitionValue: string,
  query: PaymentListQuery,
): Promise<PartitionResult> {
  const definition = paymentsTable.indexes[index];
  const names: Record<string, string> = { '#pk': definition.partitionKey.name };
  const values: Record<string, unknown> = { ':pk': partitionValue };
  let keyCondition = '#pk = :pk';
  if (query.before !== undefined) {
    keyCondition += ' AND #sk < :before';
    names['#sk'] = definition.sortKey.name;
    values[':before'] = query.before;
  }
  const filters: string[] = [];
  if (query.status !== undefined) {
    filters.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = query.status;
  }
  if (query.flag !== undefined) {
    filters.push('contains(#flags, :flag)');
    names['#flags'] = 'flags';
    values[':flag'] = query.flag;
  }
  const wanted = query.limit + 1;
  const items: PaymentRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES_PER_PARTITION; page += 1) {
    const output: QueryCommandOutput = await store.db.send(
      new QueryCommand({
        TableName: store.table,
        IndexName: definition.indexName,
        KeyConditionExpression: keyCondition,
        ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: filters.length > 0 ? Math.max(wanted, 100) : wanted - items.length,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(output.Items ?? []).map(paymentFromItem));
    startKey = output.LastEvaluatedKey;
    if (items.length >= wanted || startKey === undefined) return { items };
  }
  return { items, horizon: String(startKey?.[definition.sortKey.name]) };
}

/** Sort key of a payment in the listing indexes. */
function listingKey(record: PaymentRecord): string {
  return paymentIndexAttributes(record).createdKey;
}

/**
 * Payments newest first, from the listing indexes (never a scan). A caller with several locations reads each
 * location's partition, a caller with every location each `byCreated` partition, and the results are merged; the cursor is the `createdKey` to continue before.
 */
export async function listPayments(store: Store, query: PaymentListQuery): Promise<PaymentPage> {
  const partitions =
    query.locations === '*'
      ? allListKeys.map((key) => queryPartition(store, 'byCreated', key, query))
      : query.locations.map((location) => queryPartition(store, 'byLocation', locationKey(location), query));
  const results = await Promise.all(partitions);
  // A partition read only part-way has been examined down to its horizon: answer only with what is newer.
  const horizons = results.flatMap((result) => (result.horizon === undefined ? [] : [result.horizon]));
  // The newest of the horizons (createdKeys are strings: sorted, the last is the newest).
  const horizon = horizons.sort().at(-1);
  const candidates = results
    .flatMap((result) => result.items)
    .filter((record) => horizon === undefined || listingKey(record) >= horizon)
    .sort((a, b) => (listingKey(a) < listingKey(b) ? 1 : -1));
  if (candidates.length > query.limit) {
    const payments = candidates.slice(0, query.limit);
    return { payments, nextBefore: listingKey(payments.at(-1)!) };
  }
  return horizon === undefined ? { payments: candidates } : { payments: candidates, nextBefore: horizon };
}

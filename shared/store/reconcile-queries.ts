/**
 * The reconciler's reads: its candidates come only from the sparse indexes (`activeReaderActions`,
 * `awaitingCaptureByAge`, `awaitingCaptureByDeadline`, `unsettledRefunds`), each queried oldest first up to a cutoff on its sort key,
 * so a run reads the candidates and nothing else, however large the table grows. No scans.
 *
 * Where a run stopped (its time budget ran out) is kept in one item, `RECONCILER` / `CURSOR`, so the next run
 * continues after the last candidate examined instead of starting again at the oldest, which would starve the
 * candidates behind a long run of payments that stay stuck.
 */
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';
import { ACTIVE_ACTION_KEY, AWAITING_CAPTURE_KEY, UNSETTLED_REFUND_KEY } from '../payments/index-attributes.ts';
import type { PaymentFlag, PaymentRecord } from '../payments/types.ts';
import { paymentFromItem } from './payments.ts';
import { paymentsTable } from './table.ts';

/** The sparse indexes the reconciler reads. */
export type CandidateIndex =
  | 'activeReaderActions'
  | 'awaitingCaptureByAge'
  | 'awaitingCaptureByDeadline'
  | 'unsettledRefunds';

const partitionValue: Record<CandidateIndex, string> = {
  activeReaderActions: ACTIVE_ACTION_KEY,
  awaitingCaptureByAge: AWAITING_CAPTURE_KEY,
  awaitingCaptureByDeadline: AWAITING_CAPTURE_KEY,
  unsettledRefunds: UNSETTLED_REFUND_KEY,
};

/** A position in an index: the key attributes of the last item examined (a query's `ExclusiveStartKey`). */
export type IndexPosition = Record<string, string>;

export interface Candidate {
  payment: PaymentRecord;
  /** Continue after this candidate. */
  position: IndexPosition;
}

export interface CandidatePage {
  candidates: Candidate[];
  /** Where the next page starts; undefined when the index holds no more candidates. */
  next?: IndexPosition;
  /** Items DynamoDB read for this page (its `ScannedCount`): only items inside the key condition. */
  itemsRead: number;
  /** Read capacity the page consumed, when DynamoDB reports it. */
  capacityUnits: number;
}

/** Key attributes of an index item: the table's key and the index's key. */
function positionOf(index: CandidateIndex, item: Record<string, unknown>): IndexPosition {
  const definition = paymentsTable.indexes[index];
  const names = [
    paymentsTable.partitionKey.name,
    paymentsTable.sortKey.name,
    definition.partitionKey.name,
    definition.sortKey.name,
  ];
  return Object.fromEntries(names.map((name) => [name, String(item[name])]));
}

/**
 * One page of `index`'s candidates whose sort key is at most `upTo` (an ISO time), oldest first, after `after`.
 * Index reads are eventually consistent: a candidate may be a moment behind its item, and every change the
 * reconciler makes is a version-conditional write, which re-reads the item when it was.
 */
export async function queryCandidates(
  store: Store,
  index: CandidateIndex,
  upTo: string,
  options: { limit: number; after?: IndexPosition },
): Promise<CandidatePage> {
  const definition = paymentsTable.indexes[index];
  const output = await store.db.send(
    new QueryCommand({
      TableName: store.table,
      IndexName: definition.indexName,
      KeyConditionExpression: '#pk = :pk AND #sk <= :upTo',
      ExpressionAttributeNames: { '#pk': definition.partitionKey.name, '#sk': definition.sortKey.name },
      ExpressionAttributeValues: { ':pk': partitionValue[index], ':upTo': upTo },
      ScanIndexForward: true,
      Limit: options.limit,
      ReturnConsumedCapacity: 'TOTAL',
      ...(options.after === undefined ? {} : { ExclusiveStartKey: options.after }),
    }),
  );
  const items = output.Items ?? [];
  const page: CandidatePage = {
    candidates: items.map((item) => ({ payment: paymentFromItem(item), position: positionOf(index, item) })),
    itemsRead: output.ScannedCount ?? items.length,
    capacityUnits: output.ConsumedCapacity?.CapacityUnits ?? 0,
  };
  if (output.LastEvaluatedKey !== undefined) page.next = positionOf(index, output.LastEvaluatedKey);
  return page;
}

/** Where each index's paging stopped last run; an index not named starts at its oldest candidate. */
export type ReconcileCursor = Partial<Record<CandidateIndex, IndexPosition>>;

const CURSOR_KEY = { pk: 'RECONCILER', sk: 'CURSOR' } as const;

/** Where the previous run stopped in each index (empty before the first run). */
export async function readReconcileCursor(store: Store): Promise<ReconcileCursor> {
  const { Item } = await store.db.send(new GetCommand({ TableName: store.table, Key: CURSOR_KEY }));
  const positions = Item?.positions;
  return typeof positions === 'object' && positions !== null ? (positions as ReconcileCursor) : {};
}

/** Store where the run stopped; nothing is written when it is where the run started. */
export async function saveReconcileCursor(
  store: Store,
  cursor: ReconcileCursor,
  previous: ReconcileCursor,
  now: Date,
): Promise<void> {
  if (JSON.stringify(cursor) === JSON.stringify(previous)) return;
  await store.db.send(
    new PutCommand({
      TableName: store.table,
      Item: { ...CURSOR_KEY, entity: 'reconcile_cursor', positions: cursor, updatedAt: now.toISOString() },
    }),
  );
}

/**
 * Where each money-at-risk flag can be: a payment stuck on a reader is in `activeReaderActions` while its action runs;
 * one near or past its capture deadline is in the capture indexes while it awaits capture. A payment that left the
 * index (captured, cancelled, its action over) is at risk no more, whatever flag it kept.
 */
const FLAG_INDEX: Record<PaymentFlag, CandidateIndex> = {
  reader_stuck: 'activeReaderActions',
  capture_deadline_approaching: 'awaitingCaptureByAge',
  authorization_expired: 'awaitingCaptureByDeadline',
};

/**
 * How many payments carry each flag now: one counting query of each flag's sparse index (its items only, a page per
 * 1 MB), so the count is a gauge of what is at risk, not of what a run changed.
 */
export async function countFlaggedPayments(store: Store): Promise<Record<PaymentFlag, number>> {
  const entries = await Promise.all(
    (Object.entries(FLAG_INDEX) as [PaymentFlag, CandidateIndex][]).map(async ([flag, index]) => {
      const definition = paymentsTable.indexes[index];
      let count = 0;
      let startKey: Record<string, unknown> | undefined;
      do {
        const output = await store.db.send(
          new QueryCommand({
            TableName: store.table,
            IndexName: definition.indexName,
            KeyConditionExpression: '#pk = :pk',
            FilterExpression: 'contains(#flags, :flag)',
            ExpressionAttributeNames: { '#pk': definition.partitionKey.name, '#flags': 'flags' },
            ExpressionAttributeValues: { ':pk': partitionValue[index], ':flag': flag },
            Select: 'COUNT',
            ExclusiveStartKey: startKey,
          }),
        );
        count += output.Count ?? 0;
        startKey = output.LastEvaluatedKey;
      } while (startKey !== undefined);
      return [flag, count] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<PaymentFlag, number>;
}

/**
 * A payment whose reader action on `readerId` is in progress or whose command to it may still be on its way (the
 * attempt is claimed before the reader is asked): one query of the sparse `activeReaderActions` index, filtered to
 * the reader. Undefined when none waits on it.
 */
export async function paymentWaitingOnReader(store: Store, readerId: string): Promise<string | undefined> {
  const definition = paymentsTable.indexes.activeReaderActions;
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await store.db.send(
      new QueryCommand({
        TableName: store.table,
        IndexName: definition.indexName,
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: '#readerId = :readerId',
        ExpressionAttributeNames: { '#pk': definition.partitionKey.name, '#readerId': 'readerId', '#id': 'id' },
        ExpressionAttributeValues: { ':pk': partitionValue.activeReaderActions, ':readerId': readerId },
        ProjectionExpression: '#id',
        ExclusiveStartKey: startKey,
      }),
    );
    const [found] = output.Items ?? [];
    if (found !== undefined) return String(found.id);
    startKey = output.LastEvaluatedKey;
  } while (startKey !== undefined);
  return undefined;
}

/**
 * The reader → location cache (`READER#{id}` / `READER`), so authorizing a reader command costs no Stripe call.
 * Learned from Stripe the first time a reader is seen, refreshed by `GET /readers` and the reconciler.
 */
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';
import type { PaymentRecord, ReaderSnapshot } from '../payments/types.ts';
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

function readerItem(reader: ReaderLocation): Record<string, unknown> {
  return { pk: readerPk(reader.readerId), sk: READER_SORT_KEY, entity: 'reader', ...reader };
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

export async function putReaderLocation(store: Store, reader: ReaderLocation): Promise<void> {
  await store.db.send(new PutCommand({ TableName: store.table, Item: readerItem(reader) }));
}

/** Cache many readers at once (25 per request, DynamoDB's batch limit). */
export async function putReaderLocations(store: Store, readers: ReaderLocation[]): Promise<void> {
  for (let start = 0; start < readers.length; start += 25) {
    let requests: Record<string, unknown>[] | undefined = readers
      .slice(start, start + 25)
      .map((reader) => ({ PutRequest: { Item: readerItem(reader) } }));
    for (let round = 0; requests !== undefined && requests.length > 0 && round < 5; round += 1) {
      const output = await store.db.send(new BatchWriteCommand({ RequestItems: { [store.table]: requests as never } }));
      requests = output.UnprocessedItems?.[store.table] as Record<string, unknown>[] | undefined;
    }
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

/**
 * Payments written straight into DynamoDB Local (BatchWriteItem, 25 items a request) with the store's own item
 * builder, so each carries exactly the index attributes the API would have given it.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mapConcurrently } from '../shared/concurrency.ts';
import { allListKeys } from '../shared/payments/index-attributes.ts';
import type { PaymentRecord } from '../shared/payments/types.ts';
import { paymentItem } from '../shared/store/payments.ts';
import { paymentsTable } from '../shared/store/table.ts';
import { newPayment } from '../test/support/fixtures.ts';
import { stripeId } from './signed-events.ts';

/** DynamoDB's BatchWriteItem limit. */
const BATCH_SIZE = 25;

/** A payment the API created and nothing has happened to yet (`requires_payment_method`), stored at version 1. */
export function openPayment(locationId: string, createdAt: Date): PaymentRecord {
  const id = stripeId('pi');
  return { ...newPayment({ id, locationId, createdAt, orderId: `seed-${id}`, amount: 1500 }), version: 1 };
}

/** A healthy, finished payment: paid on a reader and its action done, in no index but the two listing ones. */
export function finishedPayment(locationId: string, readerId: string, createdAt: Date): PaymentRecord {
  const open = openPayment(locationId, createdAt);
  const at = new Date(createdAt.getTime() + 20_000).toISOString();
  return {
    ...open,
    status: 'succeeded',
    amountReceived: open.amount,
    readerId,
    readerAction: {
      type: 'process_payment_intent',
      status: 'succeeded',
      failureCode: null,
      failureMessage: null,
      updatedAt: at,
    },
    card: { brand: 'visa', last4: '4242' },
    chargeId: stripeId('ch'),
    attempts: 1,
    attemptLog: [{ number: 1, readerId, startedAtMs: createdAt.getTime() + 1_000 }],
    paymentIntentObservedAtMs: createdAt.getTime() + 20_000,
    version: 4,
    updatedAt: at,
  };
}

/** Write `records` with BatchWriteItem (`concurrency` requests at a time), retrying what DynamoDB left unprocessed. */
export async function writePayments(
  client: DynamoDBDocumentClient,
  tableName: string,
  records: readonly PaymentRecord[],
  concurrency = 4,
): Promise<void> {
  const batches: PaymentRecord[][] = [];
  for (let start = 0; start < records.length; start += BATCH_SIZE)
    batches.push(records.slice(start, start + BATCH_SIZE));
  await mapConcurrently(batches, concurrency, async (batch) => {
    let requests: Record<string, unknown>[] | undefined = batch.map((record) => ({
      PutRequest: { Item: paymentItem(record) },
    }));
    for (let round = 0; requests !== undefined && requests.length > 0; round += 1) {
      if (round >= 8) throw new Error('DynamoDB Local kept items unprocessed');
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * round));
      const output = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests as never } }));
      requests = output.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined;
    }
  });
}

/** Payments in the table, counted through the `byCreated` listing index (every payment is in it). */
export async function countPayments(client: DynamoDBDocumentClient, tableName: string): Promise<number> {
  const index = paymentsTable.indexes.byCreated;
  let count = 0;
  for (const key of allListKeys) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': index.partitionKey.name },
          ExpressionAttributeValues: { ':pk': key },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += output.Count ?? 0;
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
  return count;
}

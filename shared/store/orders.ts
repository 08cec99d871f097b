/**
 * Orders (`ORDER#{locationId}#{orderId}` / `ORDER`): which PaymentIntent is the order's live one, and its
 * generation. One order never gets a second live PaymentIntent, and that is decided by conditional writes only
 * (never by reading first and writing after), so two racing creates cannot both win.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';
import type { CaptureMethod, PaymentRecord } from '../payments/types.ts';
import { paymentItem } from './payments.ts';
import { paymentsTable } from './table.ts';

export const ORDER_SORT_KEY = 'ORDER';

export function orderPk(locationId: string, orderId: string): string {
  return `ORDER#${locationId}#${orderId}`;
}

/** What a create request asked Stripe for: kept on the order until its PaymentIntent is recorded. */
export interface OrderCreateRequest {
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  description: string | null;
  metadata: Record<string, string>;
}

/** The order item. */
export interface OrderRecord {
  locationId: string;
  orderId: string;
  /** Bumped after the order's payment was canceled, or after Stripe refused a generation's create; part of the create idempotency key. */
  generation: number;
  /** The generation's PaymentIntent; null until it is created and stored. */
  paymentId: string | null;
  /** What the generation was claimed for (compared when a create finds no payment yet). */
  amount: number;
  currency: string;
  /**
   * While `paymentId` is null: the create request of this generation, so any later request (or the reconciler)
   * can send it again under the same idempotency key and learn what Stripe did with it. Null on older claims.
   */
  request: OrderCreateRequest | null;
  /** When this generation was claimed. */
  claimedAt: string;
  createdAt: string;
  updatedAt: string;
}

/** Partition value of the `pendingOrders` index: order claims whose PaymentIntent is not recorded yet. */
export const PENDING_ORDER_KEY = 'PENDING_ORDER';

function orderFromItem(item: Record<string, unknown>): OrderRecord {
  return {
    locationId: String(item.locationId),
    orderId: String(item.orderId),
    generation: Number(item.generation),
    paymentId: typeof item.paymentId === 'string' ? item.paymentId : null,
    amount: Number(item.amount),
    currency: String(item.currency),
    request: typeof item.pendingCreate === 'string' ? (JSON.parse(item.pendingCreate) as OrderCreateRequest) : null,
    claimedAt: String(item.claimedAt ?? item.updatedAt),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

/**
 * The pending-claim attributes: the request (as JSON, so any metadata key is kept as sent) and the sparse
 * `pendingOrders` index keys that let the reconciler find a claim left without its PaymentIntent.
 */
function pendingAttributes(request: OrderCreateRequest, claimedAt: string) {
  return { pendingCreate: JSON.stringify(request), pendingOrderKey: PENDING_ORDER_KEY, claimedAt };
}

export type ClaimResult = { claimed: true; order: OrderRecord } | { claimed: false; existing: OrderRecord };

/**
 * Claim generation 1 of a new order, or learn the order that already exists (from the failed condition itself,
 * so the happy path and the replay path each cost one request).
 */
export async function claimOrder(
  store: Store,
  input: { locationId: string; orderId: string; request: OrderCreateRequest },
  now: Date,
): Promise<ClaimResult> {
  const { request, ...ids } = input;
  const at = now.toISOString();
  const order: OrderRecord = {
    ...ids,
    generation: 1,
    paymentId: null,
    amount: request.amount,
    currency: request.currency,
    request,
    claimedAt: at,
    createdAt: at,
    updatedAt: at,
  };
  try {
    await store.db.send(
      new PutCommand({
        TableName: store.table,
        Item: {
          pk: orderPk(input.locationId, input.orderId),
          sk: ORDER_SORT_KEY,
          entity: 'order',
          locationId: order.locationId,
          orderId: order.orderId,
          generation: order.generation,
          amount: order.amount,
          currency: order.currency,
          createdAt: at,
          updatedAt: at,
          ...pendingAttributes(request, at),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { claimed: true, order };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException && error.Item !== undefined) {
      return { claimed: false, existing: orderFromItem(unmarshallOld(error.Item)) };
    }
    throw error;
  }
}

/** `ReturnValuesOnConditionCheckFailure` hands back the low-level attribute map; the document client does not convert it. */
function unmarshallOld(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    const attribute = value as { S?: string; N?: string; NULL?: boolean };
    out[key] = attribute.S ?? (attribute.N !== undefined ? Number(attribute.N) : null);
  }
  return out;
}

/**
 * Start the order's next generation, for a new PaymentIntent: after its payment was canceled, or after Stripe
 * created nothing for the current generation. Conditional on the generation and payment seen, so only one of
 * several racing creates starts it; returns the new order, or undefined when another request changed the order
 * first.
 */
export async function startNextGeneration(
  store: Store,
  existing: OrderRecord,
  request: OrderCreateRequest,
  now: Date,
): Promise<OrderRecord | undefined> {
  const at = now.toISOString();
  const next: OrderRecord = {
    ...existing,
    amount: request.amount,
    currency: request.currency,
    request,
    generation: existing.generation + 1,
    paymentId: null,
    claimedAt: at,
    updatedAt: at,
  };
  const pending = pendingAttributes(request, at);
  try {
    await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { pk: orderPk(existing.locationId, existing.orderId), sk: ORDER_SORT_KEY },
        UpdateExpression:
          'SET generation = :next, amount = :amount, currency = :currency, updatedAt = :now, ' +
          'pendingCreate = :request, pendingOrderKey = :pending, claimedAt = :now REMOVE paymentId',
        ConditionExpression:
          existing.paymentId === null
            ? 'generation = :seen AND attribute_not_exists(paymentId)'
            : 'generation = :seen AND paymentId = :payment',
        ExpressionAttributeValues: {
          ':next': next.generation,
          ':seen': existing.generation,
          ...(existing.paymentId === null ? {} : { ':payment': existing.paymentId }),
          ':amount': next.amount,
          ':currency': next.currency,
          ':now': at,
          ':request': pending.pendingCreate,
          ':pending': pending.pendingOrderKey,
        },
      }),
    );
    return next;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

/**
 * Store a new payment and make it its order generation's payment, in one transaction. Returns false when the
 * payment was already stored (a racing create of the same generation got there first).
 */
export async function insertPaymentForOrder(
  store: Store,
  record: PaymentRecord,
  order: OrderRecord,
  now: Date,
): Promise<PaymentRecord | undefined> {
  const stored = { ...record, version: 1 };
  try {
    await store.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: { TableName: store.table, Item: paymentItem(stored), ConditionExpression: 'attribute_not_exists(pk)' },
          },
          {
            Update: {
              TableName: store.table,
              Key: { pk: orderPk(order.locationId, order.orderId), sk: ORDER_SORT_KEY },
              UpdateExpression:
                'SET paymentId = :payment, updatedAt = :now REMOVE pendingCreate, pendingOrderKey, claimedAt',
              ConditionExpression:
                'generation = :generation AND (attribute_not_exists(paymentId) OR paymentId = :payment)',
              ExpressionAttributeValues: {
                ':payment': record.id,
                ':generation': order.generation,
                ':now': now.toISOString(),
              },
            },
          },
        ],
      }),
    );
    return stored;
  } catch (error) {
    if (error instanceof TransactionCanceledException) return undefined;
    throw error;
  }
}

/**
 * Take a claim whose create Stripe refused out of the `pendingOrders` index (its request stays, so the next create
 * for the order learns the same and starts a new generation): nothing is left for the reconciler to settle.
 */
export async function setAsideRefusedClaim(store: Store, order: OrderRecord): Promise<void> {
  try {
    await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { pk: orderPk(order.locationId, order.orderId), sk: ORDER_SORT_KEY },
        UpdateExpression: 'REMOVE pendingOrderKey',
        ConditionExpression: 'generation = :generation AND attribute_not_exists(paymentId)',
        ExpressionAttributeValues: { ':generation': order.generation },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Order claims still without a recorded PaymentIntent, claimed no later than `claimedBy`, oldest first. */
export async function listPendingOrders(store: Store, claimedBy: string, limit: number): Promise<OrderRecord[]> {
  const index = paymentsTable.indexes.pendingOrders;
  const output = await store.db.send(
    new QueryCommand({
      TableName: store.table,
      IndexName: index.indexName,
      KeyConditionExpression: '#pk = :pk AND #sk <= :upTo',
      ExpressionAttributeNames: { '#pk': index.partitionKey.name, '#sk': index.sortKey.name },
      ExpressionAttributeValues: { ':pk': PENDING_ORDER_KEY, ':upTo': claimedBy },
      Limit: limit,
    }),
  );
  return (output.Items ?? []).map(orderFromItem);
}

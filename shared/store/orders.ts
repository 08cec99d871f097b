/**
 * Orders (`ORDER#{locationId}#{orderId}` / `ORDER`): which PaymentIntent is the order's live one, and its
 * generation. One order never gets a second live PaymentIntent, and that is decided by conditional writes only
 * (never by reading first and writing after), so two racing creates cannot both win.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PaymentRecord } from '../payments/types.ts';
import { dynamo, tableName } from './client.ts';
import { paymentItem } from './payments.ts';

export const ORDER_SORT_KEY = 'ORDER';

export function orderPk(locationId: string, orderId: string): string {
  return `ORDER#${locationId}#${orderId}`;
}

/** The order item. */
export interface OrderRecord {
  locationId: string;
  orderId: string;
  /** Bumped only after the order's payment was canceled; part of the create idempotency key. */
  generation: number;
  /** The generation's PaymentIntent; null until it is created and stored. */
  paymentId: string | null;
  /** What the generation was claimed for (compared when a create finds no payment yet). */
  amount: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
}

function orderFromItem(item: Record<string, unknown>): OrderRecord {
  return {
    locationId: String(item.locationId),
    orderId: String(item.orderId),
    generation: Number(item.generation),
    paymentId: typeof item.paymentId === 'string' ? item.paymentId : null,
    amount: Number(item.amount),
    currency: String(item.currency),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

export type ClaimResult = { claimed: true; order: OrderRecord } | { claimed: false; existing: OrderRecord };

/**
 * Claim generation 1 of a new order, or learn the order that already exists (from the failed condition itself,
 * so the happy path and the replay path each cost one request).
 */
export async function claimOrder(
  input: { locationId: string; orderId: string; amount: number; currency: string },
  now: Date,
): Promise<ClaimResult> {
  const order: OrderRecord = {
    ...input,
    generation: 1,
    paymentId: null,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  try {
    await dynamo().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          pk: orderPk(input.locationId, input.orderId),
          sk: ORDER_SORT_KEY,
          entity: 'order',
          ...order,
          paymentId: undefined,
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
 * Start the next generation of an order whose payment was canceled, for a new PaymentIntent. Conditional on the
 * generation and payment seen, so only one of several racing creates starts it; returns the new order, or
 * undefined when another request changed the order first.
 */
export async function startNextGeneration(
  existing: OrderRecord,
  requested: { amount: number; currency: string },
  now: Date,
): Promise<OrderRecord | undefined> {
  const next: OrderRecord = {
    ...existing,
    ...requested,
    generation: existing.generation + 1,
    paymentId: null,
    updatedAt: now.toISOString(),
  };
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { pk: orderPk(existing.locationId, existing.orderId), sk: ORDER_SORT_KEY },
        UpdateExpression:
          'SET generation = :next, amount = :amount, currency = :currency, updatedAt = :now REMOVE paymentId',
        ConditionExpression: 'generation = :seen AND paymentId = :payment',
        ExpressionAttributeValues: {
          ':next': next.generation,
          ':seen': existing.generation,
          ':payment': existing.paymentId,
          ':amount': next.amount,
          ':currency': next.currency,
          ':now': next.updatedAt,
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
  record: PaymentRecord,
  order: OrderRecord,
  now: Date,
): Promise<PaymentRecord | undefined> {
  const stored = { ...record, version: 1 };
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: { TableName: tableName(), Item: paymentItem(stored), ConditionExpression: 'attribute_not_exists(pk)' },
          },
          {
            Update: {
              TableName: tableName(),
              Key: { pk: orderPk(order.locationId, order.orderId), sk: ORDER_SORT_KEY },
              UpdateExpression: 'SET paymentId = :payment, updatedAt = :now',
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
 * Give up a fresh claim (generation 1, no PaymentIntent yet) after Stripe refused to create the PaymentIntent
 * outright, so the order can be created again with other details. Conditional: a claim that has meanwhile got
 * its payment stays.
 */
export async function releaseOrderClaim(order: OrderRecord): Promise<void> {
  if (order.generation !== 1) return;
  try {
    await dynamo().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: { pk: orderPk(order.locationId, order.orderId), sk: ORDER_SORT_KEY },
        ConditionExpression: 'generation = :one AND attribute_not_exists(paymentId)',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * Applied Stripe events (`EVENT#{id}` / `EVENT`), remembered for longer than Stripe's 3-day retry window so a
 * redelivered event is recognised and changes nothing. An event is recorded in the same transaction as the
 * payment change it caused: either both are stored or neither is.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { unixSeconds } from '../time.ts';
import { PAYMENT_SORT_KEY, paymentFromItem, paymentItem, paymentPk, VersionConflictError } from './payments.ts';
import { EVENT_DEDUPE_TTL_SECONDS } from './table.ts';

export const EVENT_SORT_KEY = 'EVENT';

export function eventPk(eventId: string): string {
  return `EVENT#${eventId}`;
}

/** The event an applied change came from. */
export interface AppliedEvent {
  id: string;
  type: string;
  /** Unix seconds. */
  created: number;
  paymentIntentId: string;
}

/** Another delivery of the same event was applied first. */
export class EventAlreadyAppliedError extends Error {
  constructor(eventId: string) {
    super(`Event ${eventId} has already been applied`);
    this.name = 'EventAlreadyAppliedError';
  }
}

/** The dedupe item for an event applied at `now`; DynamoDB's TTL removes it after `expiresAt`. */
export function eventItem(event: AppliedEvent, now: Date): Record<string, unknown> {
  return {
    pk: eventPk(event.id),
    sk: EVENT_SORT_KEY,
    entity: 'event',
    eventId: event.id,
    eventType: event.type,
    eventCreated: event.created,
    paymentIntentId: event.paymentIntentId,
    appliedAt: now.toISOString(),
    expiresAt: unixSeconds(now.getTime()) + EVENT_DEDUPE_TTL_SECONDS,
  };
}

/**
 * The payment and whether the event was already applied, in one strongly consistent request (a BatchGetItem of
 * both items; only keys DynamoDB left unprocessed are asked for again).
 */
export async function readPaymentForEvent(
  store: Store,
  paymentIntentId: string,
  eventId: string,
): Promise<{ payment?: PaymentRecord; alreadyApplied: boolean }> {
  const table = store.table;
  const keys = [
    { pk: paymentPk(paymentIntentId), sk: PAYMENT_SORT_KEY },
    { pk: eventPk(eventId), sk: EVENT_SORT_KEY },
  ];
  const found: Record<string, unknown>[] = [];
  let pending: typeof keys | undefined = keys;
  for (let round = 0; pending !== undefined && pending.length > 0; round += 1) {
    if (round >= 5) throw new Error(`DynamoDB left keys unprocessed reading event ${eventId}`);
    const output = await store.db.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
    );
    found.push(...(output.Responses?.[table] ?? []));
    pending = output.UnprocessedKeys?.[table]?.Keys as typeof keys | undefined;
  }
  const payment = found.find((item) => item.sk === PAYMENT_SORT_KEY);
  return {
    ...(payment === undefined ? {} : { payment: paymentFromItem(payment) }),
    alreadyApplied: found.some((item) => item.sk === EVENT_SORT_KEY),
  };
}

/**
 * Store the payment as changed by `event` and record the event, in one transaction: the payment only if its
 * stored version is still `changed.version` (the version it was read at), the event only if it is new.
 * Returns the record with its new version. Throws `VersionConflictError` when another writer changed the payment
 * first (re-read and apply again), `EventAlreadyAppliedError` when another delivery of the event won.
 */
export async function savePaymentWithEvent(
  store: Store,
  changed: PaymentRecord,
  event: AppliedEvent,
  now: Date,
): Promise<PaymentRecord> {
  const next = { ...changed, version: changed.version + 1 };
  try {
    await store.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: store.table,
              Item: paymentItem(next),
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': changed.version },
            },
          },
          {
            Put: {
              TableName: store.table,
              Item: eventItem(event, now),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const [payment, dedupe] = error.CancellationReasons ?? [];
    if (dedupe?.Code === 'ConditionalCheckFailed') throw new EventAlreadyAppliedError(event.id);
    // A concurrent transaction on either item is a race like a version conflict: read again and retry.
    if (payment?.Code === 'ConditionalCheckFailed' || payment?.Code === 'TransactionConflict') {
      throw new VersionConflictError(changed.id);
    }
    if (dedupe?.Code === 'TransactionConflict') throw new VersionConflictError(changed.id);
    throw error;
  }
  return next;
}

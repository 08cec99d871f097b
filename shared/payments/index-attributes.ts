/**
 * The table's index attributes for a payment, derived from the record so they can never disagree with it.
 * Each sparse index holds a payment only while the attributes below are present.
 */
import { currentAttempt, isAwaitingOutcome } from './record.ts';
import type { PaymentRecord } from './types.ts';

/**
 * Partitions of the `byCreated` index. A payment's partition follows from its id, so writes spread evenly over
 * them instead of all landing on one key; listing every payment reads each partition and merges them.
 */
export const LIST_SHARDS = 8;
/**
 * The single partition every payment was listed under before the index was sharded. Nothing is written to it any
 * more (a payment moves to its shard the next time it is written), and listings still read it, so a payment stored
 * before the change is never missing from them.
 */
export const LEGACY_LIST_KEY = 'PAYMENTS';
/** Partition value of the `activeReaderActions` index. */
export const ACTIVE_ACTION_KEY = 'ACTIVE_ACTION';
/** Partition value of the `awaitingCapture*` indexes. */
export const AWAITING_CAPTURE_KEY = 'AWAITING_CAPTURE';
/** Partition value of the `unsettledRefunds` index. */
export const UNSETTLED_REFUND_KEY = 'UNSETTLED_REFUND';

export interface PaymentIndexAttributes {
  locationKey: string;
  listKey: string;
  /** Sorts newest-last as a string; unique because it ends with the payment id. */
  createdKey: string;
  activeActionKey?: string;
  actionStartedAt?: string;
  awaitingCaptureKey?: string;
  authorizedAt?: string;
  captureBefore?: string;
  unsettledRefundKey?: string;
  refundCheckAt?: string;
}

/** The `byLocation` partition of a location. */
export function locationKey(locationId: string): string {
  return `LOCATION#${locationId}`;
}

/** The `byCreated` partition of a payment: FNV-1a of its id, modulo `LIST_SHARDS`. */
export function listKey(paymentId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < paymentId.length; i += 1) hash = Math.imul(hash ^ paymentId.charCodeAt(i), 0x01000193);
  return `${LEGACY_LIST_KEY}#${(hash >>> 0) % LIST_SHARDS}`;
}

/** Every `byCreated` partition a payment may be in, the legacy one included. */
export const allListKeys: readonly string[] = [
  ...Array.from({ length: LIST_SHARDS }, (_, shard) => `${LEGACY_LIST_KEY}#${shard}`),
  LEGACY_LIST_KEY,
];

/** Sort key of the listing indexes. */
export function createdKey(record: Pick<PaymentRecord, 'createdAt' | 'id'>): string {
  return `${record.createdAt}#${record.id}`;
}

/**
 * Index attributes for `record`: listing keys always; `activeActionKey` + `actionStartedAt` only while the
 * payment awaits its reader action's outcome (see `isAwaitingOutcome`); `awaitingCaptureKey` + `authorizedAt` +
 * `captureBefore` only while the payment is `requires_capture`; `unsettledRefundKey` + `refundCheckAt` only while a
 * refund is unsettled.
 */
export function paymentIndexAttributes(record: PaymentRecord): PaymentIndexAttributes {
  const attributes: PaymentIndexAttributes = {
    locationKey: locationKey(record.locationId),
    listKey: listKey(record.id),
    createdKey: createdKey(record),
  };
  const attempt = currentAttempt(record);
  if (isAwaitingOutcome(record)) {
    attributes.activeActionKey = ACTIVE_ACTION_KEY;
    attributes.actionStartedAt = new Date(attempt?.startedAtMs ?? Date.parse(record.updatedAt)).toISOString();
  }
  if (record.status === 'requires_capture' && record.authorizedAt !== null && record.captureBefore !== null) {
    attributes.awaitingCaptureKey = AWAITING_CAPTURE_KEY;
    attributes.authorizedAt = record.authorizedAt;
    attributes.captureBefore = record.captureBefore;
  }
  if (record.refundCheckAt !== null) {
    attributes.unsettledRefundKey = UNSETTLED_REFUND_KEY;
    attributes.refundCheckAt = record.refundCheckAt;
  }
  return attributes;
}

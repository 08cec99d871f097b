/**
 * The table's index attributes for a payment, derived from the record so they can never disagree with it.
 * Each sparse index holds a payment only while the attributes below are present.
 */
import { currentAttempt, isAwaitingOutcome } from './record.ts';
import type { PaymentRecord } from './types.ts';

/** Partition value of the `byCreated` index: every payment. */
export const ALL_PAYMENTS_LIST_KEY = 'PAYMENTS';
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
    listKey: ALL_PAYMENTS_LIST_KEY,
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

/**
 * The API's JSON for payments and readers (the contract's Payment and Reader resources).
 */

import { amountRefunded } from './refunds.ts';
import type {
  CaptureMethod,
  CardDetails,
  LastPaymentError,
  PaymentFlag,
  PaymentRecord,
  PaymentStatus,
  ReaderActionStatus,
  ReaderHealth,
  ReaderSnapshot,
  RefundMethod,
  RefundReason,
  RefundRecord,
  RefundStatus,
} from './types.ts';

/** The Payment resource, exactly as the API returns it. */
export interface PaymentResource {
  id: string;
  orderId: string;
  locationId: string;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  status: PaymentStatus;
  readerId: string | null;
  readerAction: {
    type: 'process_payment_intent';
    status: ReaderActionStatus;
    failureCode: string | null;
    failureMessage: string | null;
    updatedAt: string;
  } | null;
  lastPaymentError: LastPaymentError | null;
  amountCapturable: number;
  amountReceived: number;
  card: CardDetails | null;
  captureBefore: string | null;
  flags: PaymentFlag[];
  attempts: number;
  /** The tip chosen on the reader; `amount` includes it. */
  tipAmount: number;
  /** Where Stripe sends its receipt, if the POS asked for one. */
  receiptEmail: string | null;
  /** Sum of the succeeded refunds. */
  amountRefunded: number;
  refunds: RefundResource[];
  createdAt: string;
  updatedAt: string;
}

/** The Refund resource. */
export interface RefundResource {
  /** Stripe's refund id; null while a reader refund waits for the card (no refund is made before). */
  id: string | null;
  /** The POS's `Idempotency-Key` the refund was asked for with; null for one made outside this API. */
  idempotencyKey: string | null;
  paymentId: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: RefundReason | null;
  method: RefundMethod;
  readerId: string | null;
  readerAction: {
    type: 'refund_payment';
    status: ReaderActionStatus;
    failureCode: string | null;
    failureMessage: string | null;
    updatedAt: string;
  } | null;
  failureReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The Reader resource. */
export interface ReaderResource {
  id: string;
  label: string | null;
  locationId: string | null;
  deviceType: string;
  status: 'online' | 'offline';
  action: {
    type: string;
    status: ReaderActionStatus;
    failureCode: string | null;
    failureMessage: string | null;
    paymentIntentId: string | null;
  } | null;
  lastSeenAt: string | null;
  health: ReaderHealth;
  /** The payment its action is about (`action.paymentIntentId`), or null. */
  paymentId: string | null;
}

/** What the API shows of a stored payment. */
export function toPaymentResource(record: PaymentRecord): PaymentResource {
  return {
    id: record.id,
    orderId: record.orderId,
    locationId: record.locationId,
    amount: record.amount,
    currency: record.currency,
    captureMethod: record.captureMethod,
    status: record.status,
    readerId: record.readerId,
    // Fields named one by one: the JSON has the same key order however the record was stored or read.
    readerAction:
      record.readerAction === null
        ? null
        : {
            type: record.readerAction.type,
            status: record.readerAction.status,
            failureCode: record.readerAction.failureCode,
            failureMessage: record.readerAction.failureMessage,
            updatedAt: record.readerAction.updatedAt,
          },
    lastPaymentError:
      record.lastPaymentError === null
        ? null
        : {
            code: record.lastPaymentError.code,
            declineCode: record.lastPaymentError.declineCode,
            message: record.lastPaymentError.message,
          },
    amountCapturable: record.amountCapturable,
    amountReceived: record.amountReceived,
    card: record.card === null ? null : { brand: record.card.brand, last4: record.card.last4 },
    // The deadline matters only while the authorization is waiting to be captured.
    captureBefore: record.status === 'requires_capture' ? record.captureBefore : null,
    flags: [...record.flags],
    attempts: record.attempts,
    tipAmount: record.tipAmount,
    receiptEmail: record.receiptEmail,
    amountRefunded: amountRefunded(record),
    refunds: record.refunds.map((refund) => toRefundResource(record.id, refund)),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The Receipt resource: what a card-present receipt prints. */
export interface ReceiptResource {
  paymentId: string;
  orderId: string;
  locationId: string;
  amount: number;
  tipAmount: number;
  amountRefunded: number;
  currency: string;
  status: PaymentStatus;
  card: { brand: string | null; last4: string | null; readMethod: string | null };
  emv: {
    applicationPreferredName: string | null;
    dedicatedFileName: string | null;
    authorizationCode: string | null;
    authorizationResponseCode: string | null;
    accountType: string | null;
    applicationCryptogram: string | null;
    terminalVerificationResults: string | null;
    transactionStatusInformation: string | null;
  };
  refunds: RefundResource[];
  createdAt: string;
}

/** The receipt of an authorized payment (fields Stripe did not give are null). */
export function toReceiptResource(record: PaymentRecord): ReceiptResource {
  const receipt = record.receipt;
  const field = (name: keyof NonNullable<typeof receipt>) => receipt?.[name] ?? null;
  return {
    paymentId: record.id,
    orderId: record.orderId,
    locationId: record.locationId,
    amount: record.amount,
    tipAmount: record.tipAmount,
    amountRefunded: amountRefunded(record),
    currency: record.currency,
    status: record.status,
    card: { brand: record.card?.brand ?? null, last4: record.card?.last4 ?? null, readMethod: field('readMethod') },
    emv: {
      applicationPreferredName: field('applicationPreferredName'),
      dedicatedFileName: field('dedicatedFileName'),
      authorizationCode: field('authorizationCode'),
      authorizationResponseCode: field('authorizationResponseCode'),
      accountType: field('accountType'),
      applicationCryptogram: field('applicationCryptogram'),
      terminalVerificationResults: field('terminalVerificationResults'),
      transactionStatusInformation: field('transactionStatusInformation'),
    },
    refunds: record.refunds.map((refund) => toRefundResource(record.id, refund)),
    createdAt: record.createdAt,
  };
}

/** What the API shows of one of a payment's refunds. */
export function toRefundResource(paymentId: string, refund: RefundRecord): RefundResource {
  return {
    id: refund.id,
    idempotencyKey: refund.key,
    paymentId,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
    reason: refund.reason,
    method: refund.method,
    readerId: refund.readerId,
    readerAction:
      refund.readerAction === null
        ? null
        : {
            type: refund.readerAction.type,
            status: refund.readerAction.status,
            failureCode: refund.readerAction.failureCode,
            failureMessage: refund.readerAction.failureMessage,
            updatedAt: refund.readerAction.updatedAt,
          },
    failureReason: refund.failureReason,
    createdAt: refund.createdAt,
    updatedAt: refund.updatedAt,
  };
}

/** What the API shows of a reader. */
export function toReaderResource(reader: ReaderSnapshot): ReaderResource {
  return {
    id: reader.id,
    label: reader.label,
    locationId: reader.locationId,
    deviceType: reader.deviceType,
    status: reader.status,
    action:
      reader.action === null
        ? null
        : {
            type: reader.action.type,
            status: reader.action.status,
            failureCode: reader.action.failureCode,
            failureMessage: reader.action.failureMessage,
            paymentIntentId: reader.action.paymentIntentId,
          },
    lastSeenAt: reader.lastSeenAt,
    health: reader.health,
    paymentId: reader.action?.paymentIntentId ?? null,
  };
}

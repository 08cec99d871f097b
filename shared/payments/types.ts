/**
 * The payment domain's data: what is stored for a payment (the record), and the observations of Stripe's
 * state that move it. Plain data only, so every rule over it is a pure function.
 */

/** Stripe's PaymentIntent statuses, in the order a payment moves through them. */
export const PAYMENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'succeeded',
  'canceled',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const CAPTURE_METHODS = ['automatic', 'manual'] as const;
export type CaptureMethod = (typeof CAPTURE_METHODS)[number];

/** Conditions the backend raises on a payment for the POS and operators to act on. */
export const PAYMENT_FLAGS = ['reader_stuck', 'capture_deadline_approaching', 'authorization_expired'] as const;
export type PaymentFlag = (typeof PAYMENT_FLAGS)[number];

export const READER_ACTION_STATUSES = ['in_progress', 'succeeded', 'failed'] as const;
export type ReaderActionStatus = (typeof READER_ACTION_STATUSES)[number];

/** The state of this payment's latest `process_payment_intent` reader action. */
export interface ReaderActionState {
  type: 'process_payment_intent';
  status: ReaderActionStatus;
  failureCode: string | null;
  failureMessage: string | null;
  updatedAt: string;
}

/** Why the latest authorization attempt failed, as Stripe reports it on the PaymentIntent. */
export interface LastPaymentError {
  code: string | null;
  declineCode: string | null;
  message: string | null;
}

/** Stripe's refund statuses as the API shows them (`requires_action` shows as `pending`). */
export const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export const REFUND_REASONS = ['requested_by_customer', 'duplicate', 'fraudulent'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/** How a refund was made: online (`POST /v1/refunds`) or with the card on a reader (`refund_payment`). */
export type RefundMethod = 'api' | 'reader';

/** The state of a reader refund's `refund_payment` action. */
export interface RefundReaderActionState {
  type: 'refund_payment';
  status: ReaderActionStatus;
  failureCode: string | null;
  failureMessage: string | null;
  updatedAt: string;
}

/**
 * One refund of a payment: claimed by the API before Stripe hears of it (so racing requests cannot refund more
 * than was paid), then followed through Stripe's answers, events and reads. A refund made elsewhere (the Dashboard)
 * is learnt from its events and has no `key`.
 */
export interface RefundRecord {
  /** The POS's `Idempotency-Key`; null for a refund made outside this API. */
  key: string | null;
  /** Fingerprint of the request's body: the same key with another body is refused. */
  requestHash: string | null;
  /** Stripe's refund id, once there is a refund (a reader refund has none until the card is presented). */
  id: string | null;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: RefundReason | null;
  method: RefundMethod;
  readerId: string | null;
  readerAction: RefundReaderActionState | null;
  failureReason: string | null;
  /** Our clock when the refund was claimed (or first seen), ms. */
  requestedAtMs: number;
  /** For a reader refund: which of the payment's reader refund commands this is (its Stripe keys derive from it). */
  command?: number;
  /**
   * Set while the Stripe request (the refund, or the reader's command) may still be on its way: until then a read
   * that does not show it proves nothing.
   */
  answerDueByMs?: number;
  createdAt: string;
  updatedAt: string;
}

/** Card details for the receipt, from the successful charge. */
export interface CardDetails {
  brand: string | null;
  last4: string | null;
}

/**
 * What a card-present receipt must show, from the charge's `payment_method_details.card_present.receipt` (or
 * `interac_present`'s) and `read_method`. A field Stripe gives as null stays null.
 */
export interface ReceiptDetails {
  /** How the card was read: `contactless_emv`, `contact_emv`, `magnetic_stripe_track2`, … */
  readMethod: string | null;
  applicationPreferredName: string | null;
  /** The card application's AID. */
  dedicatedFileName: string | null;
  authorizationCode: string | null;
  authorizationResponseCode: string | null;
  accountType: string | null;
  applicationCryptogram: string | null;
  terminalVerificationResults: string | null;
  transactionStatusInformation: string | null;
}

/**
 * One `process_payment_intent` command the backend had a reader accept. Reader-action observations are matched
 * to an attempt by reader and time, because a reader's action carries no attempt number of its own.
 */
export interface ProcessAttempt {
  number: number;
  readerId: string;
  /** Our clock, just before the command that the reader accepted was sent. */
  startedAtMs: number;
  /**
   * Set while the command is on its way: from the claim (before the command is sent) until Stripe's answer is
   * recorded; the process request's deadline. Until then the reader may take the command at any moment, so a read
   * of the reader that does not show it ends nothing.
   */
  answerDueByMs?: number;
}

export type ObservationSource = 'api' | 'webhook' | 'poll';

/** One entry of a payment's audit trail. */
export interface AuditEntry {
  at: string;
  source: ObservationSource;
  /** `payment_intent`, `charge`, `reader_action`, or a backend command such as `process_attempt`. */
  kind: string;
  summary: string;
  eventId?: string;
  eventType?: string;
}

/** What is stored for a payment: one item per Stripe PaymentIntent. */
export interface PaymentRecord {
  /** The Stripe PaymentIntent id. */
  id: string;
  orderId: string;
  locationId: string;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  description: string | null;
  metadata: Record<string, string>;
  status: PaymentStatus;
  /** Reader of the latest process attempt. */
  readerId: string | null;
  readerAction: ReaderActionState | null;
  lastPaymentError: LastPaymentError | null;
  amountCapturable: number;
  amountReceived: number;
  card: CardDetails | null;
  /** The EMV fields of the successful charge, for the receipt. */
  receipt: ReceiptDetails | null;
  /** Where Stripe sends its receipt (`receipt_email`). */
  receiptEmail: string | null;
  /** The tip chosen on the reader (`amount_details.tip.amount`); `amount` includes it. */
  tipAmount: number;
  chargeId: string | null;
  /** The successful charge's payment method type: `card_present`, or `interac_present` (refunded on a reader only). */
  paymentMethodType: string | null;
  cancellationReason: string | null;
  /** When the PaymentIntent was first seen in `requires_capture`. */
  authorizedAt: string | null;
  /** The charge's `capture_before`, else `authorizedAt` + 2 days. */
  captureBefore: string | null;
  flags: PaymentFlag[];
  /** Process attempts a reader accepted for this PaymentIntent. */
  attempts: number;
  /** The latest attempts, oldest first (bounded); the last is the current one. */
  attemptLog: ProcessAttempt[];
  /** The next `try` of the idempotency key for attempt `attempts + 1` (a reader error is stored by Stripe under its key). */
  nextProcessTry: number;
  /** Amount changes made with `PATCH`, so each change gets its own idempotency key. */
  amountUpdates: number;
  /** Refunds, oldest first. */
  refunds: RefundRecord[];
  /** Reader refund commands claimed so far (withdrawn ones included), so each gets keys of its own. */
  refundCommands: number;
  /** While a refund is unsettled: when the reconciler should look at it next (ISO). */
  refundCheckAt: string | null;
  /** Reconciler looks at the unsettled refunds so far (spaces the next look). */
  refundChecks: number;
  /** Time of the PaymentIntent snapshot the status was taken from (event `created` or read time), ms. */
  paymentIntentObservedAtMs: number;
  /** Audit trail, oldest first, bounded. */
  history: AuditEntry[];
  /** Optimistic-concurrency version; every stored change increments it. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Stripe's PaymentIntent, reduced to what the payment record follows. */
export interface PaymentIntentSnapshot {
  id: string;
  status: string;
  amount: number;
  currency: string;
  amountCapturable: number;
  amountReceived: number;
  lastPaymentError: LastPaymentError | null;
  cancellationReason: string | null;
  /** `amount_details.tip.amount`: the tip chosen on the reader, 0 without one. */
  tipAmount: number;
  receiptEmail: string | null;
  /** The latest charge when it was expanded; `null` when there is none or it was not expanded. */
  latestCharge: ChargeSnapshot | null;
}

/** Stripe's Charge, reduced to what the payment record follows. */
export interface ChargeSnapshot {
  id: string;
  paymentIntentId: string | null;
  status: string;
  brand: string | null;
  last4: string | null;
  /** `payment_method_details.type`. */
  paymentMethodType: string | null;
  /** The receipt fields of a card-present (or Interac) charge; null for other charges. */
  receipt: ReceiptDetails | null;
  /** `amount_refunded`: pending and succeeded refunds. */
  amountRefunded: number;
  /** `payment_method_details.card_present.capture_before`, unix seconds. */
  captureBefore: number | null;
  /** Unix seconds. */
  created: number;
}

/** A reader's `action`, reduced to what the payment record follows. */
export interface ReaderActionSnapshot {
  type: string;
  status: ReaderActionStatus;
  failureCode: string | null;
  failureMessage: string | null;
  /** The PaymentIntent of a `process_payment_intent` or `refund_payment` action (null for other types). */
  paymentIntentId: string | null;
  /** A `refund_payment` action's: the POS's refund key (from its metadata) and the refund once made. */
  refundKey?: string | null;
  refundId?: string | null;
}

/** Whether a reader can take a payment now (`shared/payments/reader-health.ts`). */
export const READER_HEALTHS = ['ready', 'busy', 'offline', 'stuck'] as const;
export type ReaderHealth = (typeof READER_HEALTHS)[number];

/** A reader as the API shows it. */
export interface ReaderSnapshot {
  id: string;
  label: string | null;
  locationId: string | null;
  deviceType: string;
  status: 'online' | 'offline';
  action: ReaderActionSnapshot | null;
  /** Stripe's `last_seen_at` (ms) as an ISO time; null when Stripe gives none. */
  lastSeenAt: string | null;
  health: ReaderHealth;
}

/** Where an observation came from, for ordering and the audit trail. */
export interface ObservationOrigin {
  source: ObservationSource;
  eventId?: string;
  eventType?: string;
}

/** A PaymentIntent as read from Stripe (API response, webhook or poll). */
export interface PaymentIntentObservation {
  kind: 'payment_intent';
  origin: ObservationOrigin;
  /** Event `created` × 1000 for webhooks; the read time for API responses and polls. */
  observedAtMs: number;
  paymentIntent: PaymentIntentSnapshot;
}

/** A charge as read from Stripe. */
export interface ChargeObservation {
  kind: 'charge';
  origin: ObservationOrigin;
  charge: ChargeSnapshot;
}

/** A reader's action as read from Stripe. */
export interface ReaderActionObservation {
  kind: 'reader_action';
  origin: ObservationOrigin;
  readerId: string;
  /** The reader's `action` (null when it has none). */
  action: ReaderActionSnapshot | null;
  /**
   * The reader's connection when it was read. An offline reader's action in the API does not follow the device:
   * its showing no action (or another payment's) then proves nothing.
   */
  readerStatus?: 'online' | 'offline';
  /** Event `created`, or the read time, in unix seconds. */
  createdSeconds: number;
  /**
   * Set only by the backend for the direct answer to its own command for this attempt number, which needs no
   * matching by time.
   */
  forAttempt?: number;
  /** Set by the backend when it read the reader for this refund (its key): what the reader shows is about it. */
  forRefundKey?: string;
}

/** Stripe's Refund, reduced to what the payment record follows. */
export interface RefundSnapshot {
  id: string;
  paymentIntentId: string | null;
  amount: number;
  currency: string;
  /** Stripe's status (`pending`, `requires_action`, `succeeded`, `failed`, `canceled`). */
  status: string;
  reason: string | null;
  failureReason: string | null;
  /** The POS's refund key, from the refund's metadata (null for a refund made elsewhere). */
  key: string | null;
  /** Unix seconds. */
  created: number;
}

/** A refund as read from Stripe. */
export interface RefundObservation {
  kind: 'refund';
  origin: ObservationOrigin;
  refund: RefundSnapshot;
}

/**
 * Stripe refused to make a claimed refund (seen when nobody waits for the answer: the reconciler's resend), or the
 * claim was never sent and Stripe holds no refund for it.
 */
export interface RefundRefusedObservation {
  kind: 'refund_refused';
  origin: ObservationOrigin;
  key: string;
  failureReason: string;
}

export type Observation =
  | PaymentIntentObservation
  | ChargeObservation
  | ReaderActionObservation
  | RefundObservation
  | RefundRefusedObservation;

/** What `applyObservation` concluded. */
export type ObservationVerdict =
  /** The record changed. */
  | 'applied'
  /** It belongs to the payment but says nothing new. */
  | 'unchanged'
  /** It is older than what the record holds, or about something else: ignored. */
  | 'stale'
  /** It may be from an earlier attempt on the same reader in the same second: read the reader to be sure. */
  | 'ambiguous';

export interface ObservationResult {
  record: PaymentRecord;
  changed: boolean;
  verdict: ObservationVerdict;
}

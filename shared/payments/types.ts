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

/** Card details for the receipt, from the successful charge. */
export interface CardDetails {
  brand: string | null;
  last4: string | null;
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
  chargeId: string | null;
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
  /** `action.process_payment_intent.payment_intent` (null for other action types). */
  paymentIntentId: string | null;
}

/** A reader as the API shows it. */
export interface ReaderSnapshot {
  id: string;
  label: string | null;
  locationId: string | null;
  deviceType: string;
  status: 'online' | 'offline';
  action: ReaderActionSnapshot | null;
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
}

export type Observation = PaymentIntentObservation | ChargeObservation | ReaderActionObservation;

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

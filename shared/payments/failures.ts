/**
 * Why an operation did not do what it was asked: the domain's outcomes, in the words a cashier's app can show.
 * They carry no transport: the HTTP edge (`shared/http/errors.ts`) alone decides each one's status and headers.
 */

/** Every failure an operation can end with. */
export const FAILURE_CODES = [
  'invalid_input',
  'payment_not_found',
  'reader_not_found',
  'location_not_found',
  'invalid_registration_code',
  'invalid_state',
  'order_conflict',
  'refund_exceeds_balance',
  'card_present_refund_required',
  'idempotency_key_reused',
  'reader_busy',
  'reader_offline',
  'reader_timeout',
  'stripe_unavailable',
  'stripe_timeout',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

interface FailureInit {
  code: FailureCode;
  message: string;
  /** Whether the same request again can succeed. */
  retryable?: boolean;
  details?: unknown;
  /** The failure behind it (a Stripe or AWS SDK error), for the logs only. */
  cause?: unknown;
}

/** An outcome an operation ends with on purpose. */
export class OperationFailure extends Error {
  readonly code: FailureCode;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(init: FailureInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.retryable = init.retryable ?? false;
    this.details = init.details;
  }
}

/** One problem with the request's input. */
export interface ValidationIssue {
  /** Dotted path of the field (`amount`, `metadata.note`), or empty for the whole body. */
  field: string;
  message: string;
}

/** The input is well-formed but the payment, reader or Stripe does not allow it (`details`: the fields). */
export class InvalidInputError extends OperationFailure {
  constructor(issues: ValidationIssue[]) {
    super({
      code: 'invalid_input',
      message: 'The request is not valid: correct the fields listed in details.',
      details: issues,
    });
  }
}

export class PaymentNotFoundError extends OperationFailure {
  constructor(message = 'No payment with this id.') {
    super({ code: 'payment_not_found', message });
  }
}

export class ReaderNotFoundError extends OperationFailure {
  constructor() {
    super({ code: 'reader_not_found', message: 'No reader with this id.' });
  }
}

/** A Terminal location Stripe does not have (one the caller may act for, named in the path). */
export class LocationNotFoundError extends OperationFailure {
  constructor() {
    super({ code: 'location_not_found', message: 'No location with this id.' });
  }
}

/** What an `invalid_state` outcome says about where the payment (or reader) is. */
export interface InvalidStateDetails {
  status?: string;
  readerId?: string | null;
  paymentId?: string | null;
  /** A capture that asked for another amount than was captured: what was captured, and what was asked for. */
  amountReceived?: number;
  requested?: number;
  /** A card declined while being confirmed. */
  declineCode?: string | null;
}

/** The payment (or reader) is not in a state that allows the request; `details` says the current state. */
export class InvalidStateError extends OperationFailure {
  constructor(message: string, details: InvalidStateDetails, retryable = false) {
    super({ code: 'invalid_state', message, details, retryable });
  }
}

export class OrderConflictError extends OperationFailure {
  constructor(details: { paymentId: string | null }) {
    super({
      code: 'order_conflict',
      message:
        'This order already has a payment with another amount, currency or capture method: change its amount with PATCH /payments/{id}, or cancel it and create the order again.',
      details,
    });
  }
}

/** A refund for more than is left to refund (`details.refundable`: what is left, pending refunds counted). */
export class RefundExceedsBalanceError extends OperationFailure {
  constructor(refundable: number, formatted: string) {
    super({
      code: 'refund_exceeds_balance',
      message:
        refundable > 0
          ? `At most ${formatted} of this payment can still be refunded.`
          : 'Nothing of this payment is left to refund: it has been refunded in full (or the rest is being refunded).',
      details: { refundable },
    });
  }
}

/** Interac (and any payment Stripe only refunds in person) needs the card on a reader. */
export class CardPresentRefundRequiredError extends OperationFailure {
  constructor() {
    super({
      code: 'card_present_refund_required',
      message:
        'This payment can only be refunded with the card on a reader: send the refund again with a readerId and ask the customer to present the card.',
    });
  }
}

/** The same `Idempotency-Key` was used for another request (a refund, a location, a reader registration). */
export class IdempotencyKeyReusedError extends OperationFailure {
  constructor(
    details: { refundId: string | null } | undefined,
    message = 'This Idempotency-Key was already used for a different refund request: use a new key for a new refund.',
  ) {
    super({ code: 'idempotency_key_reused', message, details });
  }
}

/** Stripe knows no reader waiting with this registration code: mistyped, expired, or used already. */
export class InvalidRegistrationCodeError extends OperationFailure {
  constructor(cause?: unknown) {
    super({
      code: 'invalid_registration_code',
      message:
        'No reader is waiting to be registered with this code: check the code the reader shows (Settings → ' +
        'Generate pairing code); a code registers one reader once.',
      cause,
    });
  }
}

export class ReaderBusyError extends OperationFailure {
  constructor(message = 'The reader is busy with another request. Try again in a few seconds.') {
    super({ code: 'reader_busy', message, retryable: true });
  }
}

export class ReaderOfflineError extends OperationFailure {
  constructor(cause?: unknown) {
    super({
      code: 'reader_offline',
      message: 'The reader is offline. Check that it is powered on and connected to the internet, then try again.',
      retryable: true,
      cause,
    });
  }
}

export class ReaderTimeoutError extends OperationFailure {
  constructor(cause?: unknown) {
    super({
      code: 'reader_timeout',
      message: 'The reader did not answer in time. Check its connection and try again.',
      retryable: true,
      cause,
    });
  }
}

/** Stripe could not be reached or was overloaded; nothing was changed that a retry would repeat. */
export class StripeUnavailableError extends OperationFailure {
  constructor(cause?: unknown) {
    super({
      code: 'stripe_unavailable',
      message: 'The payment service is not answering right now. Try again in a moment.',
      retryable: true,
      cause,
    });
  }
}

/**
 * Stripe did not answer a capture or cancel before the request's deadline (inside API Gateway's 30 s): it may or
 * may not have been done. The same request again converges (same idempotency keys), and never does it twice.
 */
export class StripeTimeoutError extends OperationFailure {
  constructor(cause?: unknown) {
    super({
      code: 'stripe_timeout',
      message:
        'The payment service did not answer in time, so it is not known yet whether this went through. Send the same request again (it is never done twice) or check the payment’s status.',
      retryable: true,
      cause,
    });
  }
}

/** A message for an `invalid_state` outcome about a payment in `status`. */
export function invalidStateMessage(status: string | undefined): string {
  switch (status) {
    case 'succeeded':
      return 'This payment has already succeeded; refund it instead.';
    case 'canceled':
      return 'This payment was canceled; create a new payment for the order.';
    case 'requires_capture':
      return 'This payment is authorized and waiting to be captured or canceled.';
    case 'processing':
      return 'The card is being authorized; check the payment again in a few seconds.';
    case 'requires_payment_method':
      return 'This payment has not been authorized yet; process it on a reader first.';
    default:
      return 'This payment cannot do that in its current state.';
  }
}

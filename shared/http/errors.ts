/**
 * The API's errors. Each class fixes a status, a code and whether retrying the same request can succeed; the
 * middy stack turns them into `{"error": {code, message, retryable, details?, requestId}}`. Messages say what to
 * do next in words a cashier's app can show.
 */

export interface ApiErrorInit {
  status: number;
  code: string;
  message: string;
  retryable?: boolean;
  details?: unknown;
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  extraBody?: Record<string, unknown>;
  /** The failure behind a 5xx (a Stripe or AWS SDK error): logged with the answer, never put in it. */
  cause?: unknown;
}

/** An error the API answers with on purpose. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryable: boolean;
  readonly details: unknown;
  readonly headers: Record<string, string>;
  /** Members of the response body beside `error` (e.g. the payment a failed create-and-process kept). */
  readonly extraBody: Record<string, unknown>;

  constructor(init: ApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.retryable = init.retryable ?? false;
    this.details = init.details;
    this.headers = init.headers ?? {};
    this.extraBody = init.extraBody ?? {};
  }

  /** The same error, answered with `extra` beside `error` in the body. */
  withBody(extra: Record<string, unknown>): ApiError {
    return new ApiError({
      status: this.status,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      details: this.details,
      headers: this.headers,
      extraBody: { ...this.extraBody, ...extra },
      cause: this.cause,
    });
  }
}

/** One problem with the request's input. */
export interface ValidationIssue {
  /** Dotted path of the field (`amount`, `metadata.note`), or empty for the whole body. */
  field: string;
  message: string;
}

export class ValidationError extends ApiError {
  constructor(issues: ValidationIssue[], message = 'The request is not valid: correct the fields listed in details.') {
    super({ status: 400, code: 'validation_error', message, details: issues });
  }
}

export class InvalidJsonError extends ApiError {
  constructor(message = 'The request body is not valid JSON.') {
    super({ status: 400, code: 'invalid_json', message });
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  constructor() {
    super({
      status: 415,
      code: 'unsupported_media_type',
      message: 'Send the body as JSON with content-type application/json.',
    });
  }
}

/** Only when the authorizer let a request through without claims (a misconfigured route). */
export class UnauthorizedError extends ApiError {
  constructor() {
    super({ status: 401, code: 'unauthorized', message: 'Sign in again: the request carries no valid token.' });
  }
}

/** A location the caller named (`locationId`) that is not among the caller's locations. */
export class ForbiddenError extends ApiError {
  constructor() {
    super({ status: 403, code: 'forbidden', message: 'You are not allowed to act for this location.' });
  }
}

export class PaymentNotFoundError extends ApiError {
  constructor(message = 'No payment with this id.') {
    super({ status: 404, code: 'payment_not_found', message });
  }
}

export class ReaderNotFoundError extends ApiError {
  constructor() {
    super({ status: 404, code: 'reader_not_found', message: 'No reader with this id.' });
  }
}

/** What an `invalid_state` answer says about where the payment (or reader) is. */
export interface InvalidStateDetails {
  status?: string;
  readerId?: string | null;
  paymentId?: string | null;
  /** A capture that asked for another amount than was captured: what was captured, and what was asked for. */
  amountReceived?: number;
  requested?: number;
}

/** The payment (or reader) is not in a state that allows the request; `details` says the current state. */
export class InvalidStateError extends ApiError {
  constructor(message: string, details: InvalidStateDetails, retryable = false) {
    super({ status: 409, code: 'invalid_state', message, details, retryable });
  }
}

export class OrderConflictError extends ApiError {
  constructor(details: { paymentId: string | null }) {
    super({
      status: 409,
      code: 'order_conflict',
      message:
        'This order already has a payment with another amount, currency or capture method: change its amount with PATCH /payments/{id}, or cancel it and create the order again.',
      details,
    });
  }
}

/** Seconds a POS should wait before retrying a command to a busy reader. */
export const READER_BUSY_RETRY_AFTER_SECONDS = 2;

export class ReaderBusyError extends ApiError {
  constructor(message = 'The reader is busy with another request. Try again in a few seconds.') {
    super({
      status: 409,
      code: 'reader_busy',
      message,
      retryable: true,
      headers: { 'retry-after': String(READER_BUSY_RETRY_AFTER_SECONDS) },
    });
  }
}

export class ReaderOfflineError extends ApiError {
  constructor(cause?: unknown) {
    super({
      status: 503,
      code: 'reader_offline',
      message: 'The reader is offline. Check that it is powered on and connected to the internet, then try again.',
      retryable: true,
      cause,
    });
  }
}

export class ReaderTimeoutError extends ApiError {
  constructor(cause?: unknown) {
    super({
      status: 504,
      code: 'reader_timeout',
      message: 'The reader did not answer in time. Check its connection and try again.',
      retryable: true,
      cause,
    });
  }
}

/** Stripe could not be reached or was overloaded; nothing was changed that a retry would repeat. */
export class StripeUnavailableError extends ApiError {
  constructor(cause?: unknown) {
    super({
      status: 502,
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
export class StripeTimeoutError extends ApiError {
  constructor(cause?: unknown) {
    super({
      status: 504,
      code: 'stripe_timeout',
      message:
        'The payment service did not answer in time, so it is not known yet whether this went through. Send the same request again (it is never done twice) or check the payment’s status.',
      retryable: true,
      cause,
    });
  }
}

export class InternalError extends ApiError {
  constructor(cause?: unknown) {
    super({
      status: 500,
      code: 'internal_error',
      message: 'Something went wrong on our side. Try again; if it persists, contact support.',
      cause,
    });
  }
}

/** Every error code a handler can answer with. */
export const ERROR_CODES = [
  'validation_error',
  'invalid_json',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'payment_not_found',
  'reader_not_found',
  'invalid_state',
  'order_conflict',
  'reader_busy',
  'reader_offline',
  'reader_timeout',
  'stripe_unavailable',
  'stripe_timeout',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The API's errors: the HTTP edge's own (validation, auth) and the statuses the operations' outcomes
 * (`shared/payments/failures.ts`) are answered with. The middy stack turns them into
 * `{"error": {code, message, retryable, details?, requestId}}`. Messages say what to do next in words a cashier's
 * app can show.
 */
import { OperationFailure, type ValidationIssue } from '../payments/failures.ts';

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

export type { ValidationIssue } from '../payments/failures.ts';
export {
  InvalidStateError,
  OrderConflictError,
  PaymentNotFoundError,
  ReaderBusyError,
  ReaderNotFoundError,
  ReaderOfflineError,
  ReaderTimeoutError,
  StripeTimeoutError,
  StripeUnavailableError,
} from '../payments/failures.ts';

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
  constructor(message = 'You are not allowed to act for this location.') {
    super({ status: 403, code: 'forbidden', message });
  }
}

/** Seconds a POS should wait before retrying a command to a busy reader. */
export const READER_BUSY_RETRY_AFTER_SECONDS = 2;

/** The answer to an operation's outcome. */
function failureAnswer(failure: OperationFailure): ApiError {
  const code: ErrorCode = failure.code === 'invalid_input' ? 'validation_error' : failure.code;
  return new ApiError({
    status: ERROR_STATUS[code],
    code,
    message: failure.message,
    retryable: failure.retryable,
    details: failure.details,
    ...(failure.code === 'reader_busy' ? { headers: { 'retry-after': String(READER_BUSY_RETRY_AFTER_SECONDS) } } : {}),
    cause: failure.cause,
  });
}

/**
 * The one mapping from whatever a handler threw to what the API answers: an `ApiError` as it is, an operation's
 * outcome by its code, anything else (a Stripe or AWS failure nobody expected, a bug) as 500 `internal_error`.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof OperationFailure) return failureAnswer(error);
  return new InternalError(error);
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
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The status each error code is answered with. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  validation_error: 400,
  invalid_json: 400,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  payment_not_found: 404,
  reader_not_found: 404,
  location_not_found: 404,
  invalid_registration_code: 400,
  invalid_state: 409,
  order_conflict: 409,
  refund_exceeds_balance: 409,
  card_present_refund_required: 409,
  idempotency_key_reused: 409,
  reader_busy: 409,
  reader_offline: 503,
  reader_timeout: 504,
  stripe_unavailable: 502,
  stripe_timeout: 504,
  internal_error: 500,
};

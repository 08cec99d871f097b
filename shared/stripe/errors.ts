/**
 * The one mapping from Stripe's errors to the operations' outcomes. Stripe's own messages are never passed on (they
 * can name parameters, keys or internals); only card errors carry a message meant for the customer.
 */
import type Stripe from 'stripe';
import {
  InvalidInputError,
  InvalidStateError,
  invalidStateMessage,
  OperationFailure,
  PaymentNotFoundError,
  ReaderBusyError,
  ReaderNotFoundError,
  ReaderOfflineError,
  ReaderTimeoutError,
  StripeUnavailableError,
} from '../payments/failures.ts';

export type StripeError = InstanceType<typeof Stripe.errors.StripeError>;

/**
 * Whether `error` is one the Stripe SDK raised. Matched by shape (every SDK error names its class in `type`) rather
 * than `instanceof`, so handlers that never call Stripe do not load the SDK at cold start for this check.
 */
export function isStripeError(error: unknown): error is StripeError {
  if (!(error instanceof Error)) return false;
  const { type } = error as { type?: unknown };
  return typeof type === 'string' && type.startsWith('Stripe') && 'rawType' in error;
}

/**
 * Stripe's error code (`terminal_reader_busy`, `resource_missing`, …), if `error` is a Stripe error. An idempotency
 * error carries only its type, so it is named `idempotency_error` here.
 */
export function stripeErrorCode(error: unknown): string | undefined {
  if (!isStripeError(error)) return undefined;
  return error.code ?? (error.rawType === 'idempotency_error' ? 'idempotency_error' : undefined);
}

/**
 * True when Stripe answered with a stored response for a reused idempotency key: the request was not run again,
 * so a reader error in it is old news and a new key is needed to ask the reader anew.
 */
export function isReplayedError(error: unknown): boolean {
  return isStripeError(error) && error.headers?.['idempotent-replayed'] === 'true';
}

/** Whether a Stripe SDK result is an idempotent replay (`Idempotent-Replayed: true`): this request changed nothing. */
export function isReplayedAnswer(result: unknown): boolean {
  if (typeof result !== 'object' || result === null) return false;
  const headers = (result as { lastResponse?: { headers?: Record<string, string | undefined> } }).lastResponse?.headers;
  return headers?.['idempotent-replayed'] === 'true';
}

/**
 * True when Stripe said nothing about what became of the request: no answer at all, or its own failure (not a
 * stored answer replayed). The request may or may not have run; the same key again tells.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (!isStripeError(error) || isReplayedError(error)) return false;
  if (error.type === 'StripeConnectionError') return true;
  return error.statusCode === undefined ? error.type === 'StripeAPIError' : error.statusCode >= 500;
}

/** What the caller knows that Stripe's error does not say. */
export interface StripeErrorContext {
  /** Which of the request's objects a `resource_missing` is about. */
  notFound?: 'payment' | 'reader';
  /** The payment's current status, for `invalid_state` answers. */
  status?: string;
  readerId?: string | null;
}

/** Stripe could not answer (network, overload, its own failure): retrying later can succeed. */
function isUnavailable(error: StripeError): boolean {
  if (error.type === 'StripeConnectionError' || error.type === 'StripeRateLimitError') return true;
  return error.statusCode === undefined ? error.type === 'StripeAPIError' : error.statusCode >= 500;
}

/**
 * The outcome a failed Stripe call ends the operation with. An outcome passes through unchanged, and so does a
 * failure that is no outcome (an unexpected Stripe error, a bug): the HTTP edge answers it with 500.
 */
export function toFailure(error: unknown, context: StripeErrorContext = {}): unknown {
  if (error instanceof OperationFailure || !isStripeError(error)) return error;
  const status = context.status ?? error.payment_intent?.status;
  switch (stripeErrorCode(error)) {
    case 'terminal_reader_busy':
      return new ReaderBusyError();
    case 'terminal_reader_offline':
      return new ReaderOfflineError(error);
    case 'terminal_reader_timeout':
      return new ReaderTimeoutError(error);
    case 'intent_invalid_state':
    case 'payment_intent_unexpected_state':
      return new InvalidStateError(invalidStateMessage(status), { status, readerId: context.readerId ?? null });
    case 'resource_missing':
      // Stripe names the missing object in `param`: a reader command can be refused for its PaymentIntent.
      if (error.param === 'payment_intent') return new PaymentNotFoundError('This payment no longer exists at Stripe.');
      if (context.notFound === 'reader') return new ReaderNotFoundError();
      if (context.notFound === 'payment') return new PaymentNotFoundError();
      return error;
    case 'amount_too_small':
    case 'amount_too_large':
      return new InvalidInputError([
        { field: 'amount', message: 'The amount is outside what Stripe accepts for this currency.' },
      ]);
    case 'idempotency_key_in_use':
      return new InvalidStateError(
        'Another request for this payment is in progress. Try again in a moment.',
        { status },
        true,
      );
    case 'idempotency_error':
      return new InvalidStateError('A different request for this payment was already made.', { status });
  }
  if (error.type === 'StripeCardError') {
    return new InvalidStateError(error.message, { status, declineCode: error.decline_code ?? null });
  }
  if (isUnavailable(error)) {
    return new StripeUnavailableError(error);
  }
  return error;
}

import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { toApiError as answerFor, InternalError, PaymentNotFoundError } from '../../../shared/http/errors.ts';
import { isReplayedError, type StripeErrorContext, toFailure } from '../../../shared/stripe/errors.ts';

/** What the API answers a failed Stripe call with: its outcome, answered at the HTTP edge. */
function toApiError(error: unknown, context: StripeErrorContext = {}) {
  return answerFor(toFailure(error, context));
}

function stripeError(raw: Record<string, unknown>) {
  return Stripe.errors.StripeError.generate({ message: 'Stripe says something internal.', ...raw } as never);
}

describe('toApiError', () => {
  it.each<[Record<string, unknown>, StripeErrorContext, number, string, boolean]>([
    [{ statusCode: 400, type: 'invalid_request_error', code: 'terminal_reader_busy' }, {}, 409, 'reader_busy', true],
    [
      { statusCode: 400, type: 'invalid_request_error', code: 'terminal_reader_offline' },
      {},
      503,
      'reader_offline',
      true,
    ],
    [
      { statusCode: 400, type: 'invalid_request_error', code: 'terminal_reader_timeout' },
      {},
      504,
      'reader_timeout',
      true,
    ],
    [
      { statusCode: 400, type: 'invalid_request_error', code: 'intent_invalid_state' },
      { status: 'succeeded' },
      409,
      'invalid_state',
      false,
    ],
    [
      { statusCode: 400, type: 'invalid_request_error', code: 'payment_intent_unexpected_state' },
      { status: 'canceled' },
      409,
      'invalid_state',
      false,
    ],
    [
      { statusCode: 404, type: 'invalid_request_error', code: 'resource_missing' },
      { notFound: 'reader' },
      404,
      'reader_not_found',
      false,
    ],
    [
      { statusCode: 404, type: 'invalid_request_error', code: 'resource_missing' },
      { notFound: 'payment' },
      404,
      'payment_not_found',
      false,
    ],
    [{ statusCode: 404, type: 'invalid_request_error', code: 'resource_missing' }, {}, 500, 'internal_error', false],
    [{ statusCode: 400, type: 'invalid_request_error', code: 'amount_too_small' }, {}, 400, 'validation_error', false],
    [
      { statusCode: 409, type: 'invalid_request_error', code: 'idempotency_key_in_use' },
      {},
      409,
      'invalid_state',
      true,
    ],
    [{ statusCode: 400, type: 'idempotency_error' }, {}, 409, 'invalid_state', false],
    [{ statusCode: 500, type: 'api_error' }, {}, 502, 'stripe_unavailable', true],
    [{ statusCode: 429, type: 'invalid_request_error', code: 'rate_limit' }, {}, 502, 'stripe_unavailable', true],
    [{ statusCode: 401, type: 'invalid_request_error' }, {}, 500, 'internal_error', false],
    [{ statusCode: 400, type: 'invalid_request_error', code: 'parameter_unknown' }, {}, 500, 'internal_error', false],
  ])('maps %o to the API’s error', (raw, context, status, code, retryable) => {
    // Act
    const error = toApiError(stripeError(raw), context);

    // Assess
    expect({ status: error.status, code: error.code, retryable: error.retryable }).toEqual({ status, code, retryable });
    expect(error.message).not.toContain('internal');
  });

  it('says the current status in an invalid_state answer', () => {
    // Act
    const error = toApiError(stripeError({ type: 'invalid_request_error', code: 'intent_invalid_state' }), {
      status: 'requires_capture',
      readerId: 'tmr_1',
    });

    // Assess
    expect(error.details).toEqual({ status: 'requires_capture', readerId: 'tmr_1' });
  });

  it('passes API errors through and hides anything else', () => {
    expect(toFailure(new PaymentNotFoundError())).toBeInstanceOf(PaymentNotFoundError);
    expect(toApiError(new TypeError('x'))).toBeInstanceOf(InternalError);
  });

  it('recognizes an answer Stripe replayed for a reused idempotency key', () => {
    // Prepare
    const replayed = stripeError({
      statusCode: 400,
      type: 'invalid_request_error',
      code: 'terminal_reader_busy',
      headers: { 'idempotent-replayed': 'true' },
    });
    const fresh = stripeError({
      statusCode: 400,
      type: 'invalid_request_error',
      code: 'terminal_reader_busy',
      headers: {},
    });

    // Act & Assess
    expect(isReplayedError(replayed)).toBe(true);
    expect(isReplayedError(fresh)).toBe(false);
  });
});

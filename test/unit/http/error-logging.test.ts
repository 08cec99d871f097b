import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiHandler } from '../../../shared/http/api-handler.ts';
import {
  InternalError,
  ReaderBusyError,
  ReaderOfflineError,
  StripeUnavailableError,
  toApiError,
  ValidationError,
} from '../../../shared/http/errors.ts';
import { findLeaks } from '../../reliability/support/log-capture.ts';
import { apiEvent, claimsFor, lambdaContext } from '../../support/invoke.ts';

type LogEntry = Record<string, unknown> & { level: string; message: string };

const written: string[] = [];

beforeAll(() => {
  // Powertools writes INFO to stdout and ERROR to stderr, one JSON document per line.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
});

beforeEach(() => {
  written.length = 0;
});

/** Run a handler that throws `failure`; the status and the log entries of that one request. */
async function fail(failure: () => unknown, body: unknown = { amount: 1 }) {
  const handler = apiHandler(async () => {
    throw failure();
  }, {});
  const context = lambdaContext();
  const response = await handler(
    apiEvent({ method: 'POST', route: '/payments', body, claims: claimsFor(['tml_A']) }),
    context,
  );
  const entries = written
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogEntry)
    .filter((entry) => entry.function_request_id === context.awsRequestId);
  return { status: response.statusCode, entries };
}

const stripeFailure = (raw: Record<string, unknown>) => Stripe.errors.StripeError.generate(raw as never);

const accessDenied = () =>
  new DynamoDBServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, requestId: 'AWSREQ123' },
    message:
      'User: arn:aws:sts::123456789012:assumed-role/CreatePayment/fn is not authorized to perform: dynamodb:DeleteItem',
  });

describe('what a failed request logs', () => {
  it.each([
    {
      case: 'an AWS SDK error that reached the handler stack',
      failure: accessDenied,
      status: 500,
      error: {
        name: 'AccessDeniedException',
        fault: 'client',
        httpStatusCode: 400,
        awsRequestId: 'AWSREQ123',
        message: expect.stringContaining('dynamodb:DeleteItem'),
      },
    },
    {
      case: 'a Stripe error that reached the handler stack',
      failure: () => stripeFailure({ type: 'api_error', statusCode: 500, requestId: 'req_upstream1' }),
      status: 502,
      error: { name: 'StripeAPIError', type: 'api_error', statusCode: 500, stripeRequestId: 'req_upstream1' },
    },
    {
      case: 'an answer that carries the Stripe error behind it',
      failure: () =>
        new InternalError(
          stripeFailure({
            type: 'invalid_request_error',
            code: 'api_key_expired',
            statusCode: 401,
            requestId: 'req_upstream2',
          }),
        ),
      status: 500,
      error: {
        name: 'StripeAuthenticationError',
        type: 'invalid_request_error',
        code: 'api_key_expired',
        statusCode: 401,
        stripeRequestId: 'req_upstream2',
      },
    },
    {
      case: 'an answer with a body beside the error, carrying the AWS error behind it',
      failure: () => toApiError(new StripeUnavailableError(accessDenied())).withBody({ payment: { id: 'pi_1' } }),
      status: 502,
      error: { name: 'AccessDeniedException', httpStatusCode: 400, awsRequestId: 'AWSREQ123' },
    },
    {
      case: 'a programming error',
      failure: () => new TypeError("Cannot read properties of undefined (reading 'id')"),
      status: 500,
      error: { name: 'TypeError', message: expect.stringContaining('reading'), stack: expect.any(String) },
    },
    {
      case: 'a 5xx answer with no cause recorded',
      failure: () => new ReaderOfflineError(),
      status: 503,
      error: { name: 'ReaderOfflineError', code: 'reader_offline' },
    },
  ])('logs $case once, at ERROR, with the upstream kind and codes', async ({ failure, status, error }) => {
    // Act
    const { status: answered, entries } = await fail(failure);

    // Assess
    expect(answered).toBe(status);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ level: 'ERROR', message: 'request failed', status, error });
  });

  it.each([
    { case: 'a busy reader', failure: () => new ReaderBusyError(), status: 409, code: 'reader_busy' },
    { case: 'an invalid field', failure: () => new ValidationError([]), status: 400, code: 'validation_error' },
    {
      case: 'a Stripe 4xx that reached the handler stack',
      failure: () => stripeFailure({ type: 'invalid_request_error', code: 'amount_too_small', statusCode: 400 }),
      status: 400,
      code: 'validation_error',
    },
  ])('logs a refusal ($case) once, at INFO, with its status and code', async ({ failure, status, code }) => {
    // Act
    const { status: answered, entries } = await fail(failure);

    // Assess
    expect(answered).toBe(status);
    expect(entries).toEqual([expect.objectContaining({ level: 'INFO', message: 'request refused', status, code })]);
  });

  it('never logs a Stripe key, a card number or Stripe’s own message', async () => {
    // Prepare
    const key = 'sk_live_51HxLeakedKeyValue0123456789';
    const failure = () =>
      new InternalError(
        stripeFailure({
          type: 'invalid_request_error',
          statusCode: 401,
          message: `Invalid API Key provided: ${key}`,
        }),
      );

    // Act
    const { entries } = await fail(failure, { amount: 1, card: '4242424242424242' });

    // Assess
    expect(entries).toHaveLength(1);
    expect(findLeaks(written, { secrets: [key], cardNumbers: ['4242424242424242'] })).toEqual([]);
    expect(JSON.stringify(entries)).not.toContain('Invalid API Key');
  });
});

import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiHandler } from '../../../shared/http/api-handler.ts';
import { callerFromClaims } from '../../../shared/http/caller.ts';
import { ReaderBusyError } from '../../../shared/http/errors.ts';
import { ok } from '../../../shared/http/responses.ts';
import * as z from '../../../shared/zod.ts';
import { type ApiEventInput, apiEvent, claimsFor, lambdaContext, quietLogs } from '../../support/invoke.ts';

const Body = z.strictObject({ amount: z.number().check(z.int(), z.positive()), note: z.optional(z.string()) });
const Params = z.strictObject({ id: z.string() });

const echo = apiHandler(async ({ body, params, caller }) => ok({ body, params, caller }), {
  body: Body,
  params: Params,
});

async function call(handler: typeof echo, input: Partial<ApiEventInput>) {
  const event = apiEvent({
    method: 'POST',
    route: '/things/{id}',
    params: { id: 'thing_1' },
    claims: claimsFor(['tml_A']),
    ...input,
  });
  const context = lambdaContext();
  const response = await handler(event, context);
  return { ...response, json: JSON.parse(String(response.body)), awsRequestId: context.awsRequestId };
}

beforeAll(() => {
  quietLogs();
});

describe('apiHandler', () => {
  it('parses and validates the body, the path and the caller', async () => {
    // Act
    const response = await call(echo, { body: { amount: 1299 } });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({
      body: { amount: 1299 },
      params: { id: 'thing_1' },
      caller: { sub: 'pos-user-1', locations: ['tml_A'] },
    });
  });

  it.each([
    [
      'a malformed body',
      { body: '{"amount": 12', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_json',
    ],
    [
      'a wrong content type',
      { body: 'amount=12', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
    ],
    ['no content type', { body: '{"amount":12}' }, 415, 'unsupported_media_type'],
    ['an unknown field', { body: { amount: 12, surprise: true } }, 400, 'validation_error'],
    ['a negative amount', { body: { amount: -5 } }, 400, 'validation_error'],
    ['a missing body', {}, 400, 'validation_error'],
    ['a JSON array', { body: [1, 2] }, 400, 'validation_error'],
    [
      'a prototype key',
      { body: '{"amount":1,"__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_json',
    ],
    ['no token claims', { claims: null, body: { amount: 1 } }, 401, 'unauthorized'],
  ] as const)('answers %s with a clear 4xx', async (_, input, status, code) => {
    // Act
    const response = await call(echo, input as Partial<ApiEventInput>);

    // Assess
    expect(response.statusCode).toBe(status);
    expect(response.json.error).toMatchObject({ code, retryable: false, requestId: response.awsRequestId });
    expect(typeof response.json.error.message).toBe('string');
  });

  it('names each invalid field in details', async () => {
    // Act
    const response = await call(echo, { body: { amount: 'a lot', colour: 'red' } });

    // Assess
    expect(response.json.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'amount' }),
        { field: 'colour', message: 'Unknown field.' },
      ]),
    );
  });

  it('accepts a base64-encoded JSON body and a JSON content type with a charset', async () => {
    // Act
    const response = await call(echo, {
      body: Buffer.from('{"amount":7}').toString('base64'),
      isBase64Encoded: true,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.json.body).toEqual({ amount: 7 });
  });

  it('answers a typed error with its status, code, retryable flag and Retry-After', async () => {
    // Prepare
    const busy = apiHandler(async () => {
      throw new ReaderBusyError();
    }, {});

    // Act
    const response = await call(busy as typeof echo, {});

    // Assess
    expect(response.statusCode).toBe(409);
    expect(response.headers).toMatchObject({ 'retry-after': '2', 'content-type': 'application/json' });
    expect(response.json.error).toMatchObject({ code: 'reader_busy', retryable: true });
  });

  it('answers an unexpected error with 500 internal_error and nothing of the error itself', async () => {
    // Prepare
    const broken = apiHandler(async () => {
      throw new Error('secret sk_live_123 at /var/task/index.js:1');
    }, {});

    // Act
    const response = await call(broken as typeof echo, {});

    // Assess
    expect(response.statusCode).toBe(500);
    expect(response.json.error.code).toBe('internal_error');
    expect(String(response.body)).not.toContain('sk_live');
    expect(String(response.body)).not.toContain('index.js');
  });

  it('maps a Stripe error that reached it without leaking Stripe’s message', async () => {
    // Prepare
    const failing = apiHandler(async () => {
      throw Stripe.errors.StripeError.generate({
        type: 'invalid_request_error',
        code: 'terminal_reader_offline',
        message: 'Reader is currently offline (internal detail).',
      });
    }, {});

    // Act
    const response = await call(failing as typeof echo, {});

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.json.error).toMatchObject({ code: 'reader_offline', retryable: true });
    expect(String(response.body)).not.toContain('internal detail');
  });

  it('puts x-request-id and content-type on every response', async () => {
    // Act
    const responses = await Promise.all([call(echo, { body: { amount: 1 } }), call(echo, { body: { amount: -1 } })]);

    // Assess
    for (const response of responses) {
      expect(response.headers).toMatchObject({
        'content-type': 'application/json',
        'x-request-id': response.awsRequestId,
      });
    }
  });
});

describe('callerFromClaims', () => {
  it.each([
    [
      { sub: 'u', 'custom:locations': 'tml_A,tml_B' },
      { sub: 'u', locations: ['tml_A', 'tml_B'] },
    ],
    [
      { sub: 'u', 'custom:locations': ' tml_A , tml_B ,' },
      { sub: 'u', locations: ['tml_A', 'tml_B'] },
    ],
    [
      { sub: 'u', 'custom:locations': '*' },
      { sub: 'u', locations: '*' },
    ],
    [
      { sub: 'u', 'custom:locations': '[tml_A tml_B]' },
      { sub: 'u', locations: ['tml_A', 'tml_B'] },
    ],
    [{ sub: 'u' }, { sub: 'u', locations: [] }],
    [{ 'custom:locations': '*' }, undefined],
    [
      { sub: 'u', 'custom:locations': 'tml_A', 'custom:role': 'admin' },
      { sub: 'u', locations: ['tml_A'], admin: true },
    ],
    [
      { sub: 'u', 'custom:locations': '*', 'custom:role': 'Admin' },
      { sub: 'u', locations: '*' },
    ],
    [
      { sub: 'u', 'custom:locations': '*', 'custom:role': 'cashier' },
      { sub: 'u', locations: '*' },
    ],
  ])('reads %o as %o', (claims, expected) => {
    expect(callerFromClaims(claims)).toEqual(expected);
  });
});

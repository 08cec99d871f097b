/**
 * Hostile input through the local gateway (API Gateway's JWT checks, then the same handlers as on AWS), against
 * every POS route and the webhook route: wrong types, huge bodies, deep nesting, unusual unicode, prototype keys,
 * malformed JSON, wrong content types, invalid ids, and tokens that are forged, expired, of another location or
 * `alg: none`. Every answer must be a 4xx JSON error with a code — API Gateway's own body where the gateway
 * answers (401, 404, 413) — never a 5xx, and nothing may change: not the table, not Stripe (the emulator's
 * request log shows no write), not the event queue.
 */
import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentResource } from '../../shared/payments/resource.ts';
import { createStripeClient } from '../../shared/stripe/client.ts';
import { api, type LocalStack, startTestStack } from '../support/stack.ts';
import {
  AWKWARD_STRINGS,
  anyJson,
  badAmount,
  badBoolean,
  badBoundedString,
  badCurrency,
  badId,
  badLimit,
  badMetadata,
  type HostileToken,
  hostileTokens,
  LONE_SURROGATES,
  MALFORMED_JSON,
  PROTOTYPE_KEYS,
  unknownKey,
  WRONG_CONTENT_TYPES,
} from './support/hostile-input.ts';
import { emulatorRequests, queueDepth, queueDrained, tableSnapshot, waitFor } from './support/probes.ts';

/** Generated inputs per route and kind; the fixed lists (tokens, JSON, content types) come on top. */
const RUNS = 50;
const TOO_LARGE_BYTES = 10 * 1024 * 1024 + 1;

let stack: LocalStack;
let tokenA: string;
let tokenB: string;
let locationA: string;
let locationB: string;
let readerA: string;
let readerB: string;
/** Location A's payment waiting for a card, and its authorized (manual) one waiting for capture. */
let openPayment: PaymentResource;
let authorizedPayment: PaymentResource;
let paymentB: PaymentResource;
let baseline: { table: Map<string, string>; stripeRequests: number };
const tried = new Map<string, number>();

beforeAll(async () => {
  stack = await startTestStack({
    reconcileIntervalSeconds: 3600,
    // A record that fails under load is back in seconds, not the queue's 3 minutes.
    queue: { visibilityTimeoutSeconds: 3 },
    emulator: { authorizationDelayMs: 20 },
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    log: () => undefined,
  });
  const [a, b] = stack.state.locations as [(typeof stack.state.locations)[0], (typeof stack.state.locations)[0]];
  [locationA, locationB, tokenA, tokenB] = [a.id, b.id, a.token, b.token];
  [readerA, readerB] = [a.readers[0] as string, b.readers[0] as string];

  // Every reader cached, so that looking one up to refuse a request writes nothing.
  expect((await api(stack, 'GET', '/readers', { token: stack.state.adminToken })).status).toBe(200);
  openPayment = await createPayment(tokenA, { orderId: 'fuzz-open', locationId: locationA });
  paymentB = await createPayment(tokenB, { orderId: 'fuzz-b', locationId: locationB });
  authorizedPayment = await createPayment(tokenA, {
    orderId: 'fuzz-authorized',
    locationId: locationA,
    captureMethod: 'manual',
    readerId: readerA,
  });
  const stripe = createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
  await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerA, {
    card_present: { number: '4242424242424242' },
  });
  const authorized = await waitFor(
    () =>
      api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${authorizedPayment.id}?refresh=true`, {
        token: tokenA,
      }),
    (response) => response.body.payment?.status === 'requires_capture',
  );
  expect(authorized.body.payment.status).toBe('requires_capture');
  await queueDrained(stack, { quietMs: 700 });
  // From here on nothing may be queued: the processor is stopped so that anything queued stays visible.
  await stack.poller.stop();
  baseline = { table: await tableSnapshot(stack), stripeRequests: await stripeWrites() };
}, 120_000);

afterAll(async () => {
  if (stack === undefined) return;
  // Per kind of input, whatever the route: `POST /payments bad body` counts as `bad body`.
  const byKind = new Map<string, number>();
  for (const [name, count] of tried) {
    const kind =
      /^(?:GET|POST|PATCH) \S+ (.+)$/.exec(name)?.[1] ?? name.replace(/^token: .*/, 'forged or invalid token');
    byKind.set(kind, (byKind.get(kind) ?? 0) + count);
  }
  const total = [...tried.values()].reduce((sum, count) => sum + count, 0);
  const lines = [...byKind].map(([kind, count]) => `${kind} ${count}`).join(', ');
  console.log(`fuzzing: ${total} hostile inputs tried (${lines})`);
  await stack.stop();
});

async function createPayment(token: string, body: Record<string, unknown>): Promise<PaymentResource> {
  const response = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
    token,
    body: { amount: 1500, currency: 'usd', ...body },
  });
  expect(response.status).toBeLessThan(300);
  return response.body.payment;
}

async function stripeWrites(): Promise<number> {
  return (await writesToStripe()).length;
}

async function writesToStripe() {
  return (await emulatorRequests(stack)).filter((request) => request.method !== 'GET');
}

/** The writes Stripe received since the baseline, named, for a failure message. */
async function writesSinceBaseline(): Promise<string> {
  const writes = (await writesToStripe()).slice(baseline.stripeRequests);
  return writes.map((request) => `${request.method} ${request.path} (${request.idempotencyKey})`).join(', ');
}

interface Attempt {
  method: string;
  path: string;
  /** The `Authorization` header; none when null. */
  authorization?: string | null;
  /** Raw body; a Uint8Array is sent without a content type unless one is given. */
  body?: string | Uint8Array;
  contentType?: string | null;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

async function send(attempt: Attempt): Promise<Answer> {
  const headers: Record<string, string> = { ...attempt.headers };
  if (attempt.authorization !== undefined && attempt.authorization !== null)
    headers.authorization = attempt.authorization;
  if (attempt.contentType !== undefined && attempt.contentType !== null) headers['content-type'] = attempt.contentType;
  const body = typeof attempt.body === 'string' ? new TextEncoder().encode(attempt.body) : attempt.body;
  const response = await fetch(`${stack.apiUrl}${attempt.path}`, {
    method: attempt.method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, headers: response.headers };
}

const GATEWAY_MESSAGES: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Request Entity Too Large',
};

/**
 * A refusal: 4xx, JSON, either API Gateway's own `{message}` (401, 404, 413 only) or the handlers'
 * `{error: {code, message, retryable, requestId}}`; nothing secret in it. `expected` pins the status or code.
 */
function expectRefusal(answer: Answer, context: string, expected: { status?: number; codes?: string[] } = {}): void {
  const where = `${context} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, where).toBeGreaterThanOrEqual(400);
  expect(answer.status, where).toBeLessThan(500);
  if (expected.status !== undefined) expect(answer.status, where).toBe(expected.status);
  expect(answer.headers.get('content-type') ?? '', where).toContain('application/json');
  expect(answer.json, where).toBeTypeOf('object');
  expect(answer.text, where).not.toMatch(/sk_test_|whsec_|\bat .+\.ts:\d+/);
  const body = answer.json as { message?: unknown; error?: Record<string, unknown> };
  if (body.error === undefined) {
    expect(body, where).toEqual({ message: GATEWAY_MESSAGES[answer.status] });
    return;
  }
  expect(body.error.code, where).toBeTypeOf('string');
  expect(body.error.message, where).toBeTypeOf('string');
  expect(body.error.retryable, where).toBeTypeOf('boolean');
  expect(body.error.requestId, where).toBeTypeOf('string');
  if (expected.codes !== undefined) expect(expected.codes, where).toContain(body.error.code);
}

/** Send, count, check the answer, and check that Stripe saw no write. */
async function attack(kind: string, attempt: Attempt, expected?: { status?: number; codes?: string[] }) {
  tried.set(kind, (tried.get(kind) ?? 0) + 1);
  const answer = await send(attempt);
  const context = `${kind}: ${attempt.method} ${attempt.path.slice(0, 120)} ${String(attempt.body ?? '').slice(0, 200)}`;
  expectRefusal(answer, context, expected);
  if ((await stripeWrites()) !== baseline.stripeRequests) {
    expect.fail(`${context} wrote to Stripe: ${await writesSinceBaseline()}`);
  }
  return answer;
}

/** Nothing changed since the baseline: the table item for item, Stripe, and the event queue. */
async function expectNothingChanged(): Promise<void> {
  const table = await tableSnapshot(stack);
  const changed = [...new Set([...table.keys(), ...baseline.table.keys()])].filter(
    (key) => table.get(key) !== baseline.table.get(key),
  );
  expect(changed).toEqual([]);
  expect(await stripeWrites()).toBe(baseline.stripeRequests);
  expect(await queueDepth(stack, stack.sqs.queueUrl)).toBe(0);
}

const json = (value: unknown) => JSON.stringify(value);

/** A valid body with one field made invalid, an unknown key added, or replaced by a non-object. */
function brokenBody(valid: Record<string, unknown>, badFields: Record<string, fc.Arbitrary<unknown>>) {
  const fields = Object.entries(badFields);
  const known = new Set([...Object.keys(valid), ...Object.keys(badFields)]);
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(...fields), fc.nat())
      .chain(([[field, bad]]) => bad.map((value) => ({ ...valid, [field]: value }))),
    fc
      .tuple(
        unknownKey.filter((key) => !known.has(key)),
        anyJson,
      )
      .map(([key, value]) => {
        // A literal key, `__proto__` included, as a client would send it.
        const text = json(valid).replace(/^\{/, `{${json(key)}:${json(value)},`);
        return { raw: text };
      }),
    fc.oneof(fc.array(anyJson), fc.string(), fc.integer(), fc.boolean()).map((value) => ({ raw: json(value) })),
  );
}

const bodyText = (body: unknown) =>
  typeof body === 'object' && body !== null && 'raw' in body ? String((body as { raw: unknown }).raw) : json(body);

/** A route with a body: where it goes, a valid body, and how each field can be wrong. */
interface BodyRoute {
  name: string;
  path: string;
  method: string;
  valid: Record<string, unknown>;
  bad: Record<string, fc.Arbitrary<unknown>>;
}

describe('fuzzing the POS API through the gateway', () => {
  const bodyRoutes = (): BodyRoute[] => [
    {
      name: 'POST /payments',
      path: '/payments',
      method: 'POST',
      valid: { orderId: 'fuzz-new', locationId: locationA, amount: 1500, currency: 'usd' },
      bad: {
        orderId: badBoundedString(200),
        locationId: badBoundedString(255),
        amount: badAmount,
        currency: badCurrency,
        captureMethod: fc.oneof(
          fc.constantFrom('Manual', 'automatic_async', 'auto', '', null, 1),
          fc.string({ minLength: 10 }),
        ),
        description: badBoundedString(1000),
        metadata: badMetadata,
        readerId: badBoundedString(255),
        skipTipping: badBoolean,
        enableCustomerCancellation: badBoolean,
      },
    },
    {
      name: 'PATCH /payments/{id}',
      path: `/payments/${openPayment.id}`,
      method: 'PATCH',
      valid: { amount: 1600 },
      bad: { amount: badAmount },
    },
    {
      name: 'POST /payments/{id}/process',
      path: `/payments/${openPayment.id}/process`,
      method: 'POST',
      valid: { readerId: readerA, skipTipping: true },
      bad: { readerId: badBoundedString(255), skipTipping: badBoolean, enableCustomerCancellation: badBoolean },
    },
    {
      name: 'POST /payments/{id}/capture',
      path: `/payments/${authorizedPayment.id}/capture`,
      method: 'POST',
      valid: { amountToCapture: 1000 },
      bad: { amountToCapture: fc.oneof(badAmount, fc.integer({ min: 1501, max: 99_999_999 })) },
    },
    {
      name: 'POST /payments/{id}/cancel',
      path: `/payments/${authorizedPayment.id}/cancel`,
      method: 'POST',
      valid: { reason: 'abandoned' },
      bad: {
        reason: fc.oneof(
          fc.constantFrom('expired', 'fraudulent', 'automatic', 'Abandoned', '', null, 1, []),
          fc.string({ minLength: 12 }),
        ),
      },
    },
    {
      name: 'POST /readers/{id}/cancel-action',
      path: `/readers/${readerA}/cancel-action`,
      method: 'POST',
      valid: { paymentId: authorizedPayment.id },
      bad: { paymentId: badBoundedString(255) },
    },
  ];

  it('refuses bodies with a wrong field, an unknown or prototype key, or no object at all', async () => {
    for (const route of bodyRoutes()) {
      await fc.assert(
        fc.asyncProperty(brokenBody(route.valid, route.bad), async (body) => {
          await attack(
            `${route.name} bad body`,
            {
              method: route.method,
              path: route.path,
              authorization: `Bearer ${tokenA}`,
              body: bodyText(body),
              contentType: 'application/json',
            },
            { status: 400, codes: ['validation_error', 'invalid_json'] },
          );
        }),
        { numRuns: RUNS },
      );
    }
    await expectNothingChanged();
  });

  it('refuses malformed JSON, deep nesting and awkward unicode in every body', async () => {
    for (const route of bodyRoutes()) {
      for (const text of MALFORMED_JSON) {
        await attack(
          `${route.name} malformed JSON`,
          {
            contentType: 'application/json',
            method: route.method,
            path: route.path,
            authorization: `Bearer ${tokenA}`,
            body: text,
          },
          { status: 400 },
        );
      }
      // Where any string is a valid value (an order id, a description) an awkward one is no attack.
      const strictFields = Object.keys(route.bad).filter((field) => field !== 'orderId' && field !== 'description');
      for (const field of strictFields) {
        for (const awkward of AWKWARD_STRINGS) {
          await attack(`${route.name} unicode`, {
            method: route.method,
            path: route.path,
            authorization: `Bearer ${tokenA}`,
            body: json({ ...route.valid, [field]: awkward }),
            contentType: 'application/json',
          });
        }
      }
      // Raw bytes that are not UTF-8 where a string should be.
      await attack(
        `${route.name} invalid UTF-8`,
        {
          method: route.method,
          path: route.path,
          authorization: `Bearer ${tokenA}`,
          body: Uint8Array.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]),
          contentType: 'application/json',
        },
        { status: 400 },
      );
      for (const key of PROTOTYPE_KEYS) {
        await attack(
          `${route.name} prototype key`,
          {
            method: route.method,
            path: route.path,
            authorization: `Bearer ${tokenA}`,
            body: `{${json(key)}:{"polluted":true},${json(route.valid).slice(1)}`,
            contentType: 'application/json',
          },
          { status: 400 },
        );
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectNothingChanged();
  });

  it('refuses valid bodies sent under a wrong content type', async () => {
    for (const route of bodyRoutes()) {
      for (const contentType of WRONG_CONTENT_TYPES) {
        await attack(
          `${route.name} content type`,
          {
            method: route.method,
            path: route.path,
            authorization: `Bearer ${tokenA}`,
            body: new TextEncoder().encode(json(route.valid)),
            contentType,
          },
          { status: 415, codes: ['unsupported_media_type'] },
        );
      }
    }
    await expectNothingChanged();
  });

  it('answers 413 with API Gateway’s body past 10 MB, and 400 to a large body under it', async () => {
    const huge = new Uint8Array(TOO_LARGE_BYTES).fill(0x20);
    const large = json({ orderId: 'x'.repeat(2 * 1024 * 1024), locationId: locationA, amount: 1500, currency: 'usd' });
    for (const [index, route] of bodyRoutes().entries()) {
      const request = { method: route.method, path: route.path, authorization: `Bearer ${tokenA}` };
      // API Gateway answers 413 before it picks a route: two routes (and the webhook below) show it.
      if (index < 2) {
        await attack(
          `${route.name} over 10 MB`,
          { ...request, body: huge, contentType: 'application/json' },
          { status: 413 },
        );
      }
      await attack(`${route.name} 2 MB`, { ...request, body: large, contentType: 'application/json' }, { status: 400 });
    }
    await attack(
      'POST /webhooks/stripe over 10 MB',
      {
        method: 'POST',
        path: '/webhooks/stripe',
        body: huge,
        contentType: 'application/json',
        headers: { 'stripe-signature': 't=1,v1=00' },
      },
      { status: 413 },
    );
    await expectNothingChanged();
  });

  it('answers 404 or 400 for ids that name nothing, on every route with an id', async () => {
    const routes = [
      { method: 'GET', path: (id: string) => `/payments/${id}` },
      { method: 'PATCH', path: (id: string) => `/payments/${id}`, body: { amount: 1600 } },
      { method: 'POST', path: (id: string) => `/payments/${id}/process`, body: { readerId: readerA } },
      { method: 'POST', path: (id: string) => `/payments/${id}/capture`, body: {} },
      { method: 'POST', path: (id: string) => `/payments/${id}/cancel`, body: {} },
      { method: 'GET', path: (id: string) => `/readers/${id}` },
      { method: 'POST', path: (id: string) => `/readers/${id}/cancel-action`, body: {} },
    ];
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(badId, async (id) => {
          await attack(`${route.method} ${route.path('{id}')} unknown id`, {
            method: route.method,
            path: route.path(id),
            authorization: `Bearer ${tokenA}`,
            ...(route.body === undefined ? {} : { body: json(route.body), contentType: 'application/json' }),
          });
        }),
        { numRuns: RUNS },
      );
    }
    // A reader id where a payment id goes, and the other way round.
    await attack(
      'payment route with a reader id',
      { method: 'GET', path: `/payments/${readerA}`, authorization: `Bearer ${tokenA}` },
      { status: 404 },
    );
    await attack(
      'reader route with a payment id',
      { method: 'GET', path: `/readers/${openPayment.id}`, authorization: `Bearer ${tokenA}` },
      { status: 404 },
    );
    await expectNothingChanged();
  });

  it('refuses query strings no listing accepts', async () => {
    const badQuery = fc.oneof(
      badLimit.map((limit) => `limit=${encodeURIComponent(limit)}`),
      fc.string().map((status) => `status=${encodeURIComponent(`${status}x`)}`),
      fc.string().map((flag) => `flag=${encodeURIComponent(`${flag}_`)}`),
      fc.string({ minLength: 1 }).map((cursor) => `cursor=${encodeURIComponent(cursor)}`),
      fc.constantFrom(
        'limit=1&limit=2',
        'cursor=eyJ2IjoyfQ',
        `cursor=${'A'.repeat(2000)}`,
        'status=succeeded&status=canceled',
      ),
      // `__proto__` is pinned by its own test at the end of this file.
      fc
        .tuple(
          unknownKey.filter((key) => key !== '__proto__'),
          fc.string(),
        )
        .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`),
    );
    await fc.assert(
      fc.asyncProperty(badQuery, async (query) => {
        await attack(
          'GET /payments bad query',
          { method: 'GET', path: `/payments?${query}`, authorization: `Bearer ${tokenA}` },
          { status: 400 },
        );
      }),
      { numRuns: RUNS * 2 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .tuple(
              unknownKey.filter((key) => key !== '__proto__'),
              fc.string(),
            )
            .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`),
          fc.constantFrom('locationId=', `locationId=${'l'.repeat(300)}`),
        ),
        async (query) => {
          await attack(
            'GET /readers bad query',
            { method: 'GET', path: `/readers?${query}`, authorization: `Bearer ${tokenA}` },
            { status: 400 },
          );
        },
      ),
      { numRuns: RUNS },
    );
    for (const refresh of ['yes', '1', 'TRUE', '', 'true&refresh=true']) {
      await attack(
        'GET /payments/{id} bad refresh',
        {
          method: 'GET',
          path: `/payments/${authorizedPayment.id}?refresh=${refresh}`,
          authorization: `Bearer ${tokenA}`,
        },
        { status: 400 },
      );
    }
    await expectNothingChanged();
  });

  it('answers 404 with API Gateway’s body for routes that do not exist', async () => {
    const paths = [
      '/',
      '/payments/',
      '//payments',
      '/PAYMENTS',
      '/payments/x/refund',
      '/readers/x/y/z',
      '/webhooks',
      '/admin',
      '/.env',
    ];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
    for (const path of paths) {
      for (const method of methods) {
        await attack('no such route', { method, path, authorization: `Bearer ${tokenA}` }, { status: 404 });
      }
    }
    for (const method of ['PUT', 'DELETE']) {
      await attack(
        'no such method',
        { method, path: `/payments/${authorizedPayment.id}`, authorization: `Bearer ${tokenA}` },
        { status: 404 },
      );
    }
    await expectNothingChanged();
  });
});

describe('tokens an attacker can make', () => {
  /** Requests that would change or reveal location A's money if the token were accepted. */
  const protectedRequests = (): Attempt[] => [
    {
      method: 'POST',
      path: '/payments',
      ...bodyOf({ orderId: 'fuzz-token', locationId: locationA, amount: 1500, currency: 'usd' }),
    },
    { method: 'GET', path: '/payments' },
    { method: 'GET', path: `/payments/${authorizedPayment.id}` },
    { method: 'PATCH', path: `/payments/${openPayment.id}`, ...bodyOf({ amount: 1700 }) },
    { method: 'POST', path: `/payments/${openPayment.id}/process`, ...bodyOf({ readerId: readerA }) },
    { method: 'POST', path: `/payments/${authorizedPayment.id}/capture`, ...bodyOf({}) },
    { method: 'POST', path: `/payments/${authorizedPayment.id}/cancel`, ...bodyOf({}) },
    { method: 'GET', path: '/readers' },
    { method: 'GET', path: `/readers/${readerA}` },
    { method: 'POST', path: `/readers/${readerA}/cancel-action`, ...bodyOf({}) },
  ];

  it('refuses forged, expired, re-signed, alg:none and malformed tokens with API Gateway’s 401', async () => {
    // Prepare
    const tokens: HostileToken[] = await hostileTokens(stack, locationA);

    // Act & Assess
    for (const token of tokens) {
      for (const request of protectedRequests()) {
        const answer = await attack(
          `token: ${token.name}`,
          { ...request, authorization: token.authorization },
          { status: 401 },
        );
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    }
    await expectNothingChanged();
  });

  it('answers another location’s payments and readers 404 as unknown ids, and a location named outside the caller’s 403', async () => {
    // Prepare
    const notFound = (request: Attempt): [Attempt, number, string] => [
      request,
      404,
      request.path.startsWith('/readers/') ? 'reader_not_found' : 'payment_not_found',
    ];
    const asOtherLocation: [Attempt, number, string][] = [
      ...protectedRequests()
        .filter((request) => request.path.startsWith('/payments/') || request.path.startsWith('/readers/'))
        .map((request) => notFound({ ...request, authorization: `Bearer ${tokenB}` })),
      [
        {
          ...protectedRequests().find((request) => request.method === 'POST' && request.path === '/payments')!,
          authorization: `Bearer ${tokenB}`,
        },
        403,
        'forbidden',
      ],
      [
        { method: 'GET', path: `/payments?locationId=${locationA}`, authorization: `Bearer ${tokenB}` },
        403,
        'forbidden',
      ],
      [
        { method: 'GET', path: `/readers?locationId=${locationA}`, authorization: `Bearer ${tokenB}` },
        403,
        'forbidden',
      ],
      // A's own caller, with B's reader or B's payment.
      [
        {
          method: 'POST',
          path: `/payments/${openPayment.id}/process`,
          authorization: `Bearer ${tokenA}`,
          ...bodyOf({ readerId: readerB }),
        },
        404,
        'reader_not_found',
      ],
      [
        {
          method: 'POST',
          path: '/payments',
          authorization: `Bearer ${tokenA}`,
          ...bodyOf({ orderId: 'fuzz-x', locationId: locationA, amount: 1500, currency: 'usd', readerId: readerB }),
        },
        404,
        'reader_not_found',
      ],
      [
        { method: 'POST', path: `/payments/${paymentB.id}/cancel`, authorization: `Bearer ${tokenA}`, ...bodyOf({}) },
        404,
        'payment_not_found',
      ],
      [
        {
          method: 'POST',
          path: `/readers/${readerA}/cancel-action`,
          authorization: `Bearer ${tokenA}`,
          ...bodyOf({ paymentId: paymentB.id }),
        },
        404,
        'payment_not_found',
      ],
      [
        {
          method: 'POST',
          path: '/payments',
          authorization: `Bearer ${tokenA}`,
          ...bodyOf({ orderId: 'fuzz-y', locationId: 'tml_not_mine', amount: 1500, currency: 'usd' }),
        },
        403,
        'forbidden',
      ],
    ];

    // Act & Assess
    for (const [request, status, code] of asOtherLocation) {
      const answer = await attack('another location', request, { status, codes: [code] });
      // Says nothing about the other location's payment.
      expect(answer.text).not.toContain(authorizedPayment.id);
    }
    await expectNothingChanged();
  });
});

function bodyOf(value: unknown): Pick<Attempt, 'body' | 'contentType'> {
  return { body: json(value), contentType: 'application/json' };
}

describe('fuzzing the webhook route', () => {
  const signatureHeader = fc.oneof(
    fc.constantFrom(
      '',
      't=',
      'v1=',
      't=abc,v1=def',
      'garbage',
      `t=${Math.floor(Date.now() / 1000)}`,
      `t=1,v1=${'0'.repeat(64)}`,
    ),
    fc.string(),
    fc
      .tuple(fc.integer({ min: 0, max: 2 ** 31 }), fc.stringMatching(/^[0-9a-f]{64}$/))
      .map(([timestamp, hex]) => `t=${timestamp},v1=${hex}`),
  );
  const payload = fc.oneof(
    anyJson.map(json),
    fc.constantFrom(...MALFORMED_JSON),
    fc.string(),
    fc
      .record({
        id: fc.string(),
        object: fc.constant('event'),
        type: fc.constantFrom('payment_intent.succeeded', 'charge.succeeded'),
        created: fc.nat(),
        data: fc.record({ object: fc.object() }),
      })
      .map(json),
  );

  it('refuses unsigned, badly signed and wrongly signed deliveries with 400 and queues nothing', async () => {
    const wrongSecret = 'whsec_not_the_endpoint_secret';
    await fc.assert(
      fc.asyncProperty(
        payload,
        fc.oneof(signatureHeader, fc.constant(null), fc.constant('wrong-secret')),
        fc.constantFrom(...WRONG_CONTENT_TYPES, 'application/json'),
        async (body, header, contentType) => {
          const signature =
            header === 'wrong-secret'
              ? Stripe.webhooks.generateTestHeaderString({ payload: body, secret: wrongSecret })
              : header;
          await attack(
            'POST /webhooks/stripe unsigned or mis-signed',
            {
              method: 'POST',
              path: '/webhooks/stripe',
              body,
              contentType,
              ...(signature === null ? {} : { headers: { 'stripe-signature': signature } }),
            },
            { status: 400, codes: ['invalid_signature'] },
          );
        },
      ),
      { numRuns: RUNS * 4 },
    );
    await expectNothingChanged();
  });

  it('refuses a correctly signed body that is not an event with 400 invalid_payload', async () => {
    const secret = stack.state.stripe.webhookSecret;
    for (const body of [
      'not json',
      '[]',
      '{}',
      '{"object":"event"}',
      json({ id: 'evt_1', object: 'charge' }),
      MALFORMED_JSON[17] as string,
    ]) {
      await attack(
        'POST /webhooks/stripe signed non-event',
        {
          method: 'POST',
          path: '/webhooks/stripe',
          body,
          contentType: 'application/json',
          headers: { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret }) },
        },
        { status: 400, codes: ['invalid_payload'] },
      );
    }
    await expectNothingChanged();
  });
});

/**
 * Findings of the fuzzing, pinned one by one. They use payments of their own (created here, after the checks
 * above), so that what they change cannot hide anything else.
 */
describe('inputs the fuzzing found accepted', () => {
  async function changesOf(
    act: () => Promise<Answer>,
  ): Promise<{ answer: Answer; changed: string[]; stripeWrites: number }> {
    const table = await tableSnapshot(stack);
    const writes = await stripeWrites();
    const answer = await act();
    const after = await tableSnapshot(stack);
    const changed = [...new Set([...after.keys(), ...table.keys()])].filter((key) => after.get(key) !== table.get(key));
    return { answer, changed, stripeWrites: (await stripeWrites()) - writes };
  }

  it.each([
    ['orderId', (text: string) => ({ orderId: `order-${text}` })],
    ['description', (text: string) => ({ orderId: 'fuzz-description', description: text })],
    ['metadata', (text: string) => ({ orderId: 'fuzz-metadata', metadata: { note: text } })],
    ['readerId', (text: string) => ({ orderId: 'fuzz-reader', readerId: text })],
  ])('refuses a lone surrogate in %s of POST /payments with a 400 and changes nothing', async (_field, fields) => {
    for (const text of LONE_SURROGATES) {
      // Prepare
      const body = json({ locationId: locationA, amount: 1500, currency: 'usd', ...fields(text) });

      // Act
      const {
        answer,
        changed,
        stripeWrites: writes,
      } = await changesOf(() =>
        send({
          method: 'POST',
          path: '/payments',
          authorization: `Bearer ${tokenA}`,
          body,
          contentType: 'application/json',
        }),
      );

      // Assess
      expectRefusal(answer, `POST /payments ${body}`, { status: 400, codes: ['validation_error'] });
      expect(changed).toEqual([]);
      expect(writes).toBe(0);
    }
  });

  it('refuses a JSON null body on POST /payments/{id}/cancel instead of cancelling', async () => {
    // Prepare
    const payment = await createPayment(tokenA, { orderId: 'fuzz-null-body', locationId: locationA });

    // Act
    const {
      answer,
      changed,
      stripeWrites: writes,
    } = await changesOf(() =>
      send({
        method: 'POST',
        path: `/payments/${payment.id}/cancel`,
        authorization: `Bearer ${tokenA}`,
        body: 'null',
        contentType: 'application/json',
      }),
    );

    // Assess
    expectRefusal(answer, 'POST /payments/{id}/cancel null', { status: 400, codes: ['validation_error'] });
    expect(changed).toEqual([]);
    expect(writes).toBe(0);
  });

  it('hands an unknown __proto__ query parameter to the handler, which refuses it as on AWS', async () => {
    // Act
    const answer = await send({ method: 'GET', path: '/payments?__proto__=x', authorization: `Bearer ${tokenA}` });

    // Assess
    expectRefusal(answer, 'GET /payments?__proto__=x', { status: 400, codes: ['validation_error'] });
  });
});

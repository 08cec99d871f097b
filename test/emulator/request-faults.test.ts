import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import {
  control,
  FAST,
  firstReader,
  rawApi,
  sdk,
  settledReader,
  stripeError,
  terminalPaymentIntent,
  waitFor,
} from './support.ts';

const CREATE_BODY = 'amount=1000&currency=usd&allowed_payment_method_types[0]=card_present&capture_method=manual';
const AUTH = { Authorization: 'Bearer sk_test_emulator' };

interface LoggedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
}

describe('API request faults (/_emulator/faults)', () => {
  let emulator: Emulator;
  let stripe: Stripe;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => control(emulator, '/reset'));

  function arm(fault: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
    return control(emulator, '/faults', fault);
  }

  /** The logged POSTs (the tests' own reads left out). */
  async function requestLog(): Promise<LoggedRequest[]> {
    const data = (await control(emulator, '/requests', undefined, 'GET')).body.data as LoggedRequest[];
    return data.filter((entry) => entry.method === 'POST');
  }

  /** A raw POST that creates a PaymentIntent, answered or not. */
  function createRaw(headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    return fetch(`${emulator.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...AUTH, ...headers },
      body: CREATE_BODY,
      ...(signal === undefined ? {} : { signal }),
    });
  }

  async function paymentIntentIds(): Promise<string[]> {
    return (await stripe.paymentIntents.list()).data.map((paymentIntent) => paymentIntent.id);
  }

  describe('server_error', () => {
    it("answers 500 api_error in Stripe's shape, and the request has no effect", async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'server_error' });

      // Act
      const failed = await rawApi(emulator, 'POST', '/v1/payment_intents', CREATE_BODY);
      const next = await rawApi(emulator, 'POST', '/v1/payment_intents', CREATE_BODY);

      // Assess
      expect(failed.status).toBe(500);
      expect(failed.body).toEqual({ error: { type: 'api_error', message: expect.stringContaining('went wrong') } });
      expect(failed.headers.get('request-id')).toMatch(/^req_/);
      expect(next.status).toBe(200);
      expect(await paymentIntentIds()).toEqual([next.body.id]);
    });

    it('reaches the SDK as a StripeAPIError when it does not retry', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'server_error' });

      // Act
      const error = await stripeError(terminalPaymentIntent(stripe));

      // Assess
      expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
      expect(error).toMatchObject({ statusCode: 500, type: 'StripeAPIError' });
      expect(await paymentIntentIds()).toEqual([]);
    });

    it('is retried by the SDK with the same Idempotency-Key, and the retry succeeds', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'server_error' });
      const retrying = sdk(emulator, { maxNetworkRetries: 1 });

      // Act
      const created = await terminalPaymentIntent(retrying);

      // Assess
      const log = await requestLog();
      expect(log.map((entry) => entry.status)).toEqual([500, 200]);
      expect(log[1]?.idempotencyKey).toBe(log[0]?.idempotencyKey);
      expect(await paymentIntentIds()).toEqual([created.id]);
    });
  });

  describe('rate_limit', () => {
    it('answers 429 with code rate_limit and type invalid_request_error', async () => {
      // Prepare
      await arm({ method: 'GET', path: '/v1/payment_intents', fault: 'rate_limit' });

      // Act
      const limited = await rawApi(emulator, 'GET', '/v1/payment_intents');

      // Assess
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({
        error: {
          type: 'invalid_request_error',
          code: 'rate_limit',
          message: expect.stringContaining('Request rate limit exceeded'),
          doc_url: 'https://docs.stripe.com/error-codes#rate-limit',
        },
      });
    });

    it('reaches the SDK as a StripeRateLimitError, which it does not retry', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'rate_limit' });
      const retrying = sdk(emulator, { maxNetworkRetries: 2 });

      // Act
      const error = await stripeError(terminalPaymentIntent(retrying));

      // Assess
      expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(error).toMatchObject({ statusCode: 429, code: 'rate_limit' });
      expect((await requestLog()).map((entry) => entry.status)).toEqual([429]);
      expect(await paymentIntentIds()).toEqual([]);
    });
  });

  describe('connection_reset', () => {
    it('closes the socket with no answer, and the request has no effect', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'connection_reset' });

      // Act
      const outcome = createRaw().then(
        () => 'answered',
        () => 'connection lost',
      );

      // Assess
      expect(await outcome).toBe('connection lost');
      expect(await paymentIntentIds()).toEqual([]);
      expect(await requestLog()).toMatchObject([{ method: 'POST', path: '/v1/payment_intents', status: 0 }]);
    });

    it('is retried once by the SDK even with maxNetworkRetries 0, with the same key', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'connection_reset' });

      // Act
      const created = await terminalPaymentIntent(stripe);

      // Assess
      const log = await requestLog();
      expect(log.map((entry) => entry.status)).toEqual([0, 200]);
      expect(log[1]?.idempotencyKey).toBe(log[0]?.idempotencyKey);
      expect(await paymentIntentIds()).toEqual([created.id]);
    });

    it('reaches the SDK as a StripeConnectionError when its one retry is reset too', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'connection_reset', count: 2 });

      // Act
      const error = await stripeError(terminalPaymentIntent(stripe));

      // Assess
      expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect((await requestLog()).map((entry) => entry.status)).toEqual([0, 0]);
    });
  });

  describe('timeout', () => {
    it('never answers; the SDK gives up after its timeout', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'timeout' });
      const impatient = sdk(emulator, { timeout: 200 });
      const startedAt = Date.now();

      // Act
      const error = await stripeError(terminalPaymentIntent(impatient));

      // Assess
      expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(190);
      expect(await paymentIntentIds()).toEqual([]);
      expect((await requestLog()).map((entry) => entry.status)).toEqual([0]);
    });

    it('holds a raw request until the client aborts it', async () => {
      // Prepare
      await arm({ method: 'GET', path: '/v1/payment_intents', fault: 'timeout' });

      // Act
      const outcome = await fetch(`${emulator.url}/v1/payment_intents`, {
        headers: AUTH,
        signal: AbortSignal.timeout(150),
      }).then(
        () => 'answered',
        (error: Error) => error.name,
      );

      // Assess
      expect(outcome).toBe('TimeoutError');
    });

    it('reset closes the held requests', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'timeout' });
      const held = createRaw().then(
        () => 'answered',
        () => 'connection closed',
      );
      await waitFor(async () => ((await requestLog()).length === 1 ? true : undefined));

      // Act
      await control(emulator, '/reset');

      // Assess
      expect(await held).toBe('connection closed');
    });

    it('close ends the held requests and stops the server at once', async () => {
      // Prepare
      const own = await startEmulator({ ...FAST, seed: false });
      await control(own, '/faults', { method: 'GET', path: '/v1/*', fault: 'timeout', count: 3 });
      const held = Array.from({ length: 3 }, () =>
        fetch(`${own.url}/v1/payment_intents`, { headers: AUTH }).then(
          () => 'answered',
          () => 'connection closed',
        ),
      );
      const logged = async () => ((await control(own, '/requests', undefined, 'GET')).body.data as unknown[]).length;
      await waitFor(async () => ((await logged()) === 3 ? true : undefined));
      const startedAt = Date.now();

      // Act
      await own.close();

      // Assess
      expect(await Promise.all(held)).toEqual(['connection closed', 'connection closed', 'connection closed']);
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    });
  });

  describe('matching', () => {
    it('fails exactly the next count matching requests, then lets requests through again', async () => {
      // Prepare
      await arm({ method: 'GET', path: '/v1/payment_intents', fault: 'server_error', count: 2 });

      // Act
      const first = await rawApi(emulator, 'GET', '/v1/payment_intents');
      const pending = await control(emulator, '/faults', undefined, 'GET');
      const second = await rawApi(emulator, 'GET', '/v1/payment_intents');
      const third = await rawApi(emulator, 'GET', '/v1/payment_intents');

      // Assess
      expect([first.status, second.status, third.status]).toEqual([500, 500, 200]);
      expect(pending.body.data).toEqual([
        { method: 'GET', path: '/v1/payment_intents', fault: 'server_error', count: 1, afterExecuting: false },
      ]);
      expect((await control(emulator, '/faults', undefined, 'GET')).body.data).toEqual([]);
    });

    it('matches the method and the exact path only', async () => {
      // Prepare
      await arm({ method: 'post', path: '/v1/payment_intents', fault: 'server_error' });

      // Act
      const otherMethod = await rawApi(emulator, 'GET', '/v1/payment_intents');
      const longerPath = await rawApi(emulator, 'POST', '/v1/payment_intents/pi_missing/cancel');
      const otherPath = await rawApi(emulator, 'POST', '/v1/terminal/locations', 'display_name=X&address[country]=US');
      const matching = await rawApi(emulator, 'POST', '/v1/payment_intents', CREATE_BODY);

      // Assess
      expect([otherMethod.status, longerPath.status, otherPath.status, matching.status]).toEqual([200, 404, 200, 500]);
    });

    it('takes a trailing * as a prefix wildcard', async () => {
      // Prepare
      const reader = firstReader(emulator);
      const paymentIntent = await terminalPaymentIntent(stripe);
      await arm({ method: 'POST', path: '/v1/terminal/readers/*', fault: 'server_error', count: 2 });

      // Act
      const process = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );
      const cancel = await stripeError(stripe.terminal.readers.cancelAction(reader));
      const retried = await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      const created = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });

      // Assess
      expect([process.statusCode, cancel.statusCode]).toEqual([500, 500]);
      expect(retried.action?.status).toBe('in_progress');
      expect(created.id).toMatch(/^pi_/);
    });

    it('never applies to /_emulator controls', async () => {
      // Prepare
      await arm({ method: 'GET', path: '/v1*', fault: 'server_error' });

      // Act
      const controlRead = await control(emulator, '/requests', undefined, 'GET');
      const apiRead = await rawApi(emulator, 'GET', '/v1/events');

      // Assess
      expect(controlRead.status).toBe(200);
      expect(apiRead.status).toBe(500);
    });
  });

  describe('afterExecuting', () => {
    it.each([
      ['server_error', 500],
      ['rate_limit', 429],
      ['connection_reset', 0],
      ['timeout', 0],
    ])('%s: the request takes effect, and a retry with the same key replays the real answer', async (fault, seen) => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault, afterExecuting: true });
      const key = `order-${fault}`;

      // Act
      const first = await createRaw({ 'Idempotency-Key': key }, AbortSignal.timeout(300)).then(
        (response) => response.status,
        () => 0,
      );
      const retry = await rawApi(emulator, 'POST', '/v1/payment_intents', CREATE_BODY, {
        ...AUTH,
        'Idempotency-Key': key,
      });

      // Assess
      expect(first).toBe(seen);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await paymentIntentIds()).toEqual([retry.body.id]);
      const created = await stripe.events.list({ type: 'payment_intent.created' });
      expect(created.data.map((event) => (event.data.object as Stripe.PaymentIntent).id)).toEqual([retry.body.id]);
      expect(await requestLog()).toMatchObject([
        { idempotencyKey: key, status: seen, replayed: false },
        { idempotencyKey: key, status: 200, replayed: true },
      ]);
    });

    it('a capture whose answer is lost to a reset is retried by the SDK and replayed, captured once', async () => {
      // Prepare
      const reader = firstReader(emulator);
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      await settledReader(stripe, reader);
      const capturePath = `/v1/payment_intents/${paymentIntent.id}/capture`;
      await arm({ method: 'POST', path: capturePath, fault: 'connection_reset', afterExecuting: true });

      // Act
      const captured = await stripe.paymentIntents.capture(paymentIntent.id);

      // Assess
      expect(captured.status).toBe('succeeded');
      const captures = (await requestLog()).filter((entry) => entry.path === capturePath);
      expect(captures).toMatchObject([
        { status: 0, replayed: false },
        { status: 200, replayed: true },
      ]);
      expect((await stripe.events.list({ type: 'charge.captured' })).data).toHaveLength(1);
    });

    it('a create that timed out in the SDK is found again with the same idempotencyKey', async () => {
      // Prepare
      await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'timeout', afterExecuting: true });
      const impatient = sdk(emulator, { timeout: 200 });
      const params = { amount: 1000, currency: 'usd', allowed_payment_method_types: ['card_present'] };

      // Act
      const error = await stripeError(impatient.paymentIntents.create(params, { idempotencyKey: 'order-7' }));
      const retried = await impatient.paymentIntents.create(params, { idempotencyKey: 'order-7' });

      // Assess
      expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect(retried.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect(await paymentIntentIds()).toEqual([retried.id]);
    });
  });

  describe('the control', () => {
    it('lists the pending faults; DELETE clears them; reset clears them too', async () => {
      // Prepare
      const armed = await arm({ method: 'POST', path: '/v1/payment_intents', fault: 'timeout', count: 3 });
      await arm({ method: 'GET', path: '/v1/terminal/*', fault: 'rate_limit', afterExecuting: true });

      // Act
      const listed = await control(emulator, '/faults', undefined, 'GET');
      const cleared = await control(emulator, '/faults', undefined, 'DELETE');
      const afterClear = await control(emulator, '/faults', undefined, 'GET');
      await arm({ method: 'GET', path: '/v1/events', fault: 'server_error' });
      await control(emulator, '/reset');
      const afterReset = await control(emulator, '/faults', undefined, 'GET');

      // Assess
      expect(armed).toEqual({
        status: 200,
        body: { method: 'POST', path: '/v1/payment_intents', fault: 'timeout', count: 3, afterExecuting: false },
      });
      expect(listed.body.data).toEqual([
        { method: 'POST', path: '/v1/payment_intents', fault: 'timeout', count: 3, afterExecuting: false },
        { method: 'GET', path: '/v1/terminal/*', fault: 'rate_limit', count: 1, afterExecuting: true },
      ]);
      expect(cleared.body).toEqual({ cleared: 2 });
      expect(afterClear.body.data).toEqual([]);
      expect(afterReset.body.data).toEqual([]);
      expect((await rawApi(emulator, 'GET', '/v1/events')).status).toBe(200);
    });

    it.each([
      [{ path: '/v1/payment_intents', fault: 'server_error' }, 'method must be one of: GET, POST, DELETE'],
      [{ method: 'PATCH', path: '/v1/payment_intents', fault: 'server_error' }, 'method must be one of'],
      [{ method: 'POST', fault: 'server_error' }, 'path must be an API path under /v1'],
      [{ method: 'POST', path: '/_emulator/reset', fault: 'server_error' }, 'path must be an API path under /v1'],
      [{ method: 'POST', path: '/v10/payment_intents', fault: 'server_error' }, 'path must be an API path under /v1'],
      [{ method: 'POST', path: '/v1/*/cancel', fault: 'server_error' }, "path may hold one '*', at its end"],
      [{ method: 'POST', path: '/v1/payment_intents', fault: 'gremlins' }, 'fault must be one of: server_error'],
      [{ method: 'POST', path: '/v1/payment_intents', fault: 'timeout', count: 0 }, 'count must be a positive'],
      [{ method: 'POST', path: '/v1/payment_intents', fault: 'timeout', count: 1.5 }, 'count must be a positive'],
      [
        { method: 'POST', path: '/v1/payment_intents', fault: 'timeout', afterExecuting: 'yes' },
        'afterExecuting must be a boolean',
      ],
      [{ method: 'POST', path: '/v1/payment_intents', fault: 'timeout', times: 2 }, 'Unknown field: times'],
    ])('rejects %j with 400: %s', async (body, message) => {
      // Act
      const response = await arm(body);

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: { message: expect.stringContaining(message) } });
      expect((await control(emulator, '/faults', undefined, 'GET')).body.data).toEqual([]);
    });

    it('rejects a body that is not JSON with 400', async () => {
      // Act
      const response = await fetch(`${emulator.url}/_emulator/faults`, { method: 'POST', body: 'fault=timeout' });

      // Assess
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { message: 'The body must be JSON.' } });
    });
  });
});

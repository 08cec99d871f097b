import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import { control, FAST, firstReader, rawApi, sdk, stripeError, terminalPaymentIntent } from './support.ts';

const CREATE = 'amount=1000&currency=usd&allowed_payment_method_types[0]=card_present';

describe('Idempotent requests', () => {
  let emulator: Emulator;
  let stripe: Stripe;
  let reader: string;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
    reader = firstReader(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => control(emulator, '/reset'));

  function post(path: string, body: string, key: string): ReturnType<typeof rawApi> {
    return rawApi(emulator, 'POST', path, body, { Authorization: 'Bearer sk_test_emulator', 'Idempotency-Key': key });
  }

  it('replays the first response for the same key and parameters, with Idempotent-Replayed', async () => {
    // Prepare
    const first = await post('/v1/payment_intents', CREATE, 'order-1');

    // Act
    const second = await post('/v1/payment_intents', CREATE, 'order-1');

    // Assess
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('original-request')).toBe(first.headers.get('request-id'));
    expect((await stripe.paymentIntents.list()).data).toHaveLength(1);
    expect((await stripe.events.list({ type: 'payment_intent.created' })).data).toHaveLength(1);
  });

  it('replays through the SDK with a caller-chosen key', async () => {
    // Prepare
    const params = { amount: 1000, currency: 'usd', allowed_payment_method_types: ['card_present'] };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'sdk-key' });

    // Act
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'sdk-key' });

    // Assess
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
  });

  it("works with the SDK's own stripe-node-retry key on every POST", async () => {
    // Act
    const first = await terminalPaymentIntent(stripe);
    const second = await terminalPaymentIntent(stripe);

    // Assess
    expect(second.id).not.toBe(first.id);
    const log = (await control(emulator, '/requests', undefined, 'GET')).body.data as { idempotencyKey: string }[];
    expect(log.map((entry) => entry.idempotencyKey)).toEqual([
      expect.stringMatching(/^stripe-node-retry-/),
      expect.stringMatching(/^stripe-node-retry-/),
    ]);
  });

  it('answers idempotency_error for the same key with other parameters', async () => {
    // Prepare
    await stripe.paymentIntents.create(
      { amount: 1000, currency: 'usd', allowed_payment_method_types: ['card_present'] },
      { idempotencyKey: 'reused' },
    );

    // Act
    const error = await stripeError(
      stripe.paymentIntents.create(
        { amount: 2000, currency: 'usd', allowed_payment_method_types: ['card_present'] },
        { idempotencyKey: 'reused' },
      ),
    );
    const otherPath = await stripeError(
      stripe.terminal.locations.create({ display_name: 'X', address: { country: 'US' } }, { idempotencyKey: 'reused' }),
    );

    // Assess
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(error.raw).toMatchObject({
      type: 'idempotency_error',
      message: expect.stringContaining("other than 'reused'"),
    });
    expect(otherPath.type).toBe('StripeIdempotencyError');
  });

  it('answers 409 idempotency_key_in_use while the first request is still running', async () => {
    // Prepare
    await control(emulator, '/config', { readerCommandLatencyMs: 150 });
    const paymentIntent = await terminalPaymentIntent(stripe);
    const body = `payment_intent=${paymentIntent.id}`;
    const path = `/v1/terminal/readers/${reader}/process_payment_intent`;

    // Act
    const [first, second] = await Promise.all([
      post(path, body, 'concurrent'),
      new Promise<Awaited<ReturnType<typeof post>>>((resolve) =>
        setTimeout(() => resolve(post(path, body, 'concurrent')), 40),
      ),
    ]);
    const third = await post(path, body, 'concurrent');

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ type: 'invalid_request_error', code: 'idempotency_key_in_use' });
    expect(third.headers.get('idempotent-replayed')).toBe('true');
    expect(third.body).toEqual(first.body);
  });

  it('replays errors of requests that began executing (a reader timeout), so a retry needs a new key', async () => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe);
    await control(emulator, `/readers/${reader}/next-command`, { fault: 'timeout' });
    const path = `/v1/terminal/readers/${reader}/process_payment_intent`;
    const first = await post(path, `payment_intent=${paymentIntent.id}`, 'timeout-key');

    // Act
    const replay = await post(path, `payment_intent=${paymentIntent.id}`, 'timeout-key');
    const fresh = await post(path, `payment_intent=${paymentIntent.id}`, 'timeout-key-2');

    // Assess
    expect(first.body.error).toMatchObject({ code: 'terminal_reader_timeout' });
    expect(replay.status).toBe(400);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(fresh.status).toBe(200);
  });

  it.each([
    ['a validation error', '/v1/payment_intents', 'amount=1000', 'parameter_missing'],
    ['amount_too_small', '/v1/payment_intents', 'amount=10&currency=usd', 'amount_too_small'],
    [
      'a missing referenced object',
      '/v1/terminal/readers/READER/process_payment_intent',
      'payment_intent=pi_nope',
      'resource_missing',
    ],
  ])('does not store %s: the same key later runs for real', async (_name, rawPath, body, code) => {
    // Prepare
    const path = rawPath.replace('READER', reader);
    const first = await post(path, body, `not-stored-${code}`);

    // Act
    const second = await post(path, body, `not-stored-${code}`);

    // Assess
    expect(first.body.error).toMatchObject({ code });
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('request-id')).not.toBe(first.headers.get('request-id'));
  });

  it('does not store a 401', async () => {
    // Prepare
    const first = await rawApi(emulator, 'POST', '/v1/payment_intents', CREATE, {
      'Idempotency-Key': 'unauthenticated',
    });

    // Act
    const second = await post('/v1/payment_intents', CREATE, 'unauthenticated');

    // Assess
    expect(first.status).toBe(401);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
  });

  it('marks replays in the request log', async () => {
    // Prepare
    await post('/v1/payment_intents', CREATE, 'logged');
    await post('/v1/payment_intents', CREATE, 'logged');

    // Act
    const log = (await control(emulator, '/requests', undefined, 'GET')).body.data;

    // Assess
    expect(log).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/payment_intents',
        idempotencyKey: 'logged',
        status: 200,
        replayed: false,
      }),
      expect.objectContaining({
        method: 'POST',
        path: '/v1/payment_intents',
        idempotencyKey: 'logged',
        status: 200,
        replayed: true,
      }),
    ]);
  });
});

import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import { control, FAST, firstReader, rawApi, sdk, stripeError, terminalPaymentIntent } from './support.ts';

describe('Request parsing, validation, authentication and errors', () => {
  let emulator: Emulator;
  let stripe: Stripe;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => control(emulator, '/reset'));

  it('rejects an unknown top-level parameter with parameter_unknown', async () => {
    // Act
    const error = await stripeError(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        colour: 'blue',
      } as Stripe.PaymentIntentCreateParams),
    );

    // Assess
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.raw).toMatchObject({
      type: 'invalid_request_error',
      code: 'parameter_unknown',
      param: 'colour',
      message: 'Received unknown parameter: colour',
      doc_url: 'https://docs.stripe.com/error-codes#parameter-unknown',
    });
  });

  it('names a nested unknown parameter in bracket notation', async () => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe);

    // Act
    const error = await stripeError(
      stripe.terminal.readers.processPaymentIntent(firstReader(emulator), {
        payment_intent: paymentIntent.id,
        process_config: { tipping: { percent: 5 } } as Stripe.Terminal.ReaderProcessPaymentIntentParams.ProcessConfig,
      }),
    );

    // Assess
    expect(error.code).toBe('parameter_unknown');
    expect(error.param).toBe('process_config[tipping][percent]');
  });

  it.each([
    ['amount', 'currency=usd'],
    ['currency', 'amount=1000'],
  ])('rejects a missing %s with parameter_missing', async (param, body) => {
    // Act
    const response = await rawApi(emulator, 'POST', '/v1/payment_intents', body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'parameter_missing',
      param,
      message: `Missing required param: ${param}.`,
    });
  });

  it('rejects a missing required reader command parameter', async () => {
    // Act
    const error = await stripeError(
      stripe.terminal.readers.processPaymentIntent(
        firstReader(emulator),
        {} as Stripe.Terminal.ReaderProcessPaymentIntentParams,
      ),
    );

    // Assess
    expect(error.code).toBe('parameter_missing');
    expect(error.param).toBe('payment_intent');
  });

  it.each([
    ['amount=ten&currency=usd', 'parameter_invalid_integer', 'amount', 'Invalid integer: ten'],
    ['amount=10.5&currency=usd', 'parameter_invalid_integer', 'amount', 'Invalid integer: 10.5'],
    ['amount=1000&currency=', 'parameter_invalid_string_empty', 'currency', undefined],
    ['amount=&currency=usd', 'parameter_invalid_empty', 'amount', undefined],
    ['amount=0&currency=usd', 'parameter_invalid_integer', 'amount', 'This value must be greater than or equal to 1.'],
  ])('rejects %s with %s on %s', async (body, code, param, message) => {
    // Act
    const response = await rawApi(emulator, 'POST', '/v1/payment_intents', body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
    if (message !== undefined) expect((response.body.error as { message: string }).message).toBe(message);
  });

  it.each([
    ['amount=1000&currency=usd&confirm=maybe', 'confirm', 'Invalid boolean: maybe'],
    [
      'amount=1000&currency=usd&capture_method=later',
      'capture_method',
      'Invalid capture_method: must be one of automatic, automatic_async, or manual',
    ],
    ['amount=1000&currency=usd&metadata=plain', 'metadata', 'Invalid hash'],
    ['amount=1000&currency=usd&expand=latest_charge', 'expand', 'Invalid array'],
  ])('rejects a wrongly typed value (%s) with param %s', async (body, param, message) => {
    // Act
    const response = await rawApi(emulator, 'POST', '/v1/payment_intents', body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', param, message });
  });

  it('parses bracket notation and indexed arrays in a form body', async () => {
    // Act
    const response = await rawApi(
      emulator,
      'POST',
      '/v1/payment_intents',
      'amount=1000&currency=usd&allowed_payment_method_types[1]=interac_present&allowed_payment_method_types[0]=card_present&metadata[order][]=ignored&metadata[shift]=morning',
    );

    // Assess
    expect(response.body.error).toMatchObject({ param: 'metadata[order]', message: 'Invalid string' });
    const ok = await rawApi(
      emulator,
      'POST',
      '/v1/payment_intents',
      'amount=1000&currency=usd&allowed_payment_method_types[1]=interac_present&allowed_payment_method_types[0]=card_present&metadata[shift]=morning&expand[]=latest_charge',
    );
    expect(ok.status).toBe(200);
    expect(ok.body.allowed_payment_method_types).toEqual(['card_present', 'interac_present']);
    expect(ok.body.metadata).toEqual({ shift: 'morning' });
  });

  it('reads GET parameters from the query string, brackets encoded or not', async () => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe);

    // Act
    const plain = await rawApi(emulator, 'GET', `/v1/payment_intents/${paymentIntent.id}?expand[0]=latest_charge`);
    const encoded = await rawApi(emulator, 'GET', `/v1/payment_intents/${paymentIntent.id}?expand%5B0%5D=nope`);
    const list = await rawApi(emulator, 'GET', '/v1/payment_intents?limit=1&created[gte]=0');

    // Assess
    expect(plain.status).toBe(200);
    expect(encoded.body.error).toMatchObject({ message: 'This property cannot be expanded (nope).' });
    expect((list.body.data as unknown[]).length).toBe(1);
  });

  it('rejects an unknown query parameter on a GET', async () => {
    // Act
    const response = await rawApi(emulator, 'GET', '/v1/terminal/readers?colour=blue');

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'parameter_unknown', param: 'colour' });
  });

  it('answers 401 without an API key', async () => {
    // Act
    const response = await rawApi(emulator, 'GET', '/v1/payment_intents', undefined, {});

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect((response.body.error as { message: string }).message).toContain('You did not provide an API key');
  });

  it.each(['sk_live_abcdefghijkl', 'pk_test_abcdefghijkl', 'nonsense'])(
    'answers 401 for the key %s through the SDK',
    async (key) => {
      // Prepare
      const client = new Stripe(key, {
        host: '127.0.0.1',
        port: emulator.port,
        protocol: 'http',
        maxNetworkRetries: 0,
      });

      // Act
      const error = await stripeError(client.paymentIntents.list());

      // Assess
      expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(error.statusCode).toBe(401);
      expect(error.message).toContain('Invalid API Key provided');
    },
  );

  it('accepts any sk_test_ key, all sharing one state, as Bearer or Basic auth', async () => {
    // Prepare
    const created = await terminalPaymentIntent(
      new Stripe('sk_test_one', { host: '127.0.0.1', port: emulator.port, protocol: 'http' }),
    );

    // Act
    const other = await new Stripe('sk_test_two', {
      host: '127.0.0.1',
      port: emulator.port,
      protocol: 'http',
    }).paymentIntents.retrieve(created.id);
    const basic = await rawApi(emulator, 'GET', `/v1/payment_intents/${created.id}`, undefined, {
      Authorization: `Basic ${Buffer.from('sk_test_three:').toString('base64')}`,
    });

    // Assess
    expect(other.id).toBe(created.id);
    expect(basic.status).toBe(200);
  });

  it('puts a request-id on every response, success or error', async () => {
    // Act
    const ok = await stripe.terminal.readers.list();
    const error = await stripeError(stripe.paymentIntents.retrieve('pi_nope'));

    // Assess
    expect(ok.lastResponse.requestId).toMatch(/^req_/);
    expect(error.requestId).toMatch(/^req_/);
  });

  it('answers an unknown URL with a Stripe 404', async () => {
    // Act
    const response = await rawApi(emulator, 'POST', '/v1/disputes', 'charge=ch_1');

    // Assess
    expect(response.status).toBe(404);
    expect((response.body.error as { message: string }).message).toBe(
      'Unrecognized request URL (POST: /v1/disputes). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.',
    );
  });

  it('logs every API request for /_emulator/requests, oldest first', async () => {
    // Prepare
    await stripe.terminal.readers.list();
    await stripeError(stripe.paymentIntents.retrieve('pi_nope'));
    await terminalPaymentIntent(stripe, {}).then((pi) =>
      stripe.paymentIntents.cancel(pi.id, {}, { idempotencyKey: 'cancel-1' }),
    );

    // Act
    const log = await control(emulator, '/requests', undefined, 'GET');

    // Assess
    const data = log.body.data as Record<string, unknown>[];
    expect(data.map((entry) => [entry.method, entry.path, entry.status])).toEqual([
      ['GET', '/v1/terminal/readers', 200],
      ['GET', '/v1/payment_intents/pi_nope', 404],
      ['POST', '/v1/payment_intents', 200],
      ['POST', expect.stringMatching(/^\/v1\/payment_intents\/pi_.*\/cancel$/), 200],
    ]);
    expect(data[3]).toMatchObject({ idempotencyKey: 'cancel-1', replayed: false });
    expect(data[2]?.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(data[0]?.idempotencyKey).toBeNull();
    expect(new Date(String(data[0]?.createdAt)).toISOString()).toBe(data[0]?.createdAt);
  });
});

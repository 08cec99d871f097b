/**
 * Rolling a secret key (`POST /_emulator/keys/roll`), as the Dashboard's "Roll key…" with "expire old key in …": the
 * successor works at once, the rolled key keeps working until its expiry on the emulator's clock and is refused with
 * Stripe's 401 `api_key_expired` after it; other keys are not touched. The request log names the key of each request.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import { control, FAST, rawApi, sdk } from './support.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator(FAST);
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(async () => {
  await control(emulator, '/reset');
});

const controls = () => emulatorControls(emulator.url);
/** The SDK against the emulator with `key`, one request per call. */
const client = (key: string) =>
  new Stripe(key, { host: '127.0.0.1', port: emulator.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });

async function failure(call: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await call;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error('the call succeeded');
}

describe('POST /_emulator/keys/roll', () => {
  it('answers a new key; the rolled one works until its expiry on the emulator clock, then is refused', async () => {
    // Prepare
    const rolledKey = 'sk_test_rolledkey0001';
    const before = await controls().clock();

    // Act
    const rolled = await controls().rollKey(rolledKey, 3600);
    const withOldBeforeExpiry = await client(rolledKey).terminal.readers.list();
    await controls().advanceClock(3599);
    const withOldJustBeforeExpiry = await client(rolledKey).terminal.readers.list();
    await controls().advanceClock(1);
    const withOldAfterExpiry = await failure(client(rolledKey).terminal.readers.list());
    const withNew = await client(rolled.secretKey).terminal.readers.list();
    const withAnother = await sdk(emulator).terminal.readers.list();

    // Assess
    expect(rolled.secretKey).toMatch(/^sk_test_\w{24,}$/);
    expect(rolled.rolledKey).toBe('sk_test_…0001');
    expect(rolled.expiresAt).toBeGreaterThanOrEqual(before.now + 3600);
    expect(rolled.expiresAt).toBeLessThanOrEqual(before.now + 3601);
    expect(withOldBeforeExpiry.data.length).toBeGreaterThan(0);
    expect(withOldJustBeforeExpiry.data.length).toBeGreaterThan(0);
    expect(withOldAfterExpiry).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(withOldAfterExpiry.statusCode).toBe(401);
    expect(withOldAfterExpiry.code).toBe('api_key_expired');
    expect(withOldAfterExpiry.message).toBe('Expired API Key provided: sk_test_*********0001');
    expect(withNew.data.length).toBeGreaterThan(0);
    expect(withAnother.data.length).toBeGreaterThan(0);
  });

  it('expires the rolled key at once by default', async () => {
    // Act
    await controls().rollKey('sk_test_expiresnow');
    const response = await rawApi(emulator, 'GET', '/v1/terminal/readers', undefined, {
      Authorization: 'Bearer sk_test_expiresnow',
    });
    const basic = await rawApi(emulator, 'GET', '/v1/terminal/readers', undefined, {
      Authorization: `Basic ${Buffer.from('sk_test_expiresnow:').toString('base64')}`,
    });

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      error: expect.objectContaining({ type: 'invalid_request_error', code: 'api_key_expired' }),
    });
    expect(basic.status).toBe(401);
  });

  it('logs the key of each request, redacted', async () => {
    // Prepare
    const rolled = await controls().rollKey('sk_test_loggedkey1234', 60);

    // Act
    await rawApi(emulator, 'GET', '/v1/terminal/readers', undefined, { Authorization: 'Bearer sk_test_loggedkey1234' });
    await rawApi(emulator, 'GET', '/v1/terminal/readers', undefined, { Authorization: `Bearer ${rolled.secretKey}` });
    await controls().advanceClock(60);
    await rawApi(emulator, 'GET', '/v1/terminal/readers', undefined, { Authorization: 'Bearer sk_test_loggedkey1234' });
    await rawApi(emulator, 'GET', '/v1/terminal/readers', undefined, {});
    const log = await controls().get<{ data: { apiKey: string | null; status: number }[] }>('requests');

    // Assess
    expect(log.data.map(({ apiKey, status }) => [apiKey, status])).toEqual([
      ['sk_test_…1234', 200],
      [`sk_test_…${rolled.secretKey.slice(-4)}`, 200],
      ['sk_test_…1234', 401],
      [null, 401],
    ]);
  });

  it('lists the rolled keys, refuses to roll one twice, and forgets them on reset', async () => {
    // Prepare
    const rolled = await controls().rollKey('sk_test_listedkey5678', 120);

    // Act
    const listed = await control(emulator, '/keys', undefined, 'GET');
    const again = await control(emulator, '/keys/roll', { key: 'sk_test_listedkey5678' });
    await control(emulator, '/reset');
    const afterReset = await control(emulator, '/keys', undefined, 'GET');
    const usable = await rawApi(emulator, 'GET', '/v1/terminal/readers', undefined, {
      Authorization: 'Bearer sk_test_listedkey5678',
    });

    // Assess
    expect(listed.body).toEqual({ data: [{ rolledKey: 'sk_test_…5678', expiresAt: rolled.expiresAt }] });
    expect(again.status).toBe(409);
    expect(afterReset.body).toEqual({ data: [] });
    expect(usable.status).toBe(200);
  });

  it.each([
    [{}, 'key must be the test secret key to roll'],
    [{ key: 'rk_test_restricted' }, 'key must be the test secret key to roll'],
    [{ key: 'sk_test_abc', expireOldAfterSeconds: -1 }, 'expireOldAfterSeconds must be a non-negative number'],
    [{ key: 'sk_test_abc', expireOldAfterHours: 1 }, 'Unknown field: expireOldAfterHours'],
  ])('refuses %j with a 400 that says why', async (body, message) => {
    // Act
    const answer = await control(emulator, '/keys/roll', body);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: { message: expect.stringContaining(message) } });
  });
});

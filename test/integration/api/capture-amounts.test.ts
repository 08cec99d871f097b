/**
 * Repeated and racing captures asking for amounts: a repeat is answered 200 only when it asks for what was
 * captured (no amount means the whole authorized amount); another amount is 409 `invalid_state` naming both, so a
 * POS never reads 200 for money that was not taken.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { claimsFor, idleReader, type JsonBody, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, paymentThroughReader } from './client.ts';

let parts: LocalParts;
let cashier: ApiClient;
let locationId: string;
let readers: [string, string];
const stripe = () => createStripeClient('sk_test_integration', parts.emulator.url);

beforeAll(async () => {
  parts = await startLocalParts();
  const [store] = parts.locations as [{ id: string; readers: [string, string] }];
  locationId = store.id;
  readers = store.readers;
  cashier = apiClient(claimsFor([locationId]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  for (const reader of readers) await idleReader(parts.emulator, reader);
});

/** A payment of 1299 authorized on a reader (manual capture unless told). */
const authorized = (captureMethod: 'manual' | 'automatic' = 'manual'): Promise<JsonBody> =>
  paymentThroughReader(cashier, parts.emulator.url, { locationId, readerId: readers[0], captureMethod, amount: 1299 });

/** Captures Stripe ran for the payment (answered or not; replays excluded). */
const capturesRun = async (paymentId: string) =>
  (await emulatorRequests(parts.emulator.url)).filter(
    (r) =>
      r.method === 'POST' && r.path === `/v1/payment_intents/${paymentId}/capture` && !r.replayed && r.status < 400,
  );

describe('POST /payments/{id}/capture, asked again', () => {
  it.each([
    ['the same part again', { amountToCapture: 1000 }, { amountToCapture: 1000 }, 1000],
    ['no amount again after capturing all', {}, {}, 1299],
    ['the full amount after a capture without one', {}, { amountToCapture: 1299 }, 1299],
    ['no amount after a capture of the full amount', { amountToCapture: 1299 }, {}, 1299],
  ])('answers 200 with the captured payment for %s, capturing nothing more', async (_, first, again, captured) => {
    // Prepare
    const payment = await authorized();
    await cashier.capture(payment.id, first);

    // Act
    const response = await cashier.capture(payment.id, again);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.payment).toMatchObject({ status: 'succeeded', amountReceived: captured });
    expect(await capturesRun(payment.id)).toHaveLength(1);
  });

  it.each([
    ['another part', { amountToCapture: 1000 }, { amountToCapture: 900 }, 1000, 900, 'captured for $10.00, not $9.00'],
    ['no amount (all of it) after capturing a part', { amountToCapture: 1000 }, {}, 1000, 1299, '$10.00, not $12.99'],
    ['a part after capturing all', {}, { amountToCapture: 1000 }, 1299, 1000, 'captured for $12.99, not $10.00'],
  ])(
    'refuses %s: 409 invalid_state with what was captured',
    async (_, first, again, amountReceived, requested, shown) => {
      // Prepare
      const payment = await authorized();
      await cashier.capture(payment.id, first);

      // Act
      const response = await cashier.capture(payment.id, again);

      // Assess
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({
        code: 'invalid_state',
        retryable: false,
        details: { status: 'succeeded', amountReceived, requested },
      });
      expect(response.body.error.message).toContain(shown);
      expect(await capturesRun(payment.id)).toHaveLength(1);
      expect((await stripe().paymentIntents.retrieve(payment.id)).amount_received).toBe(amountReceived);
    },
  );

  it('answers an automatically captured payment 200 for its amount and 409 for a part of it', async () => {
    // Prepare
    const payment = await authorized('automatic');

    // Act
    const whole = await cashier.capture(payment.id);
    const part = await cashier.capture(payment.id, { amountToCapture: 500 });

    // Assess
    expect(payment.status).toBe('succeeded');
    expect(whole.status).toBe(200);
    expect(part.status).toBe(409);
    expect(part.body.error.details).toEqual({ status: 'succeeded', amountReceived: 1299, requested: 500 });
  });
});

describe('POST /payments/{id}/capture, racing', () => {
  it('lets exactly one of two captures of different amounts capture; the other gets 409 with what was captured', async () => {
    // Prepare
    const payment = await authorized();

    // Act
    const responses = await Promise.all([
      cashier.capture(payment.id, { amountToCapture: 1000 }),
      cashier.capture(payment.id, { amountToCapture: 1299 }),
    ]);

    // Assess
    const received = (await stripe().paymentIntents.retrieve(payment.id)).amount_received;
    const winner = responses.find((response) => response.status === 200);
    const loser = responses.find((response) => response.status === 409);
    expect(responses.map((response) => response.status).sort()).toEqual([200, 409]);
    expect(winner?.body.payment).toMatchObject({ status: 'succeeded', amountReceived: received });
    expect(loser?.body.error).toMatchObject({
      code: 'invalid_state',
      details: { status: 'succeeded', amountReceived: received, requested: received === 1000 ? 1299 : 1000 },
    });
    expect(await capturesRun(payment.id)).toHaveLength(1);
  });
});

describe('POST /payments/{id}/capture of a payment captured elsewhere', () => {
  it.each([
    ['for the amount asked: 200 with the captured payment', 1299, 200],
    ['for another amount: 409 with what was captured', 1000, 409],
  ])('reads Stripe’s refusal of a second capture as captured, %s', async (_, capturedElsewhere, status) => {
    // Prepare: captured at Stripe (another system, the dashboard) while the record still says requires_capture
    const payment = await authorized();
    await stripe().paymentIntents.capture(payment.id, { amount_to_capture: capturedElsewhere });

    // Act
    const response = await cashier.capture(payment.id);

    // Assess
    expect(response.status).toBe(status);
    if (status === 200) {
      expect(response.body.payment).toMatchObject({ status: 'succeeded', amountReceived: capturedElsewhere });
    } else {
      expect(response.body.error.details).toEqual({
        status: 'succeeded',
        amountReceived: capturedElsewhere,
        requested: 1299,
      });
    }
    expect((await cashier.get(payment.id)).body.payment).toMatchObject({
      status: 'succeeded',
      amountReceived: capturedElsewhere,
    });
  });
});

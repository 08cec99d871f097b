import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as getTipping from '../../../functions/locations/get-tipping.ts';
import * as putTipping from '../../../functions/locations/put-tipping.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { apiEvent, claimsFor, idleReader, invoke, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, eventually, newOrderId } from './client.ts';

let parts: LocalParts;
let stripe: Stripe;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let cashierA: ApiClient;

beforeAll(async () => {
  parts = await startLocalParts();
  stripe = createStripeClient('sk_test_integration', parts.emulator.url);
  storeA = parts.locations[0]!;
  storeB = parts.locations[1]!;
  cashierA = apiClient(claimsFor([storeA.id]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  for (const reader of storeA.readers) await idleReader(parts.emulator, reader);
});

/** PUT /locations/{id}/tipping as a caller of `locations`. */
const put = (locationId: string, body: unknown, locations: readonly string[] | '*' = [storeA.id]) =>
  invoke(
    putTipping,
    apiEvent({
      method: 'PUT',
      route: '/locations/{id}/tipping',
      params: { id: locationId },
      body,
      claims: claimsFor(locations),
    }),
  );

/** GET /locations/{id}/tipping as a caller of `locations`. */
const get = (locationId: string, locations: readonly string[] | '*' = [storeA.id]) =>
  invoke(
    getTipping,
    apiEvent({
      method: 'GET',
      route: '/locations/{id}/tipping',
      params: { id: locationId },
      claims: claimsFor(locations),
    }),
  );

/** A new location of its own for a test, as the Dashboard would add one. */
async function newLocation(): Promise<string> {
  const location = await stripe.terminal.locations.create({
    display_name: 'Pop-up',
    address: { line1: '1 Market St', city: 'San Francisco', postal_code: '94105', state: 'CA', country: 'US' },
  });
  return location.id;
}

const stripeWrites = async () =>
  (await emulatorRequests(parts.emulator.url)).filter((r) => r.method === 'POST' && r.path.includes('/terminal/'))
    .length;

describe('PUT and GET /locations/{id}/tipping', () => {
  it('shows no tipping of its own for a location without a configuration', async () => {
    // Prepare
    const locationId = await newLocation();

    // Act
    const response = await get(locationId, [locationId]);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.tipping).toEqual({ locationId, configurationId: null, settings: [] });
  });

  it('creates the location’s configuration the first time, then updates it; GET reflects each', async () => {
    // Prepare
    const locationId = await newLocation();
    const caller = [locationId];

    // Act
    const created = await put(
      locationId,
      { currency: 'usd', percentages: [10, 15, 20], fixedAmounts: [100, 200, 300], smartTipThreshold: 1000 },
      caller,
    );
    const afterCreate = await get(locationId, caller);
    const updated = await put(
      locationId,
      { currency: 'usd', percentages: [18, 20, 25], fixedAmounts: [150, 250, 350], smartTipThreshold: 1500 },
      caller,
    );
    const afterUpdate = await get(locationId, caller);
    const location = await stripe.terminal.locations.retrieve(locationId);

    // Assess
    expect(created.status).toBe(200);
    const configurationId = created.body.tipping.configurationId;
    expect(configurationId).toMatch(/^tmc_/);
    expect(created.body.tipping).toEqual({
      locationId,
      configurationId,
      settings: [
        { currency: 'usd', percentages: [10, 15, 20], fixedAmounts: [100, 200, 300], smartTipThreshold: 1000 },
      ],
    });
    expect(afterCreate.body.tipping).toEqual(created.body.tipping);
    expect(updated.status).toBe(200);
    expect(updated.body.tipping).toEqual({
      locationId,
      configurationId,
      settings: [
        { currency: 'usd', percentages: [18, 20, 25], fixedAmounts: [150, 250, 350], smartTipThreshold: 1500 },
      ],
    });
    expect(afterUpdate.body.tipping).toEqual(updated.body.tipping);
    expect('deleted' in location ? undefined : location.configuration_overrides).toBe(configurationId);
  });

  it('keeps the other currencies when one is set', async () => {
    // Prepare
    const locationId = await newLocation();
    await put(locationId, { currency: 'usd', percentages: [10, 15, 20] }, [locationId]);

    // Act
    const response = await put(locationId, { currency: 'cad', percentages: [12, 15, 18] }, [locationId]);
    const read = await get(locationId, [locationId]);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.tipping.settings).toEqual([
      { currency: 'cad', percentages: [12, 15, 18], fixedAmounts: [], smartTipThreshold: null },
      { currency: 'usd', percentages: [10, 15, 20], fixedAmounts: [], smartTipThreshold: null },
    ]);
    expect(read.body.tipping).toEqual(response.body.tipping);
  });

  it('refuses a currency setting other fields than the location’s other currencies: 400 naming them', async () => {
    // Prepare
    const locationId = await newLocation();
    await put(locationId, { currency: 'usd', percentages: [10, 15, 20] }, [locationId]);
    const writesBefore = await stripeWrites();

    // Act
    const response = await put(locationId, { currency: 'eur', fixedAmounts: [100, 200] }, [locationId]);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_error');
    expect(response.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
      'fixedAmounts',
      'percentages',
    ]);
    expect(await stripeWrites()).toBe(writesBefore);
  });

  it('creates one configuration for racing first requests, and keeps each request’s currency', async () => {
    // Prepare
    const locationId = await newLocation();

    // Act
    const [usd, eur] = await Promise.all([
      put(locationId, { currency: 'usd', percentages: [10, 15, 20] }, [locationId]),
      put(locationId, { currency: 'eur', percentages: [5, 10, 15] }, [locationId]),
    ]);
    const read = await get(locationId, [locationId]);

    // Assess
    expect(usd.status).toBe(200);
    expect(eur.status).toBe(200);
    expect(usd.body.tipping.configurationId).toBe(eur.body.tipping.configurationId);
    expect(read.body.tipping.settings.map((s: { currency: string }) => s.currency)).toEqual(['eur', 'usd']);
  });

  it.each([
    ['a percentage over 100', { percentages: [10, 101] }, 'percentages.1'],
    ['a percentage of 0', { percentages: [0, 10] }, 'percentages.0'],
    ['a fractional percentage', { percentages: [12.5] }, 'percentages.0'],
    ['more than 3 percentages', { percentages: [5, 10, 15, 20] }, 'percentages'],
    ['more than 3 fixed amounts', { fixedAmounts: [100, 200, 300, 400] }, 'fixedAmounts'],
    ['a repeated percentage', { percentages: [10, 10] }, 'percentages'],
    ['a fixed amount of 0', { fixedAmounts: [0, 100] }, 'fixedAmounts.0'],
    ['a negative smart tip threshold', { percentages: [10], smartTipThreshold: -1 }, 'smartTipThreshold'],
    ['neither percentages nor fixed amounts', { smartTipThreshold: 1000 }, 'percentages'],
    ['a currency Terminal does not offer', { currency: 'xyz', percentages: [10] }, 'currency'],
  ])('refuses %s: 400 naming the field, nothing written at Stripe', async (_, change, field) => {
    // Prepare
    const writesBefore = await stripeWrites();

    // Act
    const response = await put(storeA.id, { currency: 'usd', ...change });

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_error');
    expect(response.body.error.details).toEqual(expect.arrayContaining([{ field, message: expect.any(String) }]));
    expect(await stripeWrites()).toBe(writesBefore);
  });

  it('refuses another location: 403 forbidden for GET and PUT, and changes nothing', async () => {
    // Prepare
    const writesBefore = await stripeWrites();

    // Act
    const putting = await put(storeB.id, { currency: 'usd', percentages: [10, 15, 20] });
    const getting = await get(storeB.id);
    const location = await stripe.terminal.locations.retrieve(storeB.id);

    // Assess
    expect(putting.status).toBe(403);
    expect(putting.body.error.code).toBe('forbidden');
    expect(getting.status).toBe(403);
    expect(getting.body.error.code).toBe('forbidden');
    expect(await stripeWrites()).toBe(writesBefore);
    expect('deleted' in location ? undefined : location.configuration_overrides).toBeUndefined();
  });

  it('answers a location Stripe does not have: 404 location_not_found', async () => {
    // Act
    const putting = await put('tml_doesnotexist', { currency: 'usd', percentages: [10] }, '*');
    const getting = await get('tml_doesnotexist', '*');

    // Assess
    expect(putting.status).toBe(404);
    expect(putting.body.error).toMatchObject({ code: 'location_not_found', retryable: false });
    expect(getting.status).toBe(404);
    expect(getting.body.error).toMatchObject({ code: 'location_not_found', retryable: false });
  });

  it('has the location’s readers offer the tip: a payment there carries the tip chosen at Stripe', async () => {
    // Prepare
    const readerId = storeA.readers[0]!;
    const tipping = await put(storeA.id, { currency: 'usd', percentages: [10, 15, 20] });
    expect(tipping.status).toBe(200);
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 2000,
      currency: 'usd',
      captureMethod: 'manual',
      readerId,
    });
    expect(created.status).toBe(201);
    const paymentId: string = created.body.payment.id;

    // Act
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, { amount_tip: 300 });
    const paid = await eventually(
      () => stripe.paymentIntents.retrieve(paymentId),
      (intent) => intent.status !== 'requires_payment_method',
    );

    // Assess
    expect(paid.status).toBe('requires_capture');
    expect(paid.amount).toBe(2300);
    expect(paid.amount_capturable).toBe(2300);
    expect(paid.amount_details?.tip?.amount).toBe(300);
  });
});

/**
 * Another location's payments and readers, reached by id, are not found: the same 404 body as an unknown id, so
 * an answer never tells a caller that an id exists. A location the caller names itself (`locationId`) that is not
 * among its locations stays 403 `forbidden`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claimsFor, type InvokeResult, idleReader, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let cashierA: ApiClient;
let cashierB: ApiClient;

beforeAll(async () => {
  parts = await startLocalParts();
  [storeA, storeB] = parts.locations as [typeof storeA, typeof storeB];
  cashierA = apiClient(claimsFor([storeA.id]));
  cashierB = apiClient(claimsFor([storeB.id]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  for (const reader of [...storeA.readers, ...storeB.readers]) await idleReader(parts.emulator, reader);
});

const createOn = async (client: ApiClient, locationId: string) =>
  (await client.create({ orderId: newOrderId(), locationId, amount: 2500, currency: 'usd' })).body.payment;

/** Stripe writes the API sent (the tests' own reader resets aside). */
const stripeWrites = async () =>
  (await emulatorRequests(parts.emulator.url)).filter(
    (r) => r.method === 'POST' && !r.idempotencyKey?.startsWith('test:'),
  ).length;

/** The error body without its request id, which differs for every request. */
const errorOf = (response: InvokeResult) => {
  const { requestId: _requestId, ...error } = response.body.error;
  return error;
};

describe('another location’s payment, reached by id', () => {
  const routes: [string, (client: ApiClient, id: string) => Promise<InvokeResult>][] = [
    ['GET /payments/{id}', (client, id) => client.get(id)],
    ['GET /payments/{id}?refresh=true', (client, id) => client.get(id, { refresh: 'true' })],
    ['POST /payments/{id}/capture', (client, id) => client.capture(id, { amountToCapture: 1000 })],
    ['POST /payments/{id}/cancel', (client, id) => client.cancel(id)],
    ['PATCH /payments/{id}', (client, id) => client.update(id, { amount: 3000 })],
    ['POST /payments/{id}/process', (client, id) => client.process(id, { readerId: storeA.readers[0] })],
    [
      'POST /readers/{id}/cancel-action naming it',
      (client, id) => client.cancelAction(storeA.readers[0]!, { paymentId: id }),
    ],
  ];

  it.each(routes)('%s: 404 payment_not_found, as for an unknown id, and nothing changes', async (_, call) => {
    // Prepare
    const payment = await createOn(cashierB, storeB.id);
    const writesBefore = await stripeWrites();

    // Act
    const otherLocation = await call(cashierA, payment.id);
    const unknown = await call(cashierA, 'pi_doesnotexist');

    // Assess
    expect(otherLocation.status).toBe(404);
    expect(errorOf(otherLocation)).toEqual({
      code: 'payment_not_found',
      message: 'No payment with this id.',
      retryable: false,
    });
    expect(errorOf(otherLocation)).toEqual(errorOf(unknown));
    expect(JSON.stringify(otherLocation.body)).not.toContain(payment.id);
    expect(await stripeWrites()).toBe(writesBefore);
    expect((await cashierB.get(payment.id)).body.payment).toMatchObject({
      status: 'requires_payment_method',
      amount: 2500,
      attempts: 0,
    });
  });
});

describe('another location’s reader, reached by id', () => {
  const routes: [string, (client: ApiClient, readerId: string) => Promise<InvokeResult>][] = [
    ['GET /readers/{id}', (client, readerId) => client.getReader(readerId)],
    ['POST /readers/{id}/cancel-action', (client, readerId) => client.cancelAction(readerId)],
    [
      'POST /payments/{id}/process on it',
      async (client, readerId) => client.process((await createOn(client, storeA.id)).id, { readerId }),
    ],
    [
      'POST /payments with it as readerId',
      (client, readerId) =>
        client.create({ orderId: newOrderId(), locationId: storeA.id, amount: 2500, currency: 'usd', readerId }),
    ],
  ];

  it.each(routes)('%s: 404 reader_not_found, as for an unknown id', async (_, call) => {
    // Act
    const otherLocation = await call(cashierA, storeB.readers[0]!);
    const unknown = await call(cashierA, 'tmr_doesnotexist');

    // Assess
    expect(otherLocation.status).toBe(404);
    expect(errorOf(otherLocation)).toEqual({
      code: 'reader_not_found',
      message: 'No reader with this id.',
      retryable: false,
    });
    expect(errorOf(otherLocation)).toEqual(errorOf(unknown));
    expect(otherLocation.body.payment).toBeUndefined();
  });
});

describe('a location the caller names', () => {
  it.each<[string, (client: ApiClient, locationId: string) => Promise<InvokeResult>]>([
    [
      'POST /payments',
      (client, locationId) => client.create({ orderId: newOrderId(), locationId, amount: 2500, currency: 'usd' }),
    ],
    ['GET /payments?locationId=', (client, locationId) => client.list({ locationId })],
    ['GET /readers?locationId=', (client, locationId) => client.listReaders({ locationId })],
  ])('%s of another location: 403 forbidden', async (_, call) => {
    // Act
    const response = await call(cashierA, storeB.id);

    // Assess
    expect(response.status).toBe(403);
    expect(errorOf(response)).toEqual({
      code: 'forbidden',
      message: 'You are not allowed to act for this location.',
      retryable: false,
    });
  });
});

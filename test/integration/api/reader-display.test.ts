import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as display from '../../../functions/readers/display.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import {
  apiEvent,
  claimsFor,
  emulatorControl,
  idleReader,
  invoke,
  type LocalParts,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId } from './client.ts';

let parts: LocalParts;
let stripe: Stripe;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let readerA1: string;
let readerA2: string;
let cashierA: ApiClient;

beforeAll(async () => {
  parts = await startLocalParts();
  stripe = createStripeClient('sk_test_integration', parts.emulator.url);
  storeA = parts.locations[0]!;
  storeB = parts.locations[1]!;
  [readerA1, readerA2] = storeA.readers as [string, string];
  cashierA = apiClient(claimsFor([storeA.id]));
});
afterAll(() => parts?.close());
afterEach(async () => {
  // Each test starts with idle, online readers.
  for (const reader of [...storeA.readers, ...storeB.readers]) await idleReader(parts.emulator, reader);
});

/** POST /readers/{id}/display as a cashier of `locations`. */
const showCart = (readerId: string, body: unknown, locations: string[] = [storeA.id]) =>
  invoke(
    display,
    apiEvent({
      method: 'POST',
      route: '/readers/{id}/display',
      params: { id: readerId },
      body,
      claims: claimsFor(locations),
    }),
  );

/** Two coffees and a croissant, with tax: 2 × 350 + 1 × 425 + 90 = 1215. */
const cart = {
  currency: 'usd',
  lineItems: [
    { description: 'Flat white', amount: 350, quantity: 2 },
    { description: 'Croissant', amount: 425, quantity: 1 },
  ],
  tax: 90,
  total: 1215,
};

const displayRequests = async (readerId: string) =>
  (await emulatorRequests(parts.emulator.url)).filter(
    (r) => r.method === 'POST' && r.path === `/v1/terminal/readers/${readerId}/set_reader_display`,
  );

describe('POST /readers/{id}/display', () => {
  it('shows the cart on the reader: 200 with the reader, its action set_reader_display', async () => {
    // Act
    const response = await showCart(readerA1, { cart });
    const atStripe = await stripe.terminal.readers.retrieve(readerA1);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.reader).toMatchObject({
      id: readerA1,
      locationId: storeA.id,
      action: { type: 'set_reader_display', status: 'succeeded', paymentIntentId: null },
    });
    const shown = 'deleted' in atStripe ? undefined : atStripe.action?.set_reader_display?.cart;
    expect(shown).toEqual({
      currency: 'usd',
      line_items: [
        { description: 'Flat white', amount: 350, quantity: 2 },
        { description: 'Croissant', amount: 425, quantity: 1 },
      ],
      tax: 90,
      total: 1215,
    });
    expect((await displayRequests(readerA1)).at(-1)?.idempotencyKey).toMatch(
      new RegExp(`^display:${readerA1}:[\\w-]+:0$`),
    );
  });

  it('shows a cart without tax, and a second cart replaces the first', async () => {
    // Prepare
    await showCart(readerA1, { cart });
    const next = { currency: 'usd', lineItems: [{ description: 'Bagel', amount: 300, quantity: 3 }], total: 900 };

    // Act
    const response = await showCart(readerA1, { cart: next });
    const atStripe = await stripe.terminal.readers.retrieve(readerA1);

    // Assess
    expect(response.status).toBe(200);
    const shown = 'deleted' in atStripe ? undefined : atStripe.action?.set_reader_display?.cart;
    expect(shown).toMatchObject({ line_items: [{ description: 'Bagel', amount: 300, quantity: 3 }], tax: null });
  });

  it('refuses a total that is not the lines plus tax: 400 naming cart.total with the expected total', async () => {
    // Prepare
    const before = (await displayRequests(readerA1)).length;

    // Act
    const response = await showCart(readerA1, { cart: { ...cart, total: 1200 } });

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_error');
    expect(response.body.error.details).toEqual([
      { field: 'cart.total', message: expect.stringContaining('1215 ($12.15)') },
    ]);
    expect(await displayRequests(readerA1)).toHaveLength(before);
  });

  it.each([
    ['a negative quantity', { quantity: -1 }, 'cart.lineItems.0.quantity'],
    ['a zero quantity', { quantity: 0 }, 'cart.lineItems.0.quantity'],
    ['a fractional quantity', { quantity: 1.5 }, 'cart.lineItems.0.quantity'],
    ['a negative amount', { amount: -100 }, 'cart.lineItems.0.amount'],
    ['an empty description', { description: '' }, 'cart.lineItems.0.description'],
  ])('refuses %s: 400 naming the field, nothing sent to the reader', async (_, change, field) => {
    // Prepare
    const before = (await displayRequests(readerA1)).length;
    const [first, ...rest] = cart.lineItems;

    // Act
    const response = await showCart(readerA1, { cart: { ...cart, lineItems: [{ ...first, ...change }, ...rest] } });

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_error');
    expect(response.body.error.details).toEqual([{ field, message: expect.any(String) }]);
    expect(await displayRequests(readerA1)).toHaveLength(before);
  });

  it.each([
    ['an upper-case currency', { currency: 'USD' }, 'cart.currency'],
    ['a currency Terminal does not offer', { currency: 'xyz' }, 'cart.currency'],
    ['no line items', { lineItems: [], total: 90 }, 'cart.lineItems'],
    [
      'more than 100 line items',
      { lineItems: Array.from({ length: 101 }, () => ({ description: 'Mint', amount: 1, quantity: 1 })), tax: 0 },
      'cart.lineItems',
    ],
    ['a negative tax', { tax: -1 }, 'cart.tax'],
  ])('refuses %s: 400 naming the field', async (_, change, field) => {
    // Act
    const response = await showCart(readerA1, { cart: { ...cart, ...change } });

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual(expect.arrayContaining([{ field, message: expect.any(String) }]));
  });

  it('reports an offline reader: 503 reader_offline, retryable', async () => {
    // Prepare
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/offline`);

    // Act
    const response = await showCart(readerA2, { cart });

    // Assess
    expect(response.status).toBe(503);
    expect(response.body.error).toMatchObject({ code: 'reader_offline', retryable: true });
  });

  it('reports a reader taking a payment: 409 reader_busy with Retry-After, and the payment stays on it', async () => {
    // Prepare
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 1215,
      currency: 'usd',
      readerId: readerA1,
    });
    expect(created.status).toBe(201);

    // Act
    const response = await showCart(readerA1, { cart });
    const reader = (await cashierA.getReader(readerA1)).body.reader;

    // Assess
    expect(response.status).toBe(409);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
    expect(reader.action).toMatchObject({
      type: 'process_payment_intent',
      status: 'in_progress',
      paymentIntentId: created.body.payment.id,
    });
  });

  it('answers another location’s reader as an unknown one: 404 reader_not_found, nothing shown', async () => {
    // Prepare
    const readerB = storeB.readers[0]!;

    // Act
    const otherLocation = await showCart(readerB, { cart });
    const unknown = await showCart('tmr_doesnotexist', { cart });
    const atStripe = await stripe.terminal.readers.retrieve(readerB);

    // Assess
    expect(otherLocation.status).toBe(404);
    expect(otherLocation.body.error).toMatchObject({ code: 'reader_not_found', message: 'No reader with this id.' });
    expect(unknown.body.error).toMatchObject({ code: 'reader_not_found', message: 'No reader with this id.' });
    expect('deleted' in atStripe ? undefined : atStripe.action).toBeNull();
    expect(await displayRequests(readerB)).toHaveLength(0);
  });

  it('treats a timeout after which the reader shows the cart as success, without sending it again', async () => {
    // Prepare
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA1}/next-command`, {
      fault: 'timeout_after_delivery',
    });
    const before = (await displayRequests(readerA1)).length;

    // Act
    const response = await showCart(readerA1, { cart });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.reader.action).toMatchObject({ type: 'set_reader_display', status: 'succeeded' });
    const sent = (await displayRequests(readerA1)).slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.idempotencyKey).toMatch(/:0$/);
  });

  it('sends a timed-out cart again under a new key when the reader does not show it', async () => {
    // Prepare
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA1}/next-command`, { fault: 'timeout' });
    const before = (await displayRequests(readerA1)).length;

    // Act
    const response = await showCart(readerA1, { cart });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.reader.action).toMatchObject({ type: 'set_reader_display', status: 'succeeded' });
    const keys = (await displayRequests(readerA1)).slice(before).map((r) => r.idempotencyKey);
    expect(keys).toHaveLength(2);
    expect(keys[0]?.replace(/:0$/, ':1')).toBe(keys[1]);
  });
});

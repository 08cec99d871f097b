import type Stripe from 'stripe';
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
} from './support.ts';

describe('PaymentIntents', () => {
  let emulator: Emulator;
  let stripe: Stripe;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => control(emulator, '/reset'));

  async function authorized(overrides: Partial<Stripe.PaymentIntentCreateParams> = {}): Promise<Stripe.PaymentIntent> {
    const paymentIntent = await terminalPaymentIntent(stripe, overrides);
    const reader = firstReader(emulator);
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    await settledReader(stripe, reader);
    return stripe.paymentIntents.retrieve(paymentIntent.id);
  }

  it('creates a card_present PaymentIntent with every field Stripe sends', async () => {
    // Act
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 1500,
      currency: 'USD',
      allowed_payment_method_types: ['card_present'],
      capture_method: 'manual',
      description: 'Order 42',
      metadata: { order: '42' },
    });

    // Assess
    expect(paymentIntent).toMatchObject({
      object: 'payment_intent',
      amount: 1500,
      currency: 'usd',
      status: 'requires_payment_method',
      capture_method: 'manual',
      allowed_payment_method_types: ['card_present'],
      payment_method_types: ['card_present'],
      amount_capturable: 0,
      amount_received: 0,
      latest_charge: null,
      last_payment_error: null,
      description: 'Order 42',
      metadata: { order: '42' },
      livemode: false,
    });
    expect(paymentIntent.id).toMatch(/^pi_/);
    expect(paymentIntent.client_secret).toMatch(new RegExp(`^${paymentIntent.id}_secret_`));
  });

  it('defaults capture_method to automatic_async', async () => {
    // Act
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      allowed_payment_method_types: ['card_present'],
    });

    // Assess
    expect(paymentIntent.capture_method).toBe('automatic_async');
  });

  it('accepts the older payment_method_types parameter as an alias', async () => {
    // Act
    const response = await rawApi(
      emulator,
      'POST',
      '/v1/payment_intents',
      'amount=1000&currency=usd&payment_method_types[0]=card_present&payment_method_types[1]=interac_present',
    );

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.payment_method_types).toEqual(['card_present', 'interac_present']);
    expect(response.body.allowed_payment_method_types).toEqual(['card_present', 'interac_present']);
  });

  it.each([
    [49, 'usd'],
    [1, 'usd'],
    [29, 'gbp'],
  ])('rejects amount %i %s as amount_too_small', async (amount, currency) => {
    // Act
    const error = await stripeError(
      stripe.paymentIntents.create({ amount, currency, allowed_payment_method_types: ['card_present'] }),
    );

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('amount_too_small');
    expect(error.param).toBe('amount');
    expect(error.raw).toMatchObject({
      type: 'invalid_request_error',
      doc_url: expect.stringContaining('amount-too-small'),
    });
  });

  it('rejects interac_present with manual capture', async () => {
    // Act
    const error = await stripeError(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: 'cad',
        allowed_payment_method_types: ['interac_present'],
        capture_method: 'manual',
      }),
    );

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe('capture_method');
  });

  it('retrieves with expand[]=latest_charge giving the charge and its card details', async () => {
    // Prepare
    const paymentIntent = await authorized();

    // Act
    const expanded = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });

    // Assess
    const charge = expanded.latest_charge as Stripe.Charge;
    expect(charge.object).toBe('charge');
    expect(charge.payment_intent).toBe(paymentIntent.id);
    expect(charge.payment_method_details?.card_present).toMatchObject({ brand: 'visa', last4: '4242' });
    expect(charge.payment_method_details?.card_present?.capture_before).toBeGreaterThan(Date.now() / 1000);
  });

  it('answers 404 resource_missing for an unknown PaymentIntent', async () => {
    // Act
    const error = await stripeError(stripe.paymentIntents.retrieve('pi_missing'));

    // Assess
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('resource_missing');
    expect(error.message).toBe("No such payment_intent: 'pi_missing'");
  });

  it('rejects an unknown expansion', async () => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe);

    // Act
    const error = await stripeError(stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['nonsense'] }));

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.message).toBe('This property cannot be expanded (nonsense).');
  });

  it('updates amount, metadata and description before payment', async () => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe, { metadata: { keep: 'yes', drop: 'x' } });

    // Act
    const updated = await stripe.paymentIntents.update(paymentIntent.id, {
      amount: 2500,
      description: 'Updated',
      metadata: { drop: '', added: 'new' },
    });

    // Assess
    expect(updated).toMatchObject({ amount: 2500, description: 'Updated', metadata: { keep: 'yes', added: 'new' } });
    expect(updated.metadata).not.toHaveProperty('drop');
  });

  it.each([
    ['metadata', { metadata: { retry: '1' } }],
    ['amount', { amount: 1200 }],
  ])('clears last_payment_error on any update (%s)', async (_field, update) => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe);
    const reader = firstReader(emulator);
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, {
      card_present: { number: '4000000000000002' },
    });
    await settledReader(stripe, reader);
    const declined = await stripe.paymentIntents.retrieve(paymentIntent.id);

    // Act
    const updated = await stripe.paymentIntents.update(paymentIntent.id, update);

    // Assess
    expect(declined.last_payment_error?.code).toBe('card_declined');
    expect(updated.last_payment_error).toBeNull();
    expect((await stripe.paymentIntents.retrieve(paymentIntent.id)).last_payment_error).toBeNull();
  });

  it('refuses to change the amount of an authorized PaymentIntent', async () => {
    // Prepare
    const paymentIntent = await authorized();

    // Act
    const error = await stripeError(stripe.paymentIntents.update(paymentIntent.id, { amount: 2000 }));

    // Assess
    expect(error.code).toBe('payment_intent_unexpected_state');
  });

  it('lists newest first with limit, starting_after and created filters', async () => {
    // Prepare
    const first = await terminalPaymentIntent(stripe);
    const second = await terminalPaymentIntent(stripe);
    const third = await terminalPaymentIntent(stripe);

    // Act
    const page = await stripe.paymentIntents.list({ limit: 2 });
    const next = await stripe.paymentIntents.list({ limit: 2, starting_after: second.id });
    const none = await stripe.paymentIntents.list({ created: { gt: third.created + 10 } });

    // Assess
    expect(page.data.map((pi) => pi.id)).toEqual([third.id, second.id]);
    expect(page.has_more).toBe(true);
    expect(page.url).toBe('/v1/payment_intents');
    expect(next.data.map((pi) => pi.id)).toEqual([first.id]);
    expect(next.has_more).toBe(false);
    expect(none.data).toEqual([]);
  });

  it('captures an authorization in full', async () => {
    // Prepare
    const paymentIntent = await authorized();

    // Act
    const captured = await stripe.paymentIntents.capture(paymentIntent.id);

    // Assess
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1000, amount_capturable: 0 });
    const charge = await stripe.charges.retrieve(String(captured.latest_charge));
    expect(charge).toMatchObject({ captured: true, amount_captured: 1000 });
  });

  it('captures part of an authorization with amount_to_capture', async () => {
    // Prepare
    const paymentIntent = await authorized();

    // Act
    const captured = await stripe.paymentIntents.capture(paymentIntent.id, { amount_to_capture: 600 });

    // Assess
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 600 });
    const charge = await stripe.charges.retrieve(String(captured.latest_charge));
    expect(charge).toMatchObject({ captured: true, amount_captured: 600, amount_refunded: 400 });
  });

  it('refuses to capture more than is capturable', async () => {
    // Prepare
    const paymentIntent = await authorized();

    // Act
    const error = await stripeError(stripe.paymentIntents.capture(paymentIntent.id, { amount_to_capture: 1001 }));

    // Assess
    expect(error.code).toBe('amount_too_large');
    expect(error.param).toBe('amount_to_capture');
  });

  it('refuses to capture a PaymentIntent that is not requires_capture, with Stripe message', async () => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe);

    // Act
    const error = await stripeError(stripe.paymentIntents.capture(paymentIntent.id));

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('payment_intent_unexpected_state');
    expect(error.message).toBe(
      'This PaymentIntent could not be captured because it has a status of requires_payment_method. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.',
    );
  });

  it.each(['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer'] as const)(
    'cancels with cancellation_reason %s',
    async (reason) => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);

      // Act
      const canceled = await stripe.paymentIntents.cancel(paymentIntent.id, { cancellation_reason: reason });

      // Assess
      expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: reason });
      expect(canceled.canceled_at).toEqual(expect.any(Number));
    },
  );

  it('cancelling an authorization releases the hold', async () => {
    // Prepare
    const paymentIntent = await authorized();

    // Act
    const canceled = await stripe.paymentIntents.cancel(paymentIntent.id);

    // Assess
    expect(canceled).toMatchObject({ status: 'canceled', amount_capturable: 0 });
    const charge = await stripe.charges.retrieve(String(canceled.latest_charge));
    expect(charge).toMatchObject({ captured: false, refunded: true, amount_refunded: 1000 });
  });

  it('refuses to cancel a succeeded PaymentIntent', async () => {
    // Prepare
    const paymentIntent = await authorized({ capture_method: 'automatic' });

    // Act
    const error = await stripeError(stripe.paymentIntents.cancel(paymentIntent.id));

    // Assess
    expect(paymentIntent.status).toBe('succeeded');
    expect(error.code).toBe('payment_intent_unexpected_state');
    expect(error.message).toContain('it has a status of succeeded');
  });

  it('retrieves a charge and answers 404 for an unknown one', async () => {
    // Prepare
    const paymentIntent = await authorized();

    // Act
    const charge = await stripe.charges.retrieve(String(paymentIntent.latest_charge), { expand: ['payment_intent'] });
    const error = await stripeError(stripe.charges.retrieve('ch_missing'));

    // Assess
    expect((charge.payment_intent as Stripe.PaymentIntent).id).toBe(paymentIntent.id);
    expect(charge).toMatchObject({ status: 'succeeded', paid: true, captured: false });
    expect(error.code).toBe('resource_missing');
  });
});

describe('payment_method_options[card_present][capture_method]: card held for capture, Interac captured at once', () => {
  let emulator: Emulator;
  let stripe: Stripe;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => control(emulator, '/reset'));

  /** A cad PaymentIntent for card_present and Interac, automatic at the top and manual for card_present. */
  function canadian(captureMethod: 'manual' | 'manual_preferred' = 'manual'): Promise<Stripe.PaymentIntent> {
    return stripe.paymentIntents.create({
      amount: 2500,
      currency: 'cad',
      allowed_payment_method_types: ['card_present', 'interac_present'],
      capture_method: 'automatic',
      payment_method_options: { card_present: { capture_method: captureMethod } },
    });
  }

  async function pay(
    paymentIntent: Stripe.PaymentIntent,
    card: Parameters<Stripe['testHelpers']['terminal']['readers']['presentPaymentMethod']>[1] = {},
  ): Promise<{ paymentIntent: Stripe.PaymentIntent; charge: Stripe.Charge }> {
    const reader = firstReader(emulator);
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, card);
    await settledReader(stripe, reader);
    const after = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });
    return { paymentIntent: after, charge: after.latest_charge as Stripe.Charge };
  }

  it.each(['manual', 'manual_preferred'] as const)(
    'keeps card_present capture_method %s and holds a Visa authorization for capture',
    async (captureMethod) => {
      // Prepare
      const created = await canadian(captureMethod);

      // Act
      const { paymentIntent, charge } = await pay(created, { card_present: { number: '4242424242424242' } });
      const captured = await stripe.paymentIntents.capture(paymentIntent.id);

      // Assess
      expect(created).toMatchObject({
        capture_method: 'automatic',
        payment_method_types: ['card_present', 'interac_present'],
        payment_method_options: { card_present: { capture_method: captureMethod } },
      });
      expect(paymentIntent).toMatchObject({ status: 'requires_capture', amount_capturable: 2500, amount_received: 0 });
      expect(charge).toMatchObject({ captured: false, amount_captured: 0 });
      expect(charge.payment_method_details?.type).toBe('card_present');
      expect(charge.payment_method_details?.card_present?.capture_before).toEqual(expect.any(Number));
      expect(captured).toMatchObject({ status: 'succeeded', amount_received: 2500 });
    },
  );

  it('captures an Interac card at once on the same PaymentIntent', async () => {
    // Prepare
    const created = await canadian();

    // Act
    const { paymentIntent, charge } = await pay(created, {
      type: 'interac_present',
      interac_present: { number: '4506445006931933' },
    });

    // Assess
    expect(paymentIntent).toMatchObject({ status: 'succeeded', amount_received: 2500, amount_capturable: 0 });
    expect(charge).toMatchObject({ captured: true, amount_captured: 2500 });
    expect(charge.payment_method_details?.type).toBe('interac_present');
    const types = (await stripe.events.list()).data.map((event) => event.type);
    expect(types).toContain('payment_intent.succeeded');
    expect(types).not.toContain('payment_intent.amount_capturable_updated');
  });

  it('captures card_present at once without the option when the top-level capture_method is automatic', async () => {
    // Prepare
    const created = await stripe.paymentIntents.create({
      amount: 2500,
      currency: 'cad',
      allowed_payment_method_types: ['card_present', 'interac_present'],
      capture_method: 'automatic',
    });

    // Act
    const { paymentIntent } = await pay(created);

    // Assess
    expect(created.payment_method_options?.card_present).not.toHaveProperty('capture_method');
    expect(paymentIntent.status).toBe('succeeded');
  });

  it('refuses a card_present capture_method other than manual or manual_preferred', async () => {
    // Act
    const response = await rawApi(
      emulator,
      'POST',
      '/v1/payment_intents',
      'amount=1000&currency=cad&allowed_payment_method_types[0]=card_present&payment_method_options[card_present][capture_method]=automatic',
    );

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'payment_method_options[card_present][capture_method]',
    });
  });

  it('sets and unsets the option on update before payment, and refuses it once authorized', async () => {
    // Prepare
    const created = await stripe.paymentIntents.create({
      amount: 2500,
      currency: 'cad',
      allowed_payment_method_types: ['card_present'],
      capture_method: 'automatic',
    });

    // Act
    const set = await stripe.paymentIntents.update(created.id, {
      allowed_payment_method_types: ['card_present', 'interac_present'],
      payment_method_options: { card_present: { capture_method: 'manual_preferred' } },
    });
    const unset = await rawApi(
      emulator,
      'POST',
      `/v1/payment_intents/${created.id}`,
      'payment_method_options[card_present][capture_method]=',
    );
    await stripe.paymentIntents.update(created.id, {
      payment_method_options: { card_present: { capture_method: 'manual' } },
    });
    const { paymentIntent } = await pay(created);
    const late = await stripeError(
      stripe.paymentIntents.update(created.id, {
        payment_method_options: { card_present: { capture_method: 'manual_preferred' } },
      }),
    );

    // Assess
    expect(set.payment_method_options?.card_present?.capture_method).toBe('manual_preferred');
    expect(unset.status).toBe(200);
    expect(unset.body.payment_method_options).toEqual({
      card_present: { request_extended_authorization: false, request_incremental_authorization_support: false },
    });
    expect(paymentIntent.status).toBe('requires_capture');
    expect(late).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
  });
});

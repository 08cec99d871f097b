import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import {
  control,
  FAST,
  firstReader,
  sdk,
  settledReader,
  sleep,
  stripeError,
  terminalPaymentIntent,
  waitFor,
} from './support.ts';

const CART = {
  currency: 'usd',
  line_items: [{ amount: 500, description: 'Tea', quantity: 2 }],
  tax: 80,
  total: 1080,
};

describe('Terminal locations and readers', () => {
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

  describe('locations', () => {
    it('creates, retrieves and lists locations', async () => {
      // Act
      const created = await stripe.terminal.locations.create({
        display_name: 'Back Office',
        address: { line1: '1 Main St', city: 'Toronto', country: 'CA', postal_code: 'M5V 2T6', state: 'ON' },
        metadata: { region: 'east' },
      });
      const retrieved = await stripe.terminal.locations.retrieve(created.id);
      const listed = await stripe.terminal.locations.list();

      // Assess
      expect(created).toMatchObject({
        object: 'terminal.location',
        display_name: 'Back Office',
        address: { city: 'Toronto', country: 'CA', line1: '1 Main St', line2: null },
        metadata: { region: 'east' },
        livemode: false,
      });
      expect(created.id).toMatch(/^tml_/);
      expect(retrieved).toEqual(created);
      expect(listed.data.map((location) => location.id)).toEqual([created.id, emulator.seeded.locations[0]?.id]);
    });

    it('requires display_name and address[country]', async () => {
      // Act
      const noName = await stripeError(stripe.terminal.locations.create({ address: { country: 'US' } }));
      const noCountry = await stripeError(
        stripe.terminal.locations.create({
          display_name: 'X',
          address: { city: 'Y' } as Stripe.Terminal.LocationCreateParams.Address,
        }),
      );

      // Assess
      expect(noName).toMatchObject({ code: 'parameter_missing', param: 'display_name' });
      expect(noCountry).toMatchObject({ code: 'parameter_missing', param: 'address[country]' });
    });

    it('answers 404 for an unknown location', async () => {
      // Act
      const error = await stripeError(stripe.terminal.locations.retrieve('tml_missing'));

      // Assess
      expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });
  });

  describe('readers', () => {
    it('seeds one location with two simulated readers', async () => {
      // Act
      const readers = await stripe.terminal.readers.list({ location: emulator.seeded.locations[0]?.id });

      // Assess
      expect(readers.data).toHaveLength(2);
      for (const seeded of readers.data) {
        expect(seeded).toMatchObject({
          object: 'terminal.reader',
          status: 'online',
          action: null,
          ip_address: '0.0.0.0',
          livemode: false,
          location: emulator.seeded.locations[0]?.id,
        });
        expect(seeded.device_type).toMatch(/^simulated_/);
        expect(seeded.last_seen_at).toBeGreaterThan(Date.now() - 5000);
      }
    });

    it.each([
      ['simulated-wpe', 'simulated_wisepos_e'],
      ['simulated-s700', 'simulated_stripe_s700'],
      ['simulated-s710', 'simulated_stripe_s710'],
    ])('registers a reader with code %s as %s', async (code, deviceType) => {
      // Prepare
      const location = emulator.seeded.locations[0]?.id ?? '';

      // Act
      const created = await stripe.terminal.readers.create({ registration_code: code, label: 'Till', location });

      // Assess
      expect(created).toMatchObject({ device_type: deviceType, label: 'Till', location, status: 'online' });
      expect(created.id).toMatch(/^tmr_/);
      const fetched = (await stripe.terminal.readers.retrieve(created.id)) as Stripe.Terminal.Reader;
      expect(fetched.serial_number).toBe(created.serial_number);
    });

    it('rejects an unknown registration code and a missing location', async () => {
      // Act
      const badCode = await stripeError(stripe.terminal.readers.create({ registration_code: 'puppies-plug' }));
      const badLocation = await stripeError(
        stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: 'tml_nowhere' }),
      );

      // Assess
      expect(badCode).toMatchObject({ statusCode: 400, param: 'registration_code' });
      expect(badLocation).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'location' });
    });

    it('filters the list by status and device_type', async () => {
      // Prepare
      await control(emulator, `/readers/${reader}/offline`);

      // Act
      const offline = await stripe.terminal.readers.list({ status: 'offline' });
      const s700 = await stripe.terminal.readers.list({ device_type: 'simulated_stripe_s700' });

      // Assess
      expect(offline.data.map((r) => r.id)).toEqual([reader]);
      expect(s700.data.map((r) => r.device_type)).toEqual(['simulated_stripe_s700']);
    });

    it('expands the location of a reader', async () => {
      // Act
      const fetched = (await stripe.terminal.readers.retrieve(reader, {
        expand: ['location'],
      })) as Stripe.Terminal.Reader;

      // Assess
      expect((fetched.location as Stripe.Terminal.Location).display_name).toBe('Emulator Store');
    });

    it('updates and deletes a reader', async () => {
      // Prepare
      const created = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe' });

      // Act
      const updated = (await stripe.terminal.readers.update(created.id, {
        label: 'Renamed',
      })) as Stripe.Terminal.Reader;
      const deleted = await stripe.terminal.readers.del(created.id);
      const error = await stripeError(stripe.terminal.readers.retrieve(created.id));

      // Assess
      expect(updated.label).toBe('Renamed');
      expect(deleted).toMatchObject({ id: created.id, deleted: true });
      expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });
  });

  describe('process_payment_intent', () => {
    it('answers at once with the action in_progress, then succeeds after a card is presented (manual capture)', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);

      // Act
      const started = await stripe.terminal.readers.processPaymentIntent(reader, {
        payment_intent: paymentIntent.id,
        process_config: { enable_customer_cancellation: true, skip_tipping: true },
      });
      const presented = await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, {
        card_present: { number: '4242424242424242' },
      });
      const settled = await settledReader(stripe, reader);

      // Assess
      expect(started.action).toEqual({
        type: 'process_payment_intent',
        status: 'in_progress',
        failure_code: null,
        failure_message: null,
        api_error: null,
        process_payment_intent: {
          payment_intent: paymentIntent.id,
          process_config: { enable_customer_cancellation: true, skip_tipping: true },
        },
      });
      expect(presented.action?.status).toBe('in_progress');
      expect(settled.action?.status).toBe('succeeded');
      const authorized = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(authorized).toMatchObject({ status: 'requires_capture', amount_capturable: 1000, amount_received: 0 });
      expect(authorized.latest_charge).toMatch(/^ch_/);
      expect(authorized.payment_method).toMatch(/^pm_/);
    });

    it.each(['automatic', 'automatic_async'] as const)(
      'captures at once with capture_method %s',
      async (captureMethod) => {
        // Prepare
        const paymentIntent = await terminalPaymentIntent(stripe, { capture_method: captureMethod });

        // Act
        await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
        await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
        await settledReader(stripe, reader);

        // Assess
        const paid = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });
        expect(paid).toMatchObject({ status: 'succeeded', amount_received: 1000, amount_capturable: 0 });
        expect(paid.latest_charge).toMatchObject({ captured: true, amount_captured: 1000 });
      },
    );

    it('adds an on-reader tip to the amount where the location has tipping', async () => {
      // Prepare
      const configuration = await stripe.terminal.configurations.create({ tipping: { usd: { percentages: [15] } } });
      const location = emulator.seeded.locations[0]?.id ?? '';
      await stripe.terminal.locations.update(location, { configuration_overrides: configuration.id });
      const paymentIntent = await terminalPaymentIntent(stripe);

      // Act
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, { amount_tip: 200 });
      await settledReader(stripe, reader);

      // Assess
      const tipped = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(tipped).toMatchObject({ amount: 1200, amount_capturable: 1200, amount_details: { tip: { amount: 200 } } });
    });

    it('pays with an Interac card on an interac_present PaymentIntent', async () => {
      // Prepare
      const paymentIntent = await stripe.paymentIntents.create({
        amount: 1000,
        currency: 'cad',
        allowed_payment_method_types: ['interac_present'],
      });

      // Act
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, { type: 'interac_present' });
      await settledReader(stripe, reader);

      // Assess
      const paid = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });
      expect(paid.status).toBe('succeeded');
      expect((paid.latest_charge as Stripe.Charge).payment_method_details).toMatchObject({
        type: 'interac_present',
        interac_present: { brand: 'interac', last4: '1933' },
      });
    });

    it('gives an Interac charge an Interac receipt, whose account_type is a bank account, never credit', async () => {
      // Prepare
      const paymentIntent = await stripe.paymentIntents.create({
        amount: 1000,
        currency: 'cad',
        allowed_payment_method_types: ['interac_present'],
      });

      // Act
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, { type: 'interac_present' });
      await settledReader(stripe, reader);

      // Assess
      const paid = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });
      const receipt = (paid.latest_charge as Stripe.Charge).payment_method_details?.interac_present?.receipt;
      expect(['checking', 'savings', 'unknown']).toContain(receipt?.account_type);
      expect(receipt).toMatchObject({ application_preferred_name: 'Interac', authorization_code: expect.any(String) });
    });

    it.each([
      ['requires_capture', 'authorized'],
      ['succeeded', 'captured'],
      ['canceled', 'canceled'],
    ])('answers intent_invalid_state for a PaymentIntent in %s', async (_status, state) => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      if (state === 'canceled') {
        await stripe.paymentIntents.cancel(paymentIntent.id);
      } else {
        await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
        await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
        await settledReader(stripe, reader);
        if (state === 'captured') await stripe.paymentIntents.capture(paymentIntent.id);
      }

      // Act
      const error = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.raw).toMatchObject({
        type: 'invalid_request_error',
        code: 'intent_invalid_state',
        message: 'Payment intent must be in the requires_payment_method state to be processed by a reader.',
        doc_url: 'https://docs.stripe.com/error-codes#intent-invalid-state',
      });
    });

    it('rejects a PaymentIntent that does not accept card_present', async () => {
      // Prepare
      const paymentIntent = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });

      // Act
      const error = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );

      // Assess
      expect(error).toMatchObject({ statusCode: 400, param: 'payment_intent' });
    });

    it('answers 400 resource_missing for an unknown PaymentIntent and 404 for an unknown reader', async () => {
      // Act
      const noIntent = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: 'pi_gone' }),
      );
      const noReader = await stripeError(
        stripe.terminal.readers.processPaymentIntent('tmr_gone', { payment_intent: 'pi_gone' }),
      );

      // Assess
      expect(noIntent).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'payment_intent' });
      expect(noReader).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });

    it('answers terminal_reader_busy to a second command while an action is in progress', async () => {
      // Prepare
      const first = await terminalPaymentIntent(stripe);
      const second = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: first.id });

      // Act
      const error = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: second.id }),
      );
      const display = await stripeError(
        stripe.terminal.readers.setReaderDisplay(reader, {
          type: 'cart',
          cart: { currency: 'usd', line_items: [{ amount: 500, description: 'Tea', quantity: 1 }], total: 500 },
        }),
      );

      // Assess
      expect(error.raw).toMatchObject({
        code: 'terminal_reader_busy',
        type: 'invalid_request_error',
        message: expect.stringContaining('Reader is currently busy processing another request.'),
      });
      expect(display.code).toBe('terminal_reader_busy');
    });

    it('lets exactly one of two simultaneous commands through; the other is terminal_reader_busy', async () => {
      // Prepare
      await control(emulator, '/config', { readerCommandLatencyMs: 50 });
      const cart = { currency: 'usd', line_items: [{ amount: 500, description: 'Tea', quantity: 1 }], total: 500 };

      // Act
      const outcomes = await Promise.allSettled([
        stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart }),
        stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart }),
      ]);

      // Assess
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason.code).toBe('terminal_reader_busy');
    });

    it('answers 400 to present_payment_method when no action waits for a card', async () => {
      // Act
      const error = await stripeError(stripe.testHelpers.terminal.readers.presentPaymentMethod(reader));

      // Assess
      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
      expect(error.raw).toMatchObject({ type: 'invalid_request_error' });
    });
  });

  describe('cancel_action', () => {
    it('clears an action waiting for a card, without a webhook, leaving the PaymentIntent reusable', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });

      // Act
      const canceled = await stripe.terminal.readers.cancelAction(reader);

      // Assess
      expect(canceled).toMatchObject({ action: null });
      const again = await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      expect(again.action?.status).toBe('in_progress');
      const events = await stripe.events.list({ type: 'terminal.reader.*' });
      expect(events.data).toEqual([]);
    });

    it('answers terminal_reader_busy while an authorization is under way', async () => {
      // Prepare
      await control(emulator, '/config', { authorizationDelayMs: 300 });
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);

      // Act
      const error = await stripeError(stripe.terminal.readers.cancelAction(reader));

      // Assess
      expect(error.code).toBe('terminal_reader_busy');
      const settled = await settledReader(stripe, reader);
      expect(settled.action?.status).toBe('succeeded');
    });
  });

  describe('set_reader_display', () => {
    it('shows a cart and succeeds at once', async () => {
      // Act
      const shown = await stripe.terminal.readers.setReaderDisplay(reader, {
        type: 'cart',
        cart: { currency: 'usd', line_items: [{ amount: 500, description: 'Tea', quantity: 2 }], tax: 80, total: 1080 },
      });

      // Assess
      expect(shown.action).toMatchObject({
        type: 'set_reader_display',
        status: 'succeeded',
        set_reader_display: {
          type: 'cart',
          cart: {
            currency: 'usd',
            line_items: [{ amount: 500, description: 'Tea', quantity: 2 }],
            tax: 80,
            total: 1080,
          },
        },
      });
    });

    it('requires the cart for type=cart', async () => {
      // Act
      const error = await stripeError(stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart' }));

      // Assess
      expect(error).toMatchObject({ code: 'parameter_missing', param: 'cart' });
    });

    it.each([
      [
        'a line item without quantity',
        'cart[line_items][0][description]=Tea&cart[line_items][0][amount]=500',
        'parameter_missing',
        'cart[line_items][0][quantity]',
      ],
      [
        'an unknown line item field',
        'cart[line_items][0][description]=Tea&cart[line_items][0][amount]=500&cart[line_items][0][quantity]=1&cart[line_items][0][sku]=T1',
        'parameter_unknown',
        'cart[line_items][0][sku]',
      ],
      [
        'another type',
        'type=video&cart[line_items][0][description]=Tea&cart[line_items][0][amount]=500&cart[line_items][0][quantity]=1',
        undefined,
        'type',
      ],
    ])('refuses %s', async (_case, lineItems, code, param) => {
      // Act
      const body = lineItems.startsWith('type=') ? lineItems : `type=cart&${lineItems}`;
      const response = await fetch(`${emulator.url}/v1/terminal/readers/${reader}/set_reader_display`, {
        method: 'POST',
        headers: { Authorization: 'Bearer sk_test_emulator', 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `${body}&cart[currency]=usd&cart[total]=500`,
      });

      // Assess
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: Record<string, unknown> };
      expect(error).toMatchObject({ type: 'invalid_request_error', param });
      if (code !== undefined) expect(error.code).toBe(code);
    });

    it('refuses a currency that is not a currency code', async () => {
      // Act
      const error = await stripeError(
        stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart: { ...CART, currency: 'dollars' } }),
      );

      // Assess
      expect(error).toMatchObject({ statusCode: 400, param: 'cart[currency]' });
    });

    it('keeps showing the cart until the next command, and sends no webhook for it', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart: CART });

      // Act
      const showing = (await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader;
      const shownAgain = await stripe.terminal.readers.setReaderDisplay(reader, {
        type: 'cart',
        cart: {
          ...CART,
          line_items: [...CART.line_items, { amount: 300, description: 'Cake', quantity: 1 }],
          total: 1380,
        },
      });
      const paying = await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });

      // Assess
      expect(showing.action).toMatchObject({
        type: 'set_reader_display',
        status: 'succeeded',
        set_reader_display: { cart: CART },
      });
      expect(shownAgain.action?.set_reader_display?.cart?.total).toBe(1380);
      expect(paying.action).toMatchObject({ type: 'process_payment_intent', status: 'in_progress' });
      expect(paying.action?.set_reader_display).toBeUndefined();
      const events = await stripe.events.list({ type: 'terminal.reader.*' });
      expect(events.data).toEqual([]);
    });

    it('answers terminal_reader_offline while the reader is offline, and shows nothing', async () => {
      // Prepare
      await control(emulator, `/readers/${reader}/offline`);

      // Act
      const error = await stripeError(stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart: CART }));

      // Assess
      expect(error.raw).toMatchObject({ type: 'invalid_request_error', code: 'terminal_reader_offline' });
      expect(((await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader).action).toBeNull();
    });

    it.each([
      ['a card is being authorized', true],
      ['the reader waits for a card', false],
    ])('answers terminal_reader_busy while %s, and the payment goes on', async (_case, presented) => {
      // Prepare
      await control(emulator, '/config', { authorizationDelayMs: 200 });
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      if (presented) await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);

      // Act
      const error = await stripeError(stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart: CART }));

      // Assess
      expect(error.raw).toMatchObject({ type: 'invalid_request_error', code: 'terminal_reader_busy' });
      const current = (await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader;
      expect(current.action).toMatchObject({ type: 'process_payment_intent', status: 'in_progress' });
    });
  });

  describe('collect_payment_method and confirm_payment_intent', () => {
    it('collects a card (action_updated), then confirms and authorizes it', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);

      // Act
      const collecting = await stripe.terminal.readers.collectPaymentMethod(reader, {
        payment_intent: paymentIntent.id,
        collect_config: { skip_tipping: true },
      });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, {
        card_present: { number: '5555555555554444' },
      });
      const collected = await waitFor(async () => {
        const pi = await stripe.paymentIntents.retrieve(paymentIntent.id);
        return pi.status === 'requires_confirmation' ? pi : undefined;
      });
      const readerAfterCollect = (await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader;
      const confirming = await stripe.terminal.readers.confirmPaymentIntent(reader, {
        payment_intent: paymentIntent.id,
      });
      const settled = await settledReader(stripe, reader);

      // Assess
      expect(collecting.action).toMatchObject({
        type: 'collect_payment_method',
        status: 'in_progress',
        collect_payment_method: { payment_intent: paymentIntent.id, collect_config: { skip_tipping: true } },
      });
      expect(collected.payment_method).toMatch(/^pm_/);
      expect(readerAfterCollect.action?.collect_payment_method?.payment_method).toMatchObject({
        id: collected.payment_method,
        card_present: { brand: 'mastercard', last4: '4444' },
      });
      expect(confirming.action).toMatchObject({ type: 'confirm_payment_intent', status: 'in_progress' });
      expect(settled.action).toMatchObject({ type: 'confirm_payment_intent', status: 'succeeded' });
      const paid = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(paid.status).toBe('requires_capture');
      const updated = await stripe.events.list({ type: 'terminal.reader.action_updated' });
      expect(updated.data).toHaveLength(1);
    });

    it('confirm before collection is intent_invalid_state', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);

      // Act
      const error = await stripeError(
        stripe.terminal.readers.confirmPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );

      // Assess
      expect(error.code).toBe('intent_invalid_state');
    });

    it('cancel_action after collection puts the PaymentIntent back to requires_payment_method', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.collectPaymentMethod(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      await sleep(60);

      // Act
      await stripe.terminal.readers.cancelAction(reader);

      // Assess
      const reset = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(reset).toMatchObject({ status: 'requires_payment_method', payment_method: null });
    });
  });
});

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

const CART = { currency: 'usd', line_items: [{ amount: 500, description: 'Tea', quantity: 1 }], total: 500 };

describe('Reader faults and emulator controls', () => {
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

  async function retrieveReader(id = reader): Promise<Stripe.Terminal.Reader> {
    return (await stripe.terminal.readers.retrieve(id)) as Stripe.Terminal.Reader;
  }

  describe('offline / online', () => {
    it('an offline reader shows offline and answers every command with terminal_reader_offline', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);

      // Act
      const offline = await control(emulator, `/readers/${reader}/offline`);
      const commands = await Promise.all([
        stripeError(stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id })),
        stripeError(stripe.terminal.readers.collectPaymentMethod(reader, { payment_intent: paymentIntent.id })),
        stripeError(stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart: CART })),
        stripeError(stripe.terminal.readers.cancelAction(reader)),
        stripeError(stripe.testHelpers.terminal.readers.presentPaymentMethod(reader)),
      ]);
      const shown = await retrieveReader();

      // Assess
      expect(offline.status).toBe(200);
      expect(shown.status).toBe('offline');
      for (const error of commands) {
        expect(error.raw).toMatchObject({
          code: 'terminal_reader_offline',
          message: expect.stringContaining('Reader is currently offline'),
          doc_url: 'https://docs.stripe.com/error-codes#terminal-reader-offline',
        });
      }
    });

    it('comes back online and takes commands again', async () => {
      // Prepare
      await control(emulator, `/readers/${reader}/offline`);

      // Act
      await control(emulator, `/readers/${reader}/online`);
      const shown = await stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart: CART });

      // Assess
      expect(shown.status).toBe('online');
    });

    it('answers 404 for an unknown reader', async () => {
      // Act
      const response = await control(emulator, '/readers/tmr_nope/offline');

      // Assess
      expect(response.status).toBe(404);
    });
  });

  describe('next-command', () => {
    it('timeout: the next command fails with terminal_reader_timeout and changes nothing', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await control(emulator, `/readers/${reader}/next-command`, { fault: 'timeout' });

      // Act
      const error = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );
      const retried = await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });

      // Assess
      expect(error.raw).toMatchObject({
        code: 'terminal_reader_timeout',
        message: expect.stringContaining('There was a timeout when sending this command to the reader.'),
      });
      expect(retried.action?.status).toBe('in_progress');
    });

    it('timeout_after_delivery: the reader took the command although the API answered timeout', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await control(emulator, `/readers/${reader}/next-command`, { fault: 'timeout_after_delivery' });

      // Act
      const error = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );
      const shown = await retrieveReader();
      const retry = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );

      // Assess
      expect(error.code).toBe('terminal_reader_timeout');
      expect(shown.action).toMatchObject({ type: 'process_payment_intent', status: 'in_progress' });
      expect(retry.code).toBe('terminal_reader_busy');
    });

    it.each([
      [
        'set_reader_display',
        (s: Stripe, r: string) => s.terminal.readers.setReaderDisplay(r, { type: 'cart', cart: CART }),
      ],
      [
        'collect_payment_method',
        async (s: Stripe, r: string) => {
          const pi = await terminalPaymentIntent(s);
          return s.terminal.readers.collectPaymentMethod(r, { payment_intent: pi.id });
        },
      ],
    ])('applies to %s', async (_name, command) => {
      // Prepare
      await control(emulator, `/readers/${reader}/next-command`, { fault: 'timeout' });

      // Act
      const error = await stripeError(command(stripe, reader));

      // Assess
      expect(error.code).toBe('terminal_reader_timeout');
    });

    it('is not used up by retrieve, cancel_action, the test helper, or a command rejected as busy, offline or intent_invalid_state', async () => {
      // Prepare
      const busyWith = await terminalPaymentIntent(stripe);
      const other = await terminalPaymentIntent(stripe);
      const canceled = await terminalPaymentIntent(stripe);
      await stripe.paymentIntents.cancel(canceled.id);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: busyWith.id });
      await control(emulator, `/readers/${reader}/next-command`, { fault: 'timeout' });

      // Act
      await retrieveReader();
      const busy = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: other.id }),
      );
      await stripe.terminal.readers.cancelAction(reader);
      const invalid = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: canceled.id }),
      );
      await stripeError(stripe.testHelpers.terminal.readers.presentPaymentMethod(reader));
      await control(emulator, `/readers/${reader}/offline`);
      const offline = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: other.id }),
      );
      await control(emulator, `/readers/${reader}/online`);
      const delivered = await stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: other.id }),
      );

      // Assess
      expect([busy.code, invalid.code, offline.code]).toEqual([
        'terminal_reader_busy',
        'intent_invalid_state',
        'terminal_reader_offline',
      ]);
      expect(delivered.code).toBe('terminal_reader_timeout');
    });

    it('rejects an unknown fault', async () => {
      // Act
      const response = await control(emulator, `/readers/${reader}/next-command`, { fault: 'gremlins' });

      // Assess
      expect(response.status).toBe(400);
    });
  });

  describe('next-authorization', () => {
    async function presentWithFault(fault: string): Promise<Stripe.PaymentIntent> {
      const paymentIntent = await terminalPaymentIntent(stripe);
      await control(emulator, `/readers/${reader}/next-authorization`, { fault });
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      return paymentIntent;
    }

    it('connection_error: the action fails with connection_error and the PaymentIntent is unchanged', async () => {
      // Act
      const paymentIntent = await presentWithFault('connection_error');
      const settled = await settledReader(stripe, reader);

      // Assess
      expect(settled.action).toMatchObject({
        status: 'failed',
        failure_code: 'connection_error',
        failure_message: 'Could not connect to Stripe.',
        api_error: null,
      });
      const unchanged = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(unchanged).toMatchObject({ status: 'requires_payment_method', latest_charge: null });
    });

    it('connection_error_after_authorization: the action fails but the PaymentIntent is authorized', async () => {
      // Act
      const paymentIntent = await presentWithFault('connection_error_after_authorization');
      const settled = await settledReader(stripe, reader);

      // Assess
      expect(settled.action).toMatchObject({ status: 'failed', failure_code: 'connection_error', api_error: null });
      const authorized = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(authorized).toMatchObject({ status: 'requires_capture', amount_capturable: 1000 });
    });

    it('disconnect: the action stays in_progress with no webhook until cancel_action clears it', async () => {
      // Act
      const paymentIntent = await presentWithFault('disconnect');
      await sleep(80);
      const stuck = await retrieveReader();
      const busy = await stripeError(stripe.terminal.readers.setReaderDisplay(reader, { type: 'cart', cart: CART }));
      const cleared = await stripe.terminal.readers.cancelAction(reader);

      // Assess
      expect(stuck).toMatchObject({ status: 'online', action: { status: 'in_progress' } });
      expect(busy.code).toBe('terminal_reader_busy');
      expect(cleared).toMatchObject({ action: null });
      const unchanged = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(unchanged).toMatchObject({ status: 'requires_payment_method', latest_charge: null });
      const readerEvents = await stripe.events.list({ type: 'terminal.reader.*' });
      expect(readerEvents.data).toEqual([]);
    });

    it('is used up by one authorization', async () => {
      // Prepare
      await presentWithFault('connection_error');
      await settledReader(stripe, reader);
      const next = await terminalPaymentIntent(stripe);

      // Act
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: next.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      const settled = await settledReader(stripe, reader);

      // Assess
      expect(settled.action?.status).toBe('succeeded');
    });
  });

  describe('customer-cancel', () => {
    it('fails the action with customer_canceled when cancellation was enabled', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, {
        payment_intent: paymentIntent.id,
        process_config: { enable_customer_cancellation: true },
      });

      // Act
      const response = await control(emulator, `/readers/${reader}/customer-cancel`);
      const shown = await retrieveReader();

      // Assess
      expect(response.status).toBe(200);
      expect(shown.action).toMatchObject({
        status: 'failed',
        failure_code: 'customer_canceled',
        failure_message: 'This action could not be completed due to an error on the card reader.',
        api_error: null,
        process_payment_intent: {
          payment_intent: paymentIntent.id,
          process_config: { enable_customer_cancellation: true },
        },
      });
      expect((await stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe('requires_payment_method');
    });

    it('is a 409 when the action was not started with enable_customer_cancellation', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });

      // Act
      const response = await control(emulator, `/readers/${reader}/customer-cancel`);

      // Assess
      expect(response.status).toBe(409);
      expect((await retrieveReader()).action?.status).toBe('in_progress');
    });

    it('is a 409 while the reader is offline', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, {
        payment_intent: paymentIntent.id,
        process_config: { enable_customer_cancellation: true },
      });
      await control(emulator, `/readers/${reader}/offline`);

      // Act
      const response = await control(emulator, `/readers/${reader}/customer-cancel`);

      // Assess
      expect(response.status).toBe(409);
    });

    it('is a 409 once authorization is under way', async () => {
      // Prepare
      await control(emulator, '/config', { authorizationDelayMs: 200 });
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, {
        payment_intent: paymentIntent.id,
        process_config: { enable_customer_cancellation: true },
      });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);

      // Act
      const response = await control(emulator, `/readers/${reader}/customer-cancel`);

      // Assess
      expect(response.status).toBe(409);
      expect((await settledReader(stripe, reader)).action?.status).toBe('succeeded');
    });
  });

  describe('capture window', () => {
    it('an uncaptured authorization expires: canceled with cancellation_reason expired', async () => {
      // Prepare
      await control(emulator, '/config', { captureWindowSeconds: 0.3 });
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      await settledReader(stripe, reader);
      const authorized = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });

      // Act
      const expired = await waitFor(async () => {
        const pi = await stripe.paymentIntents.retrieve(paymentIntent.id);
        return pi.status === 'canceled' ? pi : undefined;
      });
      const capture = await stripeError(stripe.paymentIntents.capture(paymentIntent.id));

      // Assess
      const captureBefore = (authorized.latest_charge as Stripe.Charge).payment_method_details?.card_present
        ?.capture_before;
      expect(captureBefore).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      expect(expired).toMatchObject({ status: 'canceled', cancellation_reason: 'expired', amount_capturable: 0 });
      expect(capture.code).toBe('payment_intent_unexpected_state');
      const events = await stripe.events.list({ type: 'payment_intent.canceled' });
      expect(events.data).toHaveLength(1);
    });

    it('defaults to two days', async () => {
      // Prepare
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      await settledReader(stripe, reader);

      // Act
      const charge = (await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] }))
        .latest_charge as Stripe.Charge;

      // Assess
      const twoDays = Date.now() / 1000 + 2 * 24 * 3600;
      expect(charge.payment_method_details?.card_present?.capture_before).toBeGreaterThan(twoDays - 60);
      expect(charge.payment_method_details?.card_present?.capture_before).toBeLessThanOrEqual(twoDays + 1);
    });
  });

  describe('config and reset', () => {
    it('reads and changes the timing knobs, rejecting unknown ones', async () => {
      // Act
      const changed = await control(emulator, '/config', { authorizationDelayMs: 5, webhookRetries: 1 });
      const read = await control(emulator, '/config', undefined, 'GET');
      const unknown = await control(emulator, '/config', { warpSpeed: 9 });

      // Assess
      expect(changed.body).toMatchObject({ authorizationDelayMs: 5, webhookRetries: 1, webhookRetryBaseMs: 20 });
      expect(read.body).toEqual(changed.body);
      expect(unknown.status).toBe(400);
    });

    it('authorizationDelayMs sets how long an authorization takes', async () => {
      // Prepare
      await control(emulator, '/config', { authorizationDelayMs: 250 });
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      const presentedAt = Date.now();

      // Act
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      await settledReader(stripe, reader);

      // Assess
      expect(Date.now() - presentedAt).toBeGreaterThanOrEqual(240);
    });

    it('reset returns to the start-up state with the same seeded ids', async () => {
      // Prepare
      await terminalPaymentIntent(stripe);
      await stripe.terminal.locations.create({ display_name: 'Extra', address: { country: 'US' } });
      await control(emulator, `/readers/${reader}/offline`);
      await control(emulator, '/config', { authorizationDelayMs: 999 });

      // Act
      const reset = await control(emulator, '/reset');
      const log = await control(emulator, '/requests', undefined, 'GET');

      // Assess
      expect(log.body.data).toEqual([]);
      expect(reset.body.seeded).toEqual(emulator.seeded);
      expect((await stripe.paymentIntents.list()).data).toEqual([]);
      expect((await stripe.terminal.locations.list()).data.map((l) => l.id)).toEqual([
        emulator.seeded.locations[0]?.id,
      ]);
      expect((await retrieveReader()).status).toBe('online');
      expect((await control(emulator, '/config', undefined, 'GET')).body.authorizationDelayMs).toBe(20);
    });
  });

  describe('seeding', () => {
    it('seeds the given locations and readers, with ids stable across restarts', async () => {
      // Prepare
      const seed = {
        locations: [
          {
            displayName: 'Downtown',
            readers: [{ label: 'D1' }, { label: 'D2', registrationCode: 'simulated-s710' as const }],
          },
          { displayName: 'Airport', readers: [{ label: 'A1' }, { label: 'A2' }] },
        ],
      };

      // Act
      const first = await startEmulator({ seed });
      const second = await startEmulator({ seed });
      const client = sdk(first);
      const readers = await client.terminal.readers.list({ location: first.seeded.locations[1]?.id });
      await Promise.all([first.close(), second.close()]);

      // Assess
      expect(first.seeded.locations.map((l) => [l.displayName, l.readers.map((r) => r.label)])).toEqual([
        ['Downtown', ['D1', 'D2']],
        ['Airport', ['A1', 'A2']],
      ]);
      expect(second.seeded).toEqual(first.seeded);
      expect(readers.data.map((r) => r.label).sort()).toEqual(['A1', 'A2']);
    });

    it('seeds nothing with seed: false', async () => {
      // Act
      const empty = await startEmulator({ seed: false });
      const readers = await sdk(empty).terminal.readers.list();
      await empty.close();

      // Assess
      expect(empty.seeded.locations).toEqual([]);
      expect(readers.data).toEqual([]);
    });
  });
});

import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import {
  control,
  FAST,
  firstReader,
  sdk,
  settledReader,
  stripeError,
  terminalPaymentIntent,
  waitFor,
} from './support.ts';

type PresentParams = NonNullable<Parameters<Stripe['testHelpers']['terminal']['readers']['presentPaymentMethod']>[1]>;

const USD_TIPPING = { percentages: [15, 20, 25], fixed_amounts: [100, 200, 300], smart_tip_threshold: 1000 };

describe('Terminal configurations and on-reader tips', () => {
  let emulator: Emulator;
  let stripe: Stripe;
  let reader: string;
  let location: string;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
    reader = firstReader(emulator);
    location = emulator.seeded.locations[0]?.id ?? '';
  });
  afterAll(() => emulator.close());
  beforeEach(() => control(emulator, '/reset'));

  async function accountDefault(): Promise<Stripe.Terminal.Configuration> {
    const found = await stripe.terminal.configurations.list({ is_account_default: true });
    const configuration = found.data[0];
    if (configuration === undefined) throw new Error('no account default configuration');
    return configuration;
  }

  /** Give the seeded location a configuration with `tipping`, so its readers offer tips. */
  async function tipAtLocation(
    tipping: Stripe.Terminal.ConfigurationCreateParams.Tipping = { usd: USD_TIPPING },
  ): Promise<Stripe.Terminal.Configuration> {
    const configuration = await stripe.terminal.configurations.create({ name: 'Tips', tipping });
    await stripe.terminal.locations.update(location, { configuration_overrides: configuration.id });
    return configuration;
  }

  /** Process `paymentIntent` on the reader, present a card with `present`, and wait for the outcome. */
  async function pay(
    paymentIntent: Stripe.PaymentIntent,
    present: PresentParams,
    processConfig?: Stripe.Terminal.ReaderProcessPaymentIntentParams.ProcessConfig,
  ): Promise<{ reader: Stripe.Terminal.Reader; paymentIntent: Stripe.PaymentIntent }> {
    await stripe.terminal.readers.processPaymentIntent(reader, {
      payment_intent: paymentIntent.id,
      ...(processConfig === undefined ? {} : { process_config: processConfig }),
    });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, present);
    const settled = await settledReader(stripe, reader);
    return {
      reader: settled,
      paymentIntent: await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] }),
    };
  }

  describe('terminal.configurations', () => {
    it('provides the account default configuration, found with is_account_default', async () => {
      // Act
      const defaults = await stripe.terminal.configurations.list({ is_account_default: true });
      const others = await stripe.terminal.configurations.list({ is_account_default: false });

      // Assess
      expect(defaults.data).toEqual([
        {
          id: expect.stringMatching(/^tmc_/),
          object: 'terminal.configuration',
          is_account_default: true,
          livemode: false,
          name: null,
        },
      ]);
      expect(others.data).toEqual([]);
    });

    it('creates, retrieves, updates, lists and deletes a configuration with tipping per currency', async () => {
      // Act
      const created = await stripe.terminal.configurations.create({ name: 'Cafe', tipping: { usd: USD_TIPPING } });
      const retrieved = await stripe.terminal.configurations.retrieve(created.id);
      const withCad = await stripe.terminal.configurations.update(created.id, {
        tipping: { cad: { percentages: [10, 12], fixed_amounts: [100], smart_tip_threshold: 500 } },
      });
      const listed = await stripe.terminal.configurations.list({ is_account_default: false });
      const withoutTipping = await stripe.terminal.configurations.update(created.id, { tipping: '', name: 'Bar' });
      const deleted = await stripe.terminal.configurations.del(created.id);
      const gone = await stripeError(stripe.terminal.configurations.retrieve(created.id));

      // Assess
      expect(created).toEqual({
        id: expect.stringMatching(/^tmc_/),
        object: 'terminal.configuration',
        is_account_default: false,
        livemode: false,
        name: 'Cafe',
        tipping: { usd: USD_TIPPING },
      });
      expect(retrieved).toEqual(created);
      expect((withCad as Stripe.Terminal.Configuration).tipping).toEqual({
        usd: USD_TIPPING,
        cad: { percentages: [10, 12], fixed_amounts: [100], smart_tip_threshold: 500 },
      });
      expect(listed.data.map((configuration) => configuration.id)).toEqual([created.id]);
      expect(withoutTipping).toEqual({ ...created, name: 'Bar', tipping: undefined });
      expect('tipping' in withoutTipping).toBe(false);
      expect(deleted).toEqual({ id: created.id, object: 'terminal.configuration', deleted: true });
      expect(gone).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'configuration' });
    });

    it('shows other reader settings as given and removes one given empty', async () => {
      // Act
      const created = await stripe.terminal.configurations.create({
        offline: { enabled: true },
        reboot_window: { start_hour: 2, end_hour: 4 },
        bbpos_wisepos_e: { splashscreen: 'file_123' },
      });
      const updated = await stripe.terminal.configurations.update(created.id, { offline: '' });

      // Assess
      expect(created).toMatchObject({
        offline: { enabled: true },
        reboot_window: { start_hour: 2, end_hour: 4 },
        bbpos_wisepos_e: { splashscreen: 'file_123' },
      });
      expect('offline' in updated).toBe(false);
      expect(updated).toMatchObject({ reboot_window: { start_hour: 2, end_hour: 4 } });
    });

    it.each([
      ['percentages', { usd: { percentages: [5, 10, 15, 20] } }, 'tipping[usd][percentages]'],
      ['fixed_amounts', { usd: { fixed_amounts: [100, 200, 300, 400] } }, 'tipping[usd][fixed_amounts]'],
    ])('refuses more than three %s', async (_key, tipping, param) => {
      // Act
      const error = await stripeError(stripe.terminal.configurations.create({ tipping }));

      // Assess
      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param });
      expect(error.raw).toMatchObject({ type: 'invalid_request_error' });
      const listed = await stripe.terminal.configurations.list({ is_account_default: false });
      expect(listed.data).toEqual([]);
    });

    it.each([
      [
        'a negative percentage',
        'tipping[usd][percentages][0]=-5',
        'parameter_invalid_integer',
        'tipping[usd][percentages][0]',
      ],
      ['an unknown currency', 'tipping[xyz][percentages][0]=5', 'parameter_unknown', 'tipping[xyz]'],
      ['an unknown key', 'tipping[usd][default_percentage]=5', 'parameter_unknown', 'tipping[usd][default_percentage]'],
      ['is_account_default', 'is_account_default=true', 'parameter_unknown', 'is_account_default'],
    ])('refuses %s', async (_case, body, code, param) => {
      // Act
      const response = await fetch(`${emulator.url}/v1/terminal/configurations`, {
        method: 'POST',
        headers: { Authorization: 'Bearer sk_test_emulator', 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
      });

      // Assess
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: unknown }).error).toMatchObject({ code, param });
    });

    it('requires the same tipping keys for every currency, on create and after an update', async () => {
      // Prepare
      const usdOnly = await stripe.terminal.configurations.create({ tipping: { usd: { percentages: [15, 20] } } });

      // Act
      const onCreate = await stripeError(
        stripe.terminal.configurations.create({
          tipping: { usd: { percentages: [15, 20] }, cad: { fixed_amounts: [100] } },
        }),
      );
      const onUpdate = await stripeError(
        stripe.terminal.configurations.update(usdOnly.id, { tipping: { cad: { fixed_amounts: [100] } } }),
      );
      const sameKeys = await stripe.terminal.configurations.update(usdOnly.id, {
        tipping: { cad: { percentages: [10] } },
      });

      // Assess
      expect(onCreate).toMatchObject({ statusCode: 400, param: 'tipping[usd]' });
      expect(onUpdate).toMatchObject({ statusCode: 400, param: 'tipping[cad]' });
      expect((sameKeys as Stripe.Terminal.Configuration).tipping).toEqual({
        usd: { percentages: [15, 20] },
        cad: { percentages: [10] },
      });
    });

    it('updates the account default, and refuses to delete it', async () => {
      // Prepare
      const defaults = await accountDefault();

      // Act
      const updated = await stripe.terminal.configurations.update(defaults.id, { tipping: { usd: USD_TIPPING } });
      const error = await stripeError(stripe.terminal.configurations.del(defaults.id));

      // Assess
      expect(updated).toMatchObject({ id: defaults.id, is_account_default: true, tipping: { usd: USD_TIPPING } });
      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
      expect(await accountDefault()).toMatchObject({ id: defaults.id, tipping: { usd: USD_TIPPING } });
    });

    it('refuses to delete a configuration a location still uses, and deletes it once the location lets go', async () => {
      // Prepare
      const configuration = await tipAtLocation();

      // Act
      const refused = await stripeError(stripe.terminal.configurations.del(configuration.id));
      await stripe.terminal.locations.update(location, { configuration_overrides: '' });
      const deleted = await stripe.terminal.configurations.del(configuration.id);

      // Assess
      expect(refused).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
      expect(refused.message).toContain(location);
      expect(deleted).toMatchObject({ id: configuration.id, deleted: true });
    });
  });

  describe("a location's configuration_overrides", () => {
    it('is set on create and update, shown on retrieve, and removed when given empty', async () => {
      // Prepare
      const first = await stripe.terminal.configurations.create({ tipping: { usd: USD_TIPPING } });
      const second = await stripe.terminal.configurations.create({ tipping: { cad: USD_TIPPING } });

      // Act
      const created = await stripe.terminal.locations.create({
        display_name: 'Patio',
        address: { country: 'US', city: 'Austin' },
        configuration_overrides: first.id,
      });
      const retrieved = await stripe.terminal.locations.retrieve(created.id);
      const moved = await stripe.terminal.locations.update(created.id, {
        configuration_overrides: second.id,
        display_name: 'Terrace',
        address: { line1: '1 Main St' },
        phone: '+15125550100',
        metadata: { area: 'outdoor' },
      });
      const cleared = await stripe.terminal.locations.update(created.id, { configuration_overrides: '' });

      // Assess
      expect(created).toMatchObject({ configuration_overrides: first.id });
      expect(retrieved).toMatchObject({ configuration_overrides: first.id, display_name: 'Patio' });
      expect(moved).toMatchObject({
        configuration_overrides: second.id,
        display_name: 'Terrace',
        address: { country: 'US', city: 'Austin', line1: '1 Main St' },
        phone: '+15125550100',
        metadata: { area: 'outdoor' },
      });
      expect('configuration_overrides' in cleared).toBe(false);
      expect('configuration_overrides' in (await stripe.terminal.locations.retrieve(created.id))).toBe(false);
    });

    it('refuses an unknown configuration and the account default', async () => {
      // Prepare
      const defaults = await accountDefault();

      // Act
      const unknown = await stripeError(
        stripe.terminal.locations.create({
          display_name: 'Patio',
          address: { country: 'US' },
          configuration_overrides: 'tmc_missing',
        }),
      );
      const asDefault = await stripeError(
        stripe.terminal.locations.update(location, { configuration_overrides: defaults.id }),
      );

      // Assess
      expect(unknown).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'configuration_overrides' });
      expect(asDefault).toMatchObject({ statusCode: 400, param: 'configuration_overrides' });
      expect('configuration_overrides' in (await stripe.terminal.locations.retrieve(location))).toBe(false);
    });
  });

  describe('tips chosen on the reader (present_payment_method amount_tip)', () => {
    it('adds the tip to a manual-capture payment: amount, amount_capturable, amount_details.tip and the charge', async () => {
      // Prepare
      await tipAtLocation();

      // Act
      const { paymentIntent } = await pay(await terminalPaymentIntent(stripe), { amount_tip: 200 });

      // Assess
      expect(paymentIntent).toMatchObject({
        status: 'requires_capture',
        amount: 1200,
        amount_capturable: 1200,
        amount_received: 0,
        amount_details: { tip: { amount: 200 } },
      });
      const charge = paymentIntent.latest_charge as Stripe.Charge;
      expect(charge).toMatchObject({
        amount: 1200,
        payment_method_details: { card_present: { amount_authorized: 1200 } },
      });
      const captured = await stripe.paymentIntents.capture(paymentIntent.id);
      expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1200 });
    });

    it.each(['automatic', 'automatic_async'] as const)(
      'adds the tip to an automatically captured payment (%s): amount_received and the charge',
      async (captureMethod) => {
        // Prepare
        await tipAtLocation();
        const created = await terminalPaymentIntent(stripe, { capture_method: captureMethod });

        // Act
        const { paymentIntent } = await pay(created, { amount_tip: 150 });

        // Assess
        expect(paymentIntent).toMatchObject({
          status: 'succeeded',
          amount: 1150,
          amount_received: 1150,
          amount_details: { tip: { amount: 150 } },
        });
        expect(paymentIntent.latest_charge).toMatchObject({ amount: 1150, amount_captured: 1150, captured: true });
      },
    );

    it('tips an Interac payment when the location tips in cad', async () => {
      // Prepare
      await tipAtLocation({ cad: USD_TIPPING });
      const created = await stripe.paymentIntents.create({
        amount: 1000,
        currency: 'cad',
        allowed_payment_method_types: ['interac_present'],
      });

      // Act
      const { paymentIntent } = await pay(created, { type: 'interac_present', amount_tip: 300 });

      // Assess
      expect(paymentIntent).toMatchObject({
        status: 'succeeded',
        amount: 1300,
        amount_details: { tip: { amount: 300 } },
      });
    });

    it.each([
      ['the location and the account have no configuration with tipping', null],
      ['the location tips in another currency only', { cad: USD_TIPPING }],
    ])('ignores the tip when %s', async (_case, tipping) => {
      // Prepare
      if (tipping !== null) await tipAtLocation(tipping);

      // Act
      const { paymentIntent } = await pay(await terminalPaymentIntent(stripe), { amount_tip: 200 });

      // Assess
      expect(paymentIntent).toMatchObject({ amount: 1000, amount_capturable: 1000, amount_details: { tip: {} } });
      expect(paymentIntent.amount_details?.tip?.amount).toBeUndefined();
      expect(paymentIntent.latest_charge).toMatchObject({ amount: 1000 });
    });

    it("uses the account default's tipping for a location without its own, also when its own configuration sets no tipping", async () => {
      // Prepare
      await stripe.terminal.configurations.update((await accountDefault()).id, { tipping: { usd: USD_TIPPING } });
      const first = await pay(await terminalPaymentIntent(stripe), { amount_tip: 100 });
      const offlineOnly = await stripe.terminal.configurations.create({ offline: { enabled: true } });
      await stripe.terminal.locations.update(location, { configuration_overrides: offlineOnly.id });

      // Act
      const second = await pay(await terminalPaymentIntent(stripe), { amount_tip: 300 });

      // Assess
      expect(first.paymentIntent).toMatchObject({ amount: 1100, amount_details: { tip: { amount: 100 } } });
      expect(second.paymentIntent).toMatchObject({ amount: 1300, amount_details: { tip: { amount: 300 } } });
    });

    it('a location with tipping of its own overrides the account default', async () => {
      // Prepare
      await stripe.terminal.configurations.update((await accountDefault()).id, { tipping: { usd: USD_TIPPING } });
      await tipAtLocation({ cad: USD_TIPPING });

      // Act
      const { paymentIntent } = await pay(await terminalPaymentIntent(stripe), { amount_tip: 200 });

      // Assess
      expect(paymentIntent).toMatchObject({ amount: 1000, amount_details: { tip: {} } });
    });

    it.each([
      ['process_config[skip_tipping]=true', { skip_tipping: true }],
      ['process_config[tipping][amount_eligible]=0', { tipping: { amount_eligible: 0 } }],
    ])('%s skips tipping: the tip is ignored, the config recorded on the action', async (_case, processConfig) => {
      // Prepare
      await tipAtLocation();

      // Act
      const { paymentIntent, reader: settled } = await pay(
        await terminalPaymentIntent(stripe),
        { amount_tip: 200 },
        processConfig,
      );

      // Assess
      expect(paymentIntent).toMatchObject({ amount: 1000, amount_capturable: 1000, amount_details: { tip: {} } });
      expect(settled.action?.process_payment_intent?.process_config).toEqual(processConfig);
    });

    it('takes the tip with process_config[tipping][amount_eligible], which the action records', async () => {
      // Prepare
      await tipAtLocation();

      // Act
      const { paymentIntent, reader: settled } = await pay(
        await terminalPaymentIntent(stripe),
        { amount_tip: 75 },
        { tipping: { amount_eligible: 800 } },
      );

      // Assess
      expect(paymentIntent).toMatchObject({ amount: 1075, amount_details: { tip: { amount: 75 } } });
      expect(settled.action?.process_payment_intent?.process_config).toEqual({ tipping: { amount_eligible: 800 } });
    });

    it('records a tip of 0 when the reader offers a tip and the customer chooses none', async () => {
      // Prepare
      await tipAtLocation();

      // Act
      const { paymentIntent } = await pay(await terminalPaymentIntent(stripe), {});

      // Assess
      expect(paymentIntent).toMatchObject({
        amount: 1000,
        amount_capturable: 1000,
        amount_details: { tip: { amount: 0 } },
      });
    });

    it("refuses a tip that takes the amount over Stripe's maximum, and the reader still waits for a card", async () => {
      // Prepare
      await tipAtLocation();
      const paymentIntent = await terminalPaymentIntent(stripe, { amount: 99_999_000 });
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });

      // Act
      const error = await stripeError(
        stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, { amount_tip: 1000 }),
      );

      // Assess
      expect(error).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount_tip' });
      const waiting = await stripe.terminal.readers.retrieve(reader);
      expect((waiting as Stripe.Terminal.Reader).action?.status).toBe('in_progress');
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, { amount_tip: 999 });
      await settledReader(stripe, reader);
      expect(await stripe.paymentIntents.retrieve(paymentIntent.id)).toMatchObject({ amount: 99_999_999 });
    });

    it('adds no tip to a declined payment, which can then be paid with a tip', async () => {
      // Prepare
      await tipAtLocation();
      const created = await terminalPaymentIntent(stripe);

      // Act
      const declined = await pay(created, { amount_tip: 200, card_present: { number: '4000000000000002' } });
      const paid = await pay(created, { amount_tip: 200 });

      // Assess
      expect(declined.paymentIntent).toMatchObject({ status: 'requires_payment_method', amount: 1000 });
      expect(declined.paymentIntent.amount_details?.tip?.amount).toBeUndefined();
      expect(paid.paymentIntent).toMatchObject({ status: 'requires_capture', amount: 1200, amount_capturable: 1200 });
    });

    describe('with collect_payment_method and confirm_payment_intent', () => {
      async function collect(
        amountTip: number,
        collectConfig?: Stripe.Terminal.ReaderCollectPaymentMethodParams.CollectConfig,
      ): Promise<Stripe.PaymentIntent> {
        const paymentIntent = await terminalPaymentIntent(stripe);
        await stripe.terminal.readers.collectPaymentMethod(reader, {
          payment_intent: paymentIntent.id,
          ...(collectConfig === undefined ? {} : { collect_config: collectConfig }),
        });
        await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, { amount_tip: amountTip });
        return waitFor(async () => {
          const collected = await stripe.paymentIntents.retrieve(paymentIntent.id);
          return collected.status === 'requires_confirmation' ? collected : undefined;
        });
      }

      it('adds the tip at collection, once, and authorizes the amount with it', async () => {
        // Prepare
        await tipAtLocation();
        const collected = await collect(250);

        // Act
        await stripe.terminal.readers.confirmPaymentIntent(reader, { payment_intent: collected.id });
        await settledReader(stripe, reader);

        // Assess
        expect(collected).toMatchObject({ amount: 1250, amount_details: { tip: { amount: 250 } } });
        const paid = await stripe.paymentIntents.retrieve(collected.id, { expand: ['latest_charge'] });
        expect(paid).toMatchObject({ status: 'requires_capture', amount: 1250, amount_capturable: 1250 });
        expect(paid.latest_charge).toMatchObject({ amount: 1250 });
      });

      it('honours collect_config[skip_tipping]', async () => {
        // Prepare
        await tipAtLocation();

        // Act
        const collected = await collect(250, { skip_tipping: true });

        // Assess
        expect(collected).toMatchObject({ amount: 1000, amount_details: { tip: {} } });
      });

      it('takes the tip back out when the action is cancelled after collection', async () => {
        // Prepare
        await tipAtLocation();
        const collected = await collect(250);

        // Act
        await stripe.terminal.readers.cancelAction(reader);

        // Assess
        const reusable = await stripe.paymentIntents.retrieve(collected.id);
        expect(reusable).toMatchObject({
          status: 'requires_payment_method',
          amount: 1000,
          amount_details: { tip: {} },
        });
      });
    });
  });
});

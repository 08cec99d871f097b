import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../local/stripe-emulator/index.ts';
import {
  control,
  FAST,
  firstReader,
  type Receiver,
  rawApi,
  sdk,
  settledReader,
  sleep,
  startReceiver,
  stripeError,
  terminalPaymentIntent,
  waitFor,
} from './support.ts';

const CREATE_BODY = 'amount=1000&currency=usd&allowed_payment_method_types[0]=card_present&capture_method=manual';

describe('State kept in a data directory (dataDir)', () => {
  let dataDir: string;
  let running: Emulator | undefined;
  const receivers: Receiver[] = [];

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stripe-emulator-state-'));
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    for (const receiver of receivers.splice(0)) await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(options: EmulatorOptions = {}): Promise<{ emulator: Emulator; stripe: Stripe }> {
    await running?.close();
    running = await startEmulator({ ...FAST, dataDir, ...options });
    return { emulator: running, stripe: sdk(running) };
  }

  async function authorize(stripe: Stripe, reader: string): Promise<Stripe.PaymentIntent> {
    const paymentIntent = await terminalPaymentIntent(stripe);
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    await settledReader(stripe, reader);
    return paymentIntent;
  }

  async function savedPaymentIntents(): Promise<string[]> {
    const saved = JSON.parse(await readFile(join(dataDir, 'state.json'), 'utf8')) as {
      paymentIntents: { id: string }[];
    };
    return saved.paymentIntents.map((paymentIntent) => paymentIntent.id);
  }

  it('a payment authorized before a restart can be read, captured and found in the events after it', async () => {
    // Prepare
    const before = await start();
    const reader = firstReader(before.emulator);
    const paymentIntent = await authorize(before.stripe, reader);
    const chargeId = (await before.stripe.paymentIntents.retrieve(paymentIntent.id)).latest_charge;

    // Act
    const after = await start();
    const read = await after.stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });
    const captured = await after.stripe.paymentIntents.capture(paymentIntent.id);

    // Assess
    expect(read).toMatchObject({ status: 'requires_capture', amount_capturable: 1000 });
    expect((read.latest_charge as Stripe.Charge).id).toBe(chargeId);
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1000 });
    expect(await after.stripe.charges.retrieve(String(chargeId))).toMatchObject({ captured: true });
    const types = (await after.stripe.events.list()).data.map((event) => event.type).reverse();
    expect(types).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'terminal.reader.action_succeeded',
      'charge.captured',
      'payment_intent.succeeded',
    ]);
  });

  it('a refund pending when the emulator stopped settles after the restart', async () => {
    // Prepare
    const before = await start({ refundDelayMs: 60_000 });
    const reader = firstReader(before.emulator);
    const paymentIntent = await authorize(before.stripe, reader);
    await before.stripe.paymentIntents.capture(paymentIntent.id);
    const refund = await before.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 400 });

    // Act
    const after = await start({ refundDelayMs: 1_000 });
    const kept = await after.stripe.refunds.retrieve(refund.id);
    await emulatorControls(after.emulator.url).advanceClock(2);
    const settled = await after.stripe.refunds.retrieve(refund.id);

    // Assess
    expect(kept).toMatchObject({ status: 'pending', amount: 400 });
    expect(settled.status).toBe('succeeded');
    expect(await after.stripe.charges.retrieve(String(paymentIntent.latest_charge ?? settled.charge))).toMatchObject({
      amount_refunded: 400,
    });
  });

  it('keeps the armed refund fault and a refund pending for good across a restart', async () => {
    // Prepare
    const before = await start({ refundDelayMs: 1_000 });
    const reader = firstReader(before.emulator);
    const paymentIntent = await authorize(before.stripe, reader);
    await before.stripe.paymentIntents.capture(paymentIntent.id);
    await emulatorControls(before.emulator.url).nextRefund({ fault: 'pending_forever' });
    const stuck = await before.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 300 });
    await emulatorControls(before.emulator.url).nextRefund({ fault: 'fail', failureReason: 'lost_or_stolen_card' });

    // Act
    const after = await start({ refundDelayMs: 1_000 });
    const failing = await after.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 200 });
    await emulatorControls(after.emulator.url).advanceClock(60);

    // Assess
    expect((await after.stripe.refunds.retrieve(stuck.id)).status).toBe('pending');
    expect(await after.stripe.refunds.retrieve(failing.id)).toMatchObject({
      status: 'failed',
      failure_reason: 'lost_or_stolen_card',
    });
  });

  it('keeps locations, readers with their device state, and webhook endpoints, without seeding twice', async () => {
    // Prepare
    const before = await start();
    const seededReader = firstReader(before.emulator);
    const location = await before.stripe.terminal.locations.create({
      display_name: 'Pop-up',
      address: { country: 'US' },
    });
    const reader = await before.stripe.terminal.readers.create({
      registration_code: 'simulated-s710',
      location: location.id,
      label: 'Till 9',
    });
    await control(before.emulator, `/readers/${seededReader}/offline`);
    const endpoint = await before.stripe.webhookEndpoints.create({
      url: 'http://127.0.0.1:9/hooks',
      enabled_events: ['payment_intent.succeeded'],
    });

    // Act
    const after = await start();
    const locations = await after.stripe.terminal.locations.list();
    const readers = await after.stripe.terminal.readers.list();
    const endpoints = await after.stripe.webhookEndpoints.list();

    // Assess
    expect(after.emulator.seeded).toEqual(before.emulator.seeded);
    expect(locations.data.map((l) => l.id)).toEqual([location.id, after.emulator.seeded.locations[0]?.id]);
    expect(readers.data).toHaveLength(3);
    expect(readers.data.find((r) => r.id === reader.id)).toMatchObject({ label: 'Till 9', location: location.id });
    expect(readers.data.find((r) => r.id === seededReader)?.status).toBe('offline');
    expect(endpoints.data.map((e) => e.id)).toEqual([endpoint.id]);
  });

  it("keeps fleet changes: deletions (seeded ones too), labels and metadata, an offline reader's last_seen_at", async () => {
    // Prepare
    const before = await start();
    const [kept, removed] = before.emulator.seeded.locations[0]?.readers.map((reader) => reader.id) ?? [];
    const popUp = await before.stripe.terminal.locations.create({ display_name: 'Pop-up', address: { country: 'US' } });
    await before.stripe.terminal.locations.update(popUp.id, {
      display_name: 'Pop-up 2',
      metadata: { season: 'summer' },
    });
    const gone = await before.stripe.terminal.locations.create({ display_name: 'Gone', address: { country: 'US' } });
    await before.stripe.terminal.locations.del(gone.id);
    await before.stripe.terminal.readers.del(String(removed));
    await before.stripe.terminal.readers.update(String(kept), { label: 'Front', metadata: { till: '1' } });
    await control(before.emulator, `/readers/${kept}/offline`);
    const lastSeen = ((await before.stripe.terminal.readers.retrieve(String(kept))) as Stripe.Terminal.Reader)
      .last_seen_at;

    // Act
    const after = await start();
    await after.emulator.clock.advance(600);
    const reader = (await after.stripe.terminal.readers.retrieve(String(kept))) as Stripe.Terminal.Reader;
    const removedError = await stripeError(after.stripe.terminal.readers.retrieve(String(removed)));
    const goneError = await stripeError(after.stripe.terminal.locations.retrieve(gone.id));
    const locations = await after.stripe.terminal.locations.list();
    await control(after.emulator, `/readers/${kept}/online`);
    const backOnline = (await after.stripe.terminal.readers.retrieve(String(kept))) as Stripe.Terminal.Reader;

    // Assess
    expect(reader).toMatchObject({
      label: 'Front',
      metadata: { till: '1' },
      status: 'offline',
      last_seen_at: lastSeen,
    });
    expect(removedError).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(goneError).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(after.emulator.seeded.locations[0]?.readers.map((seeded) => seeded.id)).toEqual([kept]);
    expect((await after.stripe.terminal.readers.list()).data.map((listed) => listed.id)).toEqual([kept]);
    expect(locations.data.map((listed) => [listed.display_name, listed.metadata])).toEqual([
      ['Pop-up 2', { season: 'summer' }],
      ['Emulator Store', {}],
    ]);
    expect(backOnline.status).toBe('online');
    expect(Number(backOnline.last_seen_at) - Number(lastSeen)).toBeGreaterThanOrEqual(600_000);
  });

  it('keeps minted registration codes: an unused one still registers after a restart, a used one stays used', async () => {
    // Prepare
    const before = await start();
    const controls = emulatorControls(before.emulator.url);
    const unused = await controls.registrationCode('simulated_stripe_s710');
    const used = await controls.registrationCode();
    const registered = await before.stripe.terminal.readers.create({ registration_code: used });

    // Act
    const after = await start();
    const reused = await stripeError(after.stripe.terminal.readers.create({ registration_code: used }));
    const created = await after.stripe.terminal.readers.create({ registration_code: unused });
    const relabelled = (await after.stripe.terminal.readers.update(registered.id, {
      label: '',
    })) as Stripe.Terminal.Reader;

    // Assess
    expect(reused).toMatchObject({
      statusCode: 400,
      param: 'registration_code',
      message: `The registration code \`${used}\` has already been used to register a reader.`,
    });
    expect(created).toMatchObject({ device_type: 'simulated_stripe_s710', label: unused });
    expect(relabelled.label).toBe(used);
  });

  it('keeps a deleted seeded location deleted, and a reset brings the seed back', async () => {
    // Prepare
    const before = await start();
    const seeded = before.emulator.seeded.locations[0];
    for (const reader of seeded?.readers ?? []) await before.stripe.terminal.readers.del(reader.id);
    await before.stripe.terminal.locations.del(String(seeded?.id));

    // Act
    const after = await start();
    const seededAfterRestart = structuredClone(after.emulator.seeded);
    const locations = await after.stripe.terminal.locations.list();
    const readers = await after.stripe.terminal.readers.list();
    await control(after.emulator, '/reset');
    const reseeded = await after.stripe.terminal.readers.list();

    // Assess
    expect(seededAfterRestart).toEqual({ locations: [] });
    expect(locations.data).toEqual([]);
    expect(readers.data).toEqual([]);
    expect(reseeded.data).toHaveLength(2);
    expect(after.emulator.seeded).toEqual(before.emulator.seeded);
  });

  it("keeps Terminal Configurations and a location's configuration_overrides: the reader still offers tips", async () => {
    // Prepare
    const before = await start();
    const location = before.emulator.seeded.locations[0]?.id ?? '';
    const [accountDefault] = (await before.stripe.terminal.configurations.list({ is_account_default: true })).data;
    const configuration = await before.stripe.terminal.configurations.create({
      name: 'Tips',
      tipping: { usd: { percentages: [15, 20, 25] } },
    });
    await before.stripe.terminal.locations.update(location, { configuration_overrides: configuration.id });

    // Act
    const after = await start();
    const configurations = await after.stripe.terminal.configurations.list();
    const reader = firstReader(after.emulator);
    const paymentIntent = await terminalPaymentIntent(after.stripe);
    await after.stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await after.stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, { amount_tip: 300 });
    await settledReader(after.stripe, reader);

    // Assess
    expect(configurations.data).toEqual([configuration, accountDefault]);
    expect(await after.stripe.terminal.locations.retrieve(location)).toMatchObject({
      configuration_overrides: configuration.id,
    });
    expect(await after.stripe.paymentIntents.retrieve(paymentIntent.id)).toMatchObject({
      amount: 1300,
      amount_details: { tip: { amount: 300 } },
    });
  });

  it('gives a state file saved before configurations existed the account default configuration', async () => {
    // Prepare
    const before = await start();
    await terminalPaymentIntent(before.stripe);
    await before.emulator.close();
    running = undefined;
    const file = join(dataDir, 'state.json');
    const { configurations: _configurations, ...older } = JSON.parse(await readFile(file, 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(file, JSON.stringify(older));

    // Act
    const after = await start();
    const defaults = await after.stripe.terminal.configurations.list({ is_account_default: true });

    // Assess
    expect(defaults.data).toHaveLength(1);
    expect((await after.stripe.paymentIntents.list()).data).toHaveLength(1);
  });

  it('replays an idempotent request made before the restart, and still refuses the key with other parameters', async () => {
    // Prepare
    const before = await start();
    const headers = { Authorization: 'Bearer sk_test_emulator', 'Idempotency-Key': 'order-42' };
    const first = await rawApi(before.emulator, 'POST', '/v1/payment_intents', CREATE_BODY, headers);

    // Act
    const after = await start();
    const replay = await rawApi(after.emulator, 'POST', '/v1/payment_intents', CREATE_BODY, headers);
    const mismatch = await rawApi(after.emulator, 'POST', '/v1/payment_intents', 'amount=2000&currency=usd', headers);

    // Assess
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error).toMatchObject({ type: 'idempotency_error' });
    expect((await after.stripe.paymentIntents.list()).data).toHaveLength(1);
  });

  it('a reader waiting for a card before the restart takes it after', async () => {
    // Prepare
    const before = await start();
    const reader = firstReader(before.emulator);
    const paymentIntent = await terminalPaymentIntent(before.stripe);
    await before.stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });

    // Act
    const after = await start();
    const waiting = await after.stripe.terminal.readers.retrieve(reader);
    await after.stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    const settled = await settledReader(after.stripe, reader);

    // Assess
    expect((waiting as Stripe.Terminal.Reader).action?.status).toBe('in_progress');
    expect(settled.action?.status).toBe('succeeded');
    expect((await after.stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe('requires_capture');
  });

  it('an authorization under way when the emulator stopped completes after the restart', async () => {
    // Prepare
    const before = await start({ authorizationDelayMs: 60_000 });
    const reader = firstReader(before.emulator);
    const paymentIntent = await terminalPaymentIntent(before.stripe);
    await before.stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await before.stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);

    // Act
    const after = await start();
    const settled = await settledReader(after.stripe, reader);

    // Assess
    expect(settled.action?.status).toBe('succeeded');
    expect((await after.stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe('requires_capture');
  });

  it('an authorization whose capture window passed while the emulator was stopped expires on restart', async () => {
    // Prepare
    const before = await start({ captureWindowSeconds: 0.3 });
    const paymentIntent = await authorize(before.stripe, firstReader(before.emulator));
    await before.emulator.close();
    await sleep(400);

    // Act
    const after = await start();
    const expired = await after.stripe.paymentIntents.retrieve(paymentIntent.id);

    // Assess
    expect(expired).toMatchObject({ status: 'canceled', cancellation_reason: 'expired' });
    expect((await after.stripe.events.list({ type: 'charge.expired' })).data).toHaveLength(1);
  });

  it("replaces the earlier run's start-up webhook endpoint by its own URL and secret", async () => {
    // Prepare
    const first = await startReceiver(() => before.emulator.webhookSecret ?? '');
    const second = await startReceiver(() => after.emulator.webhookSecret ?? '');
    receivers.push(first, second);
    const before = await start({ webhookUrl: first.url });
    await before.stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/kept', enabled_events: ['*'] });

    // Act
    const after = await start({ webhookUrl: second.url });
    await terminalPaymentIntent(after.stripe);
    await waitFor(() => (second.events('payment_intent.created').length > 0 ? true : undefined));

    // Assess
    const endpoints = await after.stripe.webhookEndpoints.list();
    expect(endpoints.data.map((e) => e.url).sort()).toEqual(['http://127.0.0.1:9/kept', second.url].sort());
    expect(after.emulator.webhookSecret).not.toBe(before.emulator.webhookSecret);
    expect(second.deliveries.every((d) => d.verificationError === null)).toBe(true);
    expect(first.deliveries.filter((d) => d.event?.type === 'payment_intent.created')).toHaveLength(0);
  });

  it('saves soon after a change, without waiting for close', async () => {
    // Prepare
    const { stripe } = await start();

    // Act
    const paymentIntent = await terminalPaymentIntent(stripe);

    // Assess
    await waitFor(async () => ((await savedPaymentIntents()).includes(paymentIntent.id) ? true : undefined), 2000);
  });

  it('reset goes back to the seed, on disk too', async () => {
    // Prepare
    const before = await start();
    await terminalPaymentIntent(before.stripe);

    // Act
    await control(before.emulator, '/reset');
    const after = await start();

    // Assess
    expect((await after.stripe.paymentIntents.list()).data).toEqual([]);
    expect((await after.stripe.terminal.readers.list()).data).toHaveLength(2);
  });

  it('refuses to start on a state file it cannot read, naming the file', async () => {
    // Prepare
    await writeFile(join(dataDir, 'state.json'), '{"half": ');

    // Act
    const failure = await startEmulator({ dataDir }).then(
      (emulator) => emulator.close().then(() => 'started'),
      (error: Error) => error.message,
    );

    // Assess
    expect(failure).toContain(join(dataDir, 'state.json'));
    expect(failure).toContain('move it away to start afresh');
  });

  it('keeps no state between emulators without a dataDir', async () => {
    // Prepare
    const first = await startEmulator(FAST);
    const paymentIntent = await terminalPaymentIntent(sdk(first));
    await first.close();

    // Act
    const second = await startEmulator(FAST);
    const error = await stripeError(sdk(second).paymentIntents.retrieve(paymentIntent.id));
    await second.close();

    // Assess
    expect(error.code).toBe('resource_missing');
  });
});

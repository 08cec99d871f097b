import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ClockState,
  type Emulator,
  EmulatorClock,
  type EmulatorControls,
  type EmulatorOptions,
  emulatorControls,
  startEmulator,
} from '../../local/stripe-emulator/index.ts';
import {
  firstReader,
  type Receiver,
  sdk,
  settledReader,
  sleep,
  startReceiver,
  terminalPaymentIntent,
  waitFor,
} from './support.ts';

const HOUR = 60 * 60;
const DAY = 24 * HOUR;
/** Long enough that nothing in these tests completes by wall time unless the clock is advanced. */
const AUTHORIZATION_DELAY_SECONDS = 60;

function unix(ms: number): number {
  return Math.floor(ms / 1000);
}

describe('Virtual clock', () => {
  let emulator: Emulator | undefined;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver(() => emulator?.webhookSecret ?? '');
  });
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
    receiver.clear();
  });
  afterAll(async () => {
    await receiver.close();
  });

  /** A fresh emulator (its clock never advanced, unless `dataDir` holds one), the SDK and its controls. */
  async function start(
    options: EmulatorOptions = {},
  ): Promise<{ running: Emulator; stripe: Stripe; controls: EmulatorControls }> {
    await emulator?.close();
    emulator = await startEmulator({ authorizationDelayMs: AUTHORIZATION_DELAY_SECONDS * 1000, ...options });
    return { running: emulator, stripe: sdk(emulator), controls: emulatorControls(emulator.url) };
  }

  /** Start a payment on `reader` and present a card; the authorization is under way until the clock passes it. */
  async function presentCard(stripe: Stripe, reader: string): Promise<Stripe.PaymentIntent> {
    const paymentIntent = await terminalPaymentIntent(stripe);
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    return paymentIntent;
  }

  it('tells wall time while nobody advances it', async () => {
    // Prepare
    const before = Date.now();
    const { running, stripe, controls } = await start();

    // Act
    const state = await controls.clock();
    const paymentIntent = await terminalPaymentIntent(stripe);
    const after = Date.now();

    // Assess
    expect(state.advancedSeconds).toBe(0);
    expect(state.nowMs).toBeGreaterThanOrEqual(before);
    expect(state.nowMs).toBeLessThanOrEqual(after);
    expect(state.now).toBe(unix(state.nowMs));
    expect(paymentIntent.created).toBeGreaterThanOrEqual(unix(before));
    expect(paymentIntent.created).toBeLessThanOrEqual(unix(after));
    expect(running.clock.now()).toBeGreaterThanOrEqual(state.nowMs);
  });

  it('moves now, and the created of new PaymentIntents and their events, by the seconds advanced', async () => {
    // Prepare
    const { stripe, controls } = await start();
    const before = Date.now();

    // Act
    const advanced = await controls.advanceClock(3 * HOUR);
    const fraction = await controls.advanceClock(0.5);
    const paymentIntent = await terminalPaymentIntent(stripe);
    const events = await stripe.events.list({ type: 'payment_intent.created' });
    const after = Date.now();

    // Assess
    expect(advanced.advancedSeconds).toBe(3 * HOUR);
    expect(advanced.nowMs).toBeGreaterThanOrEqual(before + 3 * HOUR * 1000);
    expect(fraction.advancedSeconds).toBe(3 * HOUR + 0.5);
    expect(fraction.nowMs - advanced.nowMs).toBeGreaterThanOrEqual(500);
    expect(await controls.clock()).toMatchObject({ advancedSeconds: 3 * HOUR + 0.5 });
    const earliest = unix(before + (3 * HOUR + 0.5) * 1000);
    const latest = unix(after + (3 * HOUR + 0.5) * 1000);
    expect(paymentIntent.created).toBeGreaterThanOrEqual(earliest);
    expect(paymentIntent.created).toBeLessThanOrEqual(latest);
    expect(events.data).toHaveLength(1);
    expect(events.data[0]?.created).toBeGreaterThanOrEqual(earliest);
    expect(events.data[0]?.created).toBeLessThanOrEqual(latest);
  });

  it('completes an authorization once the clock passes its delay, and not before', async () => {
    // Prepare
    const { running, stripe, controls } = await start();
    const reader = firstReader(running);
    const paymentIntent = await presentCard(stripe, reader);
    const presentedAt = running.clock.now();

    // Act
    await controls.advanceClock(AUTHORIZATION_DELAY_SECONDS - 10);
    const midway = await stripe.terminal.readers.retrieve(reader);
    const midwayIntent = await stripe.paymentIntents.retrieve(paymentIntent.id);
    await controls.advanceClock(10);
    const done = await stripe.terminal.readers.retrieve(reader);
    const authorized = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });

    // Assess
    expect((midway as Stripe.Terminal.Reader).action?.status).toBe('in_progress');
    expect(midwayIntent.status).toBe('requires_payment_method');
    expect((done as Stripe.Terminal.Reader).action).toMatchObject({
      type: 'process_payment_intent',
      status: 'succeeded',
    });
    expect(authorized).toMatchObject({ status: 'requires_capture', amount_capturable: 1000 });
    const charge = authorized.latest_charge as Stripe.Charge;
    expect(charge.created).toBeGreaterThanOrEqual(unix(presentedAt + AUTHORIZATION_DELAY_SECONDS * 1000));
  });

  it('lets wall time finish what an advance brought close', async () => {
    // Prepare
    const { running, stripe, controls } = await start();
    const reader = firstReader(running);
    const paymentIntent = await presentCard(stripe, reader);

    // Act: 0.2 s of the delay is left for wall time, where 60 s were before the advance.
    await controls.advanceClock(AUTHORIZATION_DELAY_SECONDS - 0.2);
    const settled = await settledReader(stripe, reader);

    // Assess
    expect(settled.action?.status).toBe('succeeded');
    expect((await stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe('requires_capture');
  });

  it('expires an uncaptured authorization once the clock passes captureWindowSeconds', async () => {
    // Prepare
    const { running, stripe, controls } = await start();
    const reader = firstReader(running);
    const paymentIntent = await presentCard(stripe, reader);
    await controls.advanceClock(AUTHORIZATION_DELAY_SECONDS);
    const authorized = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });
    const charge = authorized.latest_charge as Stripe.Charge;
    const captureBefore = charge.payment_method_details?.card_present?.capture_before ?? 0;

    // Act
    await controls.advanceClock(2 * DAY - HOUR);
    const stillHeld = await stripe.paymentIntents.retrieve(paymentIntent.id);
    await controls.advanceClock(HOUR + 1);
    const expired = await stripe.paymentIntents.retrieve(paymentIntent.id);
    const events = await stripe.events.list({ created: { gte: captureBefore } });

    // Assess
    expect(authorized.status).toBe('requires_capture');
    expect(captureBefore).toBe(charge.created + 2 * DAY);
    expect(stillHeld.status).toBe('requires_capture');
    expect(expired).toMatchObject({ status: 'canceled', cancellation_reason: 'expired', amount_capturable: 0 });
    expect(expired.canceled_at).toBeGreaterThanOrEqual(captureBefore);
    expect(events.data.map((event) => event.type).reverse()).toEqual(['charge.expired', 'payment_intent.canceled']);
  });

  it('runs every timer one advance passes, in due order, each dated at its own due time', async () => {
    // Prepare
    const { running, stripe, controls } = await start({ captureWindowSeconds: HOUR });
    const reader = firstReader(running);
    const paymentIntent = await presentCard(stripe, reader);
    const presentedAt = running.clock.now();

    // Act: the authorization falls due, and the expiry it schedules falls due within the same advance.
    await controls.advanceClock(AUTHORIZATION_DELAY_SECONDS + HOUR + 10);
    const expired = await stripe.paymentIntents.retrieve(paymentIntent.id);
    const events = (await stripe.events.list()).data.reverse();

    // Assess
    expect(expired).toMatchObject({ status: 'canceled', cancellation_reason: 'expired' });
    expect(events.map((event) => event.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'terminal.reader.action_succeeded',
      'charge.expired',
      'payment_intent.canceled',
    ]);
    const authorizedAt = unix(presentedAt + AUTHORIZATION_DELAY_SECONDS * 1000);
    const succeeded = events.find((event) => event.type === 'charge.succeeded');
    const canceled = events.find((event) => event.type === 'payment_intent.canceled');
    expect(succeeded?.created).toBeGreaterThanOrEqual(authorizedAt);
    expect(succeeded?.created).toBeLessThan(authorizedAt + 10);
    expect(canceled?.created).toBeGreaterThanOrEqual(authorizedAt + HOUR);
    expect(canceled?.created).toBeLessThan(authorizedAt + HOUR + 10);
  });

  it('redelivers a failed webhook once the clock passes its backoff, signed at the new time', async () => {
    // Prepare
    const backoffSeconds = 10 * 60;
    const { stripe, controls } = await start({
      webhookUrl: receiver.url,
      webhookRetries: 3,
      webhookRetryBaseMs: backoffSeconds * 1000,
    });
    receiver.respondWith((_delivery, index) => (index === 0 ? 500 : 200));
    const paymentIntent = await terminalPaymentIntent(stripe);
    const attempts = async (): Promise<{ status: number | null; at: string }[]> =>
      (await controls.get<{ attempts: { status: number | null; at: string }[] }>('webhooks')).attempts;
    await waitFor(async () => ((await attempts()).length === 1 ? true : undefined));

    // Act
    await controls.advanceClock(backoffSeconds - 1);
    // An early retry would be sent at once; give it the moment it would need to arrive.
    await sleep(200);
    const beforeBackoff = receiver.deliveries.length;
    await controls.advanceClock(1);
    const retried = await waitFor(() => (receiver.deliveries.length === 2 ? receiver.deliveries : undefined));

    // Assess
    expect(beforeBackoff).toBe(1);
    expect(retried.map((delivery) => delivery.event?.type)).toEqual([
      'payment_intent.created',
      'payment_intent.created',
    ]);
    expect(retried[1]?.verificationError).toBeNull();
    expect(retried[1]?.event?.data.object).toMatchObject({ id: paymentIntent.id });
    const signedAt = retried.map((delivery) =>
      Number(/t=(\d+)/.exec(String(delivery.headers['stripe-signature']))?.[1]),
    );
    expect((signedAt[1] ?? 0) - (signedAt[0] ?? 0)).toBeGreaterThanOrEqual(backoffSeconds);
    const logged = await waitFor(async () => {
      const list = await attempts();
      return list.length === 2 ? list : undefined;
    });
    expect(logged.map((attempt) => attempt.status)).toEqual([500, 200]);
    const loggedGap = Date.parse(logged[1]?.at ?? '') - Date.parse(logged[0]?.at ?? '');
    expect(loggedGap).toBeGreaterThanOrEqual(backoffSeconds * 1000);
  });

  it('replays an idempotency key within 24 hours of the clock and forgets it after', async () => {
    // Prepare
    const { stripe, controls } = await start();
    const withKey = (): Promise<Stripe.Response<Stripe.PaymentIntent>> =>
      stripe.paymentIntents.create(
        { amount: 1000, currency: 'usd', allowed_payment_method_types: ['card_present'], capture_method: 'manual' },
        { idempotencyKey: 'order-42' },
      );
    const first = await withKey();

    // Act
    await controls.advanceClock(DAY - HOUR);
    const replayed = await withKey();
    const beforeRun = await controls.clock();
    await controls.advanceClock(HOUR + 1);
    const runAgain = await withKey();

    // Assess
    expect(replayed.id).toBe(first.id);
    expect(replayed.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(runAgain.id).not.toBe(first.id);
    expect(runAgain.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(runAgain.created).toBeGreaterThanOrEqual(beforeRun.now + HOUR);
  });

  it("moves a reader's last_seen_at with the clock while online, and stops it while offline", async () => {
    // Prepare
    const { running, stripe, controls } = await start();
    const reader = firstReader(running);
    const seen = async (): Promise<number> =>
      Number(((await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader).last_seen_at);
    const first = await seen();

    // Act
    await controls.advanceClock(10 * 60);
    const online = await seen();
    await controls.post(`readers/${reader}/offline`);
    const wentOffline = await controls.clock();
    await controls.advanceClock(HOUR);
    const offline = await seen();

    // Assess
    expect(online - first).toBeGreaterThanOrEqual(10 * 60 * 1000);
    expect(offline).toBeGreaterThanOrEqual(online);
    expect(offline).toBeLessThanOrEqual(wentOffline.nowMs);
  });

  it.each([
    ['no seconds', '{}', 'seconds must be a non-negative number'],
    ['negative seconds', '{"seconds": -1}', 'seconds must be a non-negative number'],
    ['seconds as a string', '{"seconds": "60"}', 'seconds must be a non-negative number'],
    ['seconds null (what JSON makes of Infinity)', '{"seconds": null}', 'seconds must be a non-negative number'],
    ['an unknown field', '{"seconds": 60, "minutes": 1}', 'Unknown field: minutes'],
    ['a body that is not JSON', 'sixty', 'The body must be JSON.'],
    ['a JSON array', '[60]', 'The body must be a JSON object.'],
  ])('answers 400 to an advance with %s, and leaves the clock alone', async (_case, body, message) => {
    // Prepare
    const { running, controls } = await start();

    // Act
    const response = await fetch(`${running.url}/_emulator/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message } });
    expect((await controls.clock()).advancedSeconds).toBe(0);
  });

  it('keeps the clock through /_emulator/reset', async () => {
    // Prepare
    const { stripe, controls } = await start();
    const advanced = await controls.advanceClock(2 * HOUR);

    // Act
    await controls.post('reset');
    const afterReset = await controls.clock();
    const paymentIntent = await terminalPaymentIntent(stripe);

    // Assess
    expect(afterReset.advancedSeconds).toBe(2 * HOUR);
    expect(afterReset.nowMs).toBeGreaterThanOrEqual(advanced.nowMs);
    expect(paymentIntent.created).toBeGreaterThanOrEqual(advanced.now);
  });

  it('runs on a clock given at start, which in-process code and the controls move together', async () => {
    // Prepare
    const shared = new EmulatorClock();
    const { running, controls } = await start({ clock: shared });

    // Act
    shared.advance(90);
    const seenOverHttp = await controls.clock();
    await controls.advanceClock(30);

    // Assess
    expect(running.clock).toBe(shared);
    expect(seenOverHttp.advancedSeconds).toBe(90);
    expect(shared.state().advancedSeconds).toBe(120);
    // Wall time read first: read after the clock, it could already be a millisecond later.
    const wall = Date.now();
    expect(shared.now()).toBeGreaterThanOrEqual(wall + 120_000);
  });

  describe('with a data directory', () => {
    let dataDir: string;

    beforeEach(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'stripe-emulator-clock-'));
    });
    afterEach(async () => {
      // Closed before its directory goes: closing saves the state.
      await emulator?.close();
      emulator = undefined;
      await rm(dataDir, { recursive: true, force: true });
    });

    it('goes on from the saved clock after a restart, and still expires what was due on it', async () => {
      // Prepare
      const first = await start({ dataDir, captureWindowSeconds: DAY });
      const reader = firstReader(first.running);
      const paymentIntent = await presentCard(first.stripe, reader);
      await first.controls.advanceClock(AUTHORIZATION_DELAY_SECONDS);
      const beforeRestart = await first.controls.advanceClock(DAY - HOUR);

      // Act
      const second = await start({ dataDir, captureWindowSeconds: DAY });
      const restored = await second.controls.clock();
      const held = await second.stripe.paymentIntents.retrieve(paymentIntent.id);
      await second.controls.advanceClock(HOUR + 1);
      const expired = await second.stripe.paymentIntents.retrieve(paymentIntent.id);

      // Assess
      expect(restored.advancedSeconds).toBe(beforeRestart.advancedSeconds);
      expect(restored.nowMs).toBeGreaterThanOrEqual(beforeRestart.nowMs);
      expect(held.status).toBe('requires_capture');
      expect(expired).toMatchObject({ status: 'canceled', cancellation_reason: 'expired' });
    });

    it('reads a state file saved without a clock, starting at wall time', async () => {
      // Prepare
      const first = await start({ dataDir });
      const paymentIntent = await terminalPaymentIntent(first.stripe);
      await emulator?.close();
      emulator = undefined;
      const file = join(dataDir, 'state.json');
      const { clock: _clock, ...older } = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, JSON.stringify(older));

      // Act
      const second = await start({ dataDir });
      const state: ClockState = await second.controls.clock();

      // Assess
      expect(state.advancedSeconds).toBe(0);
      expect((await second.stripe.paymentIntents.retrieve(paymentIntent.id)).id).toBe(paymentIntent.id);
    });
  });
});

import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import {
  control,
  FAST,
  firstReader,
  type Receiver,
  sdk,
  settledReader,
  sleep,
  startReceiver,
  stripeError,
  terminalPaymentIntent,
  waitFor,
} from './support.ts';

describe('Webhooks', () => {
  let emulator: Emulator;
  let stripe: Stripe;
  let receiver: Receiver;
  let reader: string;
  const verifier = new Stripe('sk_test_verifier');

  beforeAll(async () => {
    receiver = await startReceiver(() => emulator.webhookSecret ?? '');
    emulator = await startEmulator({ ...FAST, webhookUrl: receiver.url, webhookRetries: 2 });
    stripe = sdk(emulator);
    reader = firstReader(emulator);
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });
  beforeEach(async () => {
    await control(emulator, '/reset');
    receiver.clear();
  });

  async function authorize(
    options: { number?: string; captureMethod?: 'manual' | 'automatic' } = {},
  ): Promise<Stripe.PaymentIntent> {
    const paymentIntent = await terminalPaymentIntent(stripe, { capture_method: options.captureMethod ?? 'manual' });
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(
      reader,
      options.number === undefined ? {} : { card_present: { number: options.number } },
    );
    await settledReader(stripe, reader);
    return paymentIntent;
  }

  function received(type: string, count = 1): Promise<Stripe.Event[]> {
    return waitFor(() => {
      const events = receiver.events(type);
      return events.length >= count ? events : undefined;
    });
  }

  it('generates a whsec_ secret for the start-up endpoint and lists it', async () => {
    // Act
    const endpoints = await stripe.webhookEndpoints.list();

    // Assess
    expect(emulator.webhookSecret).toMatch(/^whsec_/);
    expect(endpoints.data).toHaveLength(1);
    expect(endpoints.data[0]).toMatchObject({ url: receiver.url, enabled_events: ['*'], status: 'enabled' });
    expect(endpoints.data[0]).not.toHaveProperty('secret');
  });

  it.each([
    ['payment_intent.created', async () => terminalPaymentIntent(stripe)],
    ['payment_intent.amount_capturable_updated', async () => authorize()],
    ['payment_intent.succeeded', async () => authorize({ captureMethod: 'automatic' })],
    ['payment_intent.payment_failed', async () => authorize({ number: '4000000000000002' })],
    ['payment_intent.canceled', async () => stripe.paymentIntents.cancel((await terminalPaymentIntent(stripe)).id)],
    ['charge.succeeded', async () => authorize()],
    ['charge.failed', async () => authorize({ number: '4000000000000002' })],
    ['charge.captured', async () => stripe.paymentIntents.capture((await authorize()).id)],
    [
      'charge.expired',
      async () => {
        await control(emulator, '/config', { captureWindowSeconds: 0.2 });
        await authorize();
      },
    ],
    ['terminal.reader.action_succeeded', async () => authorize()],
    ['terminal.reader.action_failed', async () => authorize({ number: '4000000000009995' })],
    [
      'terminal.reader.action_updated',
      async () => {
        const paymentIntent = await terminalPaymentIntent(stripe);
        await stripe.terminal.readers.collectPaymentMethod(reader, { payment_intent: paymentIntent.id });
        await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      },
    ],
  ])('delivers %s, signed so constructEvent accepts it', async (type, scenario) => {
    // Act
    await scenario();
    const [event] = await received(type);

    // Assess
    const delivery = receiver.deliveries.find((d) => d.event?.id === event?.id);
    expect(delivery?.verificationError).toBeNull();
    expect(delivery?.headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(delivery?.headers['content-type']).toContain('application/json');
    expect(event).toMatchObject({ object: 'event', type, livemode: false, api_version: Stripe.API_VERSION });
    const stored = await stripe.events.retrieve(event?.id ?? '');
    expect(stored.type).toBe(type);
    expect(() =>
      verifier.webhooks.constructEvent(
        delivery?.rawBody ?? '',
        String(delivery?.headers['stripe-signature']),
        'whsec_wrong',
      ),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });

  it('charge.succeeded carries brand, last4 and capture_before of a manual authorization', async () => {
    // Act
    const paymentIntent = await authorize();
    const [event] = await received('charge.succeeded');

    // Assess
    const charge = event?.data.object as Stripe.Charge;
    expect(charge.payment_intent).toBe(paymentIntent.id);
    expect(charge.payment_method_details?.card_present).toMatchObject({ brand: 'visa', last4: '4242' });
    expect(charge.payment_method_details?.card_present?.capture_before).toBeGreaterThan(Date.now() / 1000);
  });

  it('reader events carry the reader with its final action', async () => {
    // Act
    await authorize({ number: '4000000000009995' });
    const [event] = await received('terminal.reader.action_failed');

    // Assess
    const sent = event?.data.object as Stripe.Terminal.Reader;
    expect(sent.id).toBe(reader);
    expect(sent.action).toMatchObject({
      status: 'failed',
      failure_code: 'card_declined',
      failure_message: 'Your card has insufficient funds.',
    });
  });

  it('sends events after the response, never before the state they describe is readable, and quickly', async () => {
    // Prepare
    const seen: string[] = [];
    receiver.onDelivery(async (delivery) => {
      if (delivery.event?.type !== 'payment_intent.created') return;
      const object = delivery.event.data.object as Stripe.PaymentIntent;
      seen.push((await stripe.paymentIntents.retrieve(object.id)).status);
    });
    const startedAt = Date.now();

    // Act
    const paymentIntent = await terminalPaymentIntent(stripe);
    const [event] = await received('payment_intent.created');
    // The receiver records a delivery before its hook has read the state: wait for that read too.
    await waitFor(() => (seen.length > 0 ? true : undefined));

    // Assess
    expect((event?.data.object as Stripe.PaymentIntent | undefined)?.id).toBe(paymentIntent.id);
    expect(seen).toEqual(['requires_payment_method']);
    const delivery = receiver.deliveries.find((d) => d.event?.id === event?.id);
    expect((delivery?.receivedAt ?? Infinity) - startedAt).toBeLessThan(250);
    expect(event?.request?.id).toMatch(/^req_/);
    expect(event?.request?.idempotency_key).toMatch(/^stripe-node-retry-/);
  });

  it('retries a delivery answered with 500, each attempt signed and verifiable, until it succeeds', async () => {
    // Prepare
    receiver.respondWith((_delivery, index) => (index < 2 ? 500 : 200));

    // Act
    await terminalPaymentIntent(stripe);
    const events = await received('payment_intent.created', 3);
    await sleep(150);

    // Assess
    expect(receiver.deliveries).toHaveLength(3);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expect(receiver.deliveries.every((d) => d.verificationError === null)).toBe(true);
    const stored = await stripe.events.retrieve(events[0]?.id ?? '');
    expect(stored.pending_webhooks).toBe(0);
  });

  it('gives up after webhookRetries, with exponential backoff between attempts', async () => {
    // Prepare
    await control(emulator, '/config', { webhookRetryBaseMs: 40, webhookRetries: 3 });
    receiver.respondWith(() => 500);

    // Act
    await terminalPaymentIntent(stripe);
    await received('payment_intent.created', 4);
    await sleep(500);

    // Assess
    expect(receiver.deliveries).toHaveLength(4);
    const gaps = receiver.deliveries.slice(1).map((d, i) => d.receivedAt - (receiver.deliveries[i]?.receivedAt ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    const attempts = (await control(emulator, '/webhooks', undefined, 'GET')).body.attempts as { status: number }[];
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 500]);
  });

  it('retries an unreachable endpoint and records the failures', async () => {
    // Prepare
    await control(emulator, '/config', { webhookRetries: 1 });
    const closed = await startReceiver(() => 'whsec_unused');
    await closed.close();
    await stripe.webhookEndpoints.create({ url: closed.url, enabled_events: ['payment_intent.created'] });

    // Act
    await terminalPaymentIntent(stripe);
    const attempts = await waitFor(async () => {
      const all = (await control(emulator, '/webhooks', undefined, 'GET')).body.attempts as {
        url: string;
        error: string | null;
      }[];
      const failed = all.filter((a) => a.url === closed.url);
      return failed.length >= 2 ? failed : undefined;
    });

    // Assess
    expect(attempts.every((a) => a.error !== null)).toBe(true);
    expect(receiver.events('payment_intent.created')).toHaveLength(1);
  });

  describe('webhook endpoints API', () => {
    it('creates an endpoint that receives only its enabled events, signed with its own secret', async () => {
      // Prepare
      const own = await startReceiver(() => created.secret ?? '');
      const created = await stripe.webhookEndpoints.create({
        url: own.url,
        enabled_events: ['terminal.reader.action_succeeded'],
        description: 'POS hooks',
      });

      // Act
      await authorize();
      const events = await waitFor(() => (own.events().length >= 1 ? own.events() : undefined));
      await sleep(50);
      await own.close();

      // Assess
      expect(created.secret).toMatch(/^whsec_/);
      expect(created).toMatchObject({ object: 'webhook_endpoint', status: 'enabled', description: 'POS hooks' });
      expect(own.deliveries.every((d) => d.verificationError === null)).toBe(true);
      expect(events.map((e) => e.type)).toEqual(['terminal.reader.action_succeeded']);
    });

    it('retrieves, updates, lists and deletes endpoints', async () => {
      // Prepare
      const created = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/hook', enabled_events: ['*'] });

      // Act
      const retrieved = await stripe.webhookEndpoints.retrieve(created.id);
      const updated = await stripe.webhookEndpoints.update(created.id, {
        disabled: true,
        enabled_events: ['charge.succeeded'],
      });
      const listed = await stripe.webhookEndpoints.list();
      const deleted = await stripe.webhookEndpoints.del(created.id);
      const missing = await stripeError(stripe.webhookEndpoints.retrieve(created.id));

      // Assess
      expect(retrieved).not.toHaveProperty('secret');
      expect(updated).toMatchObject({ status: 'disabled', enabled_events: ['charge.succeeded'] });
      expect(listed.data.map((e) => e.id)).toContain(created.id);
      expect(deleted).toEqual({ id: created.id, object: 'webhook_endpoint', deleted: true });
      expect(missing.code).toBe('resource_missing');
    });

    it('rejects an invalid URL and missing enabled_events', async () => {
      // Act
      const badUrl = await stripeError(stripe.webhookEndpoints.create({ url: 'not a url', enabled_events: ['*'] }));
      const noEvents = await stripeError(
        stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/' } as Stripe.WebhookEndpointCreateParams),
      );

      // Assess
      expect(badUrl).toMatchObject({ code: 'url_invalid', param: 'url' });
      expect(noEvents).toMatchObject({ code: 'parameter_missing', param: 'enabled_events' });
    });
  });

  describe('charge events', () => {
    async function typesSince(created: string): Promise<string[]> {
      const newestFirst = (await stripe.events.list({ limit: 100, ending_before: created })).data;
      return newestFirst.map((event) => event.type).reverse();
    }

    async function lastEventId(): Promise<string> {
      return (await stripe.events.list({ limit: 1 })).data[0]?.id ?? '';
    }

    it('a decline sends charge.failed with the failed charge, before payment_intent.payment_failed', async () => {
      // Act
      const paymentIntent = await authorize({ number: '4000000000000002' });
      await received('terminal.reader.action_failed');

      // Assess
      expect(receiver.deliveries.map((d) => d.event?.type)).toEqual([
        'payment_intent.created',
        'charge.failed',
        'payment_intent.payment_failed',
        'terminal.reader.action_failed',
      ]);
      const charge = receiver.events('charge.failed')[0]?.data.object as Stripe.Charge;
      const failed = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(charge).toMatchObject({
        id: failed.latest_charge,
        payment_intent: paymentIntent.id,
        status: 'failed',
        paid: false,
        captured: false,
        failure_code: 'card_declined',
        failure_message: 'Your card was declined.',
        outcome: { type: 'issuer_declined', reason: 'generic_decline' },
      });
    });

    it('capture sends charge.captured with the captured charge, before payment_intent.succeeded', async () => {
      // Prepare
      const paymentIntent = await authorize();
      const before = await lastEventId();

      // Act
      await stripe.paymentIntents.capture(paymentIntent.id, { amount_to_capture: 700 });

      // Assess
      expect(await typesSince(before)).toEqual(['charge.captured', 'payment_intent.succeeded']);
      const [event] = await received('charge.captured');
      expect(event?.data.object).toMatchObject({
        object: 'charge',
        payment_intent: paymentIntent.id,
        captured: true,
        amount: 1000,
        amount_captured: 700,
        amount_refunded: 300,
        balance_transaction: expect.stringMatching(/^txn_/),
      });
    });

    it('an automatic capture sends charge.succeeded and no charge.captured', async () => {
      // Act
      await authorize({ captureMethod: 'automatic' });

      // Assess
      const types = (await stripe.events.list()).data.map((event) => event.type).reverse();
      expect(types).toEqual([
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.succeeded',
        'terminal.reader.action_succeeded',
      ]);
    });

    it('an expired authorization sends charge.expired, before payment_intent.canceled', async () => {
      // Prepare
      await control(emulator, '/config', { captureWindowSeconds: 0.2 });
      const paymentIntent = await authorize();
      const before = await lastEventId();

      // Act
      const [event] = await received('charge.expired');

      // Assess
      expect(await typesSince(before)).toEqual(['charge.expired', 'payment_intent.canceled']);
      expect(event?.data.object).toMatchObject({
        payment_intent: paymentIntent.id,
        status: 'succeeded',
        captured: false,
        amount_captured: 0,
        refunded: false,
        amount_refunded: 0,
      });
      const [canceled] = await received('payment_intent.canceled');
      expect(canceled?.data.object).toMatchObject({ id: paymentIntent.id, cancellation_reason: 'expired' });
    });

    it('cancelling an authorization refunds its charge: charge.refunded, before payment_intent.canceled', async () => {
      // Prepare
      const paymentIntent = await authorize();
      const before = await lastEventId();

      // Act
      await stripe.paymentIntents.cancel(paymentIntent.id);

      // Assess
      expect(await typesSince(before)).toEqual(['charge.refunded', 'payment_intent.canceled']);
      const [event] = await received('charge.refunded');
      expect(event?.data.object).toMatchObject({
        payment_intent: paymentIntent.id,
        captured: false,
        refunded: true,
        amount_refunded: 1000,
      });
    });
  });

  describe('events API', () => {
    it('lists events newest first, filtered by type, types and created', async () => {
      // Prepare
      await authorize();

      // Act
      const all = await stripe.events.list();
      const wildcard = await stripe.events.list({ type: 'payment_intent.*' });
      const some = await stripe.events.list({ types: ['charge.succeeded', 'payment_intent.created'] });
      const future = await stripe.events.list({ created: { gt: Math.floor(Date.now() / 1000) + 60 } });

      // Assess
      expect(all.data.map((e) => e.type)).toEqual([
        'terminal.reader.action_succeeded',
        'payment_intent.amount_capturable_updated',
        'charge.succeeded',
        'payment_intent.created',
      ]);
      expect(wildcard.data.map((e) => e.type)).toEqual([
        'payment_intent.amount_capturable_updated',
        'payment_intent.created',
      ]);
      expect(some.data.map((e) => e.type)).toEqual(['charge.succeeded', 'payment_intent.created']);
      expect(future.data).toEqual([]);
    });

    it('answers 404 for an unknown event', async () => {
      // Act
      const error = await stripeError(stripe.events.retrieve('evt_missing'));

      // Assess
      expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });
  });

  describe('delivery faults', () => {
    it('drop: events are recorded but never delivered', async () => {
      // Prepare
      await control(emulator, '/webhooks', { mode: 'drop' });

      // Act
      await terminalPaymentIntent(stripe);
      await sleep(100);

      // Assess
      expect(receiver.deliveries).toHaveLength(0);
      expect((await stripe.events.list()).data.map((e) => e.type)).toEqual(['payment_intent.created']);
    });

    it('hold and release: nothing arrives until release, then everything held', async () => {
      // Prepare
      await control(emulator, '/webhooks', { mode: 'hold' });
      await authorize();
      await sleep(60);
      const before = receiver.deliveries.length;

      // Act
      const released = await control(emulator, '/webhooks/release');
      const events = await received('terminal.reader.action_succeeded');

      // Assess
      expect(before).toBe(0);
      expect(released.body).toEqual({ released: 4 });
      expect(events).toHaveLength(1);
      await waitFor(() => (receiver.deliveries.length === 4 ? true : undefined));
    });

    it('duplicate: each event is sent n extra times', async () => {
      // Prepare
      await control(emulator, '/webhooks', { duplicate: 2 });

      // Act
      await terminalPaymentIntent(stripe);
      const events = await received('payment_intent.created', 3);

      // Assess
      expect(new Set(events.map((e) => e.id)).size).toBe(1);
      await sleep(50);
      expect(receiver.deliveries).toHaveLength(3);
    });

    it('delayMs: events arrive no sooner than the delay', async () => {
      // Prepare
      await control(emulator, '/webhooks', { delayMs: 200 });
      const startedAt = Date.now();

      // Act
      await terminalPaymentIntent(stripe);
      await received('payment_intent.created');

      // Assess
      expect((receiver.deliveries[0]?.receivedAt ?? 0) - startedAt).toBeGreaterThanOrEqual(195);
    });

    it('reverse: the events of one action arrive newest first', async () => {
      // Prepare
      await control(emulator, '/webhooks', { reverse: true });

      // Act
      await authorize();
      await received('charge.succeeded');

      // Assess
      const types = receiver.deliveries.map((d) => d.event?.type);
      expect(types).toEqual([
        'payment_intent.created',
        'terminal.reader.action_succeeded',
        'payment_intent.amount_capturable_updated',
        'charge.succeeded',
      ]);
    });

    it('in order by default', async () => {
      // Act
      await authorize();
      await received('terminal.reader.action_succeeded');

      // Assess
      expect(receiver.deliveries.map((d) => d.event?.type)).toEqual([
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.amount_capturable_updated',
        'terminal.reader.action_succeeded',
      ]);
    });

    it('each setting replaces the whole previous one', async () => {
      // Prepare
      await control(emulator, '/webhooks', { mode: 'hold', duplicate: 1 });

      // Act
      const replaced = await control(emulator, '/webhooks', { reverse: true });

      // Assess
      expect(replaced.body).toEqual({ mode: 'deliver', duplicate: 0, delayMs: 0, reverse: true });
    });

    it('rejects an unknown mode', async () => {
      // Act
      const response = await control(emulator, '/webhooks', { mode: 'sometimes' });

      // Assess
      expect(response.status).toBe(400);
    });

    it('resend: an event is delivered again, even one that was dropped', async () => {
      // Prepare
      await control(emulator, '/webhooks', { mode: 'drop' });
      await terminalPaymentIntent(stripe);
      const [event] = (await stripe.events.list()).data;

      // Act
      const response = await control(emulator, `/events/${event?.id}/resend`);
      const delivered = await received('payment_intent.created');

      // Assess
      expect(response.status).toBe(200);
      expect(delivered[0]?.id).toBe(event?.id);
      expect((await control(emulator, '/events/evt_missing/resend')).status).toBe(404);
    });
  });
});

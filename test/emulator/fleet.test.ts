import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { type Emulator, type SeedLocation, startEmulator } from '../../local/stripe-emulator/index.ts';
import {
  control,
  FAST,
  firstReader,
  rawApi,
  sdk,
  settledReader,
  stripeError,
  terminalPaymentIntent,
  waitFor,
} from './support.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ADDRESS = { line1: '1 Main St', city: 'Toronto', country: 'CA', postal_code: 'M5V 2T6', state: 'ON' };

/** A live reader (retrieve answers `Reader | DeletedReader`). */
async function liveReader(stripe: Stripe, id: string): Promise<Stripe.Terminal.Reader> {
  return (await stripe.terminal.readers.retrieve(id)) as Stripe.Terminal.Reader;
}

/** Every reader the list gives, page after page of `limit`, as the SDK's auto-pagination walks it. */
async function allReaders(stripe: Stripe, params: Stripe.Terminal.ReaderListParams = {}): Promise<string[]> {
  const ids: string[] = [];
  for await (const reader of stripe.terminal.readers.list({ limit: 100, ...params })) ids.push(reader.id);
  return ids;
}

describe('Fleet: readers and locations', () => {
  let emulator: Emulator;
  let stripe: Stripe;
  let location: string;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    await control(emulator, '/reset');
    location = emulator.seeded.locations[0]?.id ?? '';
  });

  describe('registering readers', () => {
    it.each([
      ['simulated-wpe', 'simulated_wisepos_e'],
      ['simulated-s700', 'simulated_stripe_s700'],
      ['simulated-s710', 'simulated_stripe_s710'],
    ])('registers %s as an online %s, labelled with the code when no label is given', async (code, deviceType) => {
      // Prepare
      const before = emulator.clock.now();

      // Act
      const created = await stripe.terminal.readers.create({ registration_code: code, location });

      // Assess
      expect(created).toMatchObject({
        object: 'terminal.reader',
        action: null,
        device_type: deviceType,
        ip_address: '0.0.0.0',
        label: code,
        livemode: false,
        location,
        metadata: {},
        status: 'online',
      });
      expect(created.id).toMatch(/^tmr_[A-Za-z0-9]{14}$/);
      expect(created.serial_number).toMatch(UUID);
      expect(created.last_seen_at).toBeGreaterThanOrEqual(before);
      expect(created.last_seen_at).toBeLessThanOrEqual(emulator.clock.now());
    });

    it('registers many readers with the same simulated code, each its own reader', async () => {
      // Act
      const first = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', label: 'A' });
      const second = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', label: 'B' });

      // Assess
      expect(second.id).not.toBe(first.id);
      expect(second.serial_number).not.toBe(first.serial_number);
      expect(first.location).toBeNull();
      const listed = await stripe.terminal.readers.list({ device_type: 'simulated_wisepos_e' });
      expect(listed.data.map((reader) => reader.id).slice(0, 2)).toEqual([second.id, first.id]);
    });

    it('keeps the metadata given on registration', async () => {
      // Act
      const created = await stripe.terminal.readers.create({
        registration_code: 'simulated-s700',
        metadata: { till: '4', floor: '' },
      });

      // Assess
      expect(created.metadata).toEqual({ till: '4' });
      expect((await liveReader(stripe, created.id)).metadata).toEqual({ till: '4' });
    });

    it.each([
      ['an unknown code', 'puppies-plug'],
      ['a real-looking code', 'sepia-cerulean-aqua'],
      ['a simulated code in another case', 'SIMULATED-WPE'],
    ])('answers 400 invalid_request_error to %s, and registers nothing', async (_case, code) => {
      // Prepare
      const before = await allReaders(stripe);

      // Act
      const error = await stripeError(stripe.terminal.readers.create({ registration_code: code, location }));

      // Assess
      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param: 'registration_code' });
      expect(error.message).toContain(code);
      expect(error.raw).toMatchObject({ type: 'invalid_request_error' });
      expect(await allReaders(stripe)).toEqual(before);
    });

    it('requires registration_code, and answers 400 resource_missing for a location that does not exist', async () => {
      // Act
      const missing = await rawApi(emulator, 'POST', '/v1/terminal/readers', 'label=Till');
      const noLocation = await stripeError(
        stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: 'tml_nowhere' }),
      );

      // Assess
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({ code: 'parameter_missing', param: 'registration_code' });
      expect(noLocation).toMatchObject({
        statusCode: 400,
        code: 'resource_missing',
        param: 'location',
        message: "No such terminal.location: 'tml_nowhere'",
      });
    });
  });

  describe('one-time registration codes (a real reader)', () => {
    const CODE = /^[a-z]+-[a-z]+-[a-z]+$/;

    it.each([
      [undefined, 'simulated_wisepos_e'],
      ['simulated_wisepos_e', 'simulated_wisepos_e'],
      ['simulated_stripe_s700', 'simulated_stripe_s700'],
      ['simulated_stripe_s710', 'simulated_stripe_s710'],
    ] as const)(
      'mints a three-word code for deviceType %s that registers a %s reader labelled with the code',
      async (requested, deviceType) => {
        // Act
        const minted = await control(
          emulator,
          '/registration_codes',
          requested === undefined ? undefined : { deviceType: requested },
        );
        const code = String(minted.body.registrationCode);
        const created = await stripe.terminal.readers.create({ registration_code: code, location });

        // Assess
        expect(minted).toEqual({ status: 200, body: { registrationCode: code, deviceType } });
        expect(code).toMatch(CODE);
        expect(created).toMatchObject({
          object: 'terminal.reader',
          action: null,
          device_type: deviceType,
          label: code,
          location,
          metadata: {},
          status: 'online',
        });
        expect(created.serial_number).toMatch(UUID);
        expect(await liveReader(stripe, created.id)).toMatchObject({ device_type: deviceType, label: code });
      },
    );

    it('mints a different code each time, and the control client returns it', async () => {
      // Prepare
      const controls = emulatorControls(emulator.url);

      // Act
      const codes = await Promise.all(Array.from({ length: 20 }, () => controls.registrationCode()));
      const s700 = await controls.registrationCode('simulated_stripe_s700');
      const reader = await stripe.terminal.readers.create({ registration_code: s700, label: 'Back till' });

      // Assess
      expect(new Set(codes).size).toBe(20);
      for (const code of codes) expect(code).toMatch(CODE);
      expect(reader).toMatchObject({ device_type: 'simulated_stripe_s700', label: 'Back till' });
    });

    it('refuses a used code with 400 invalid_request_error (param registration_code), registering nothing more', async () => {
      // Prepare
      const code = await emulatorControls(emulator.url).registrationCode();
      const first = await stripe.terminal.readers.create({ registration_code: code, location });
      const before = await allReaders(stripe);

      // Act
      const reused = await stripeError(stripe.terminal.readers.create({ registration_code: code, location }));
      await stripe.terminal.readers.del(first.id);
      const afterDelete = await stripeError(stripe.terminal.readers.create({ registration_code: code }));

      // Assess
      expect(reused).toMatchObject({
        statusCode: 400,
        type: 'StripeInvalidRequestError',
        param: 'registration_code',
        message: `The registration code \`${code}\` has already been used to register a reader.`,
      });
      expect(reused.raw).toMatchObject({ type: 'invalid_request_error' });
      expect(before).toContain(first.id);
      expect(afterDelete).toMatchObject({ statusCode: 400, param: 'registration_code', message: reused.message });
      expect(await allReaders(stripe)).toEqual(before.filter((id) => id !== first.id));
    });

    it('refuses a code never minted, naming it and the minting control', async () => {
      // Prepare
      const before = await allReaders(stripe);

      // Act
      const error = await stripeError(
        stripe.terminal.readers.create({ registration_code: 'puppies-plug-could', location }),
      );

      // Assess
      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param: 'registration_code' });
      expect(error.message).toBe(
        "Invalid registration_code: 'puppies-plug-could'. The emulator registers simulated readers (simulated-wpe, simulated-s700, simulated-s710) and readers showing a one-time code minted by POST /_emulator/registration_codes.",
      );
      expect(await allReaders(stripe)).toEqual(before);
    });

    it('replays the first answer to a retry with the same Idempotency-Key, not the used-code error', async () => {
      // Prepare
      const code = await emulatorControls(emulator.url).registrationCode('simulated_stripe_s710');
      const params = { registration_code: code, location, label: 'Kiosk' };

      // Act
      const first = await stripe.terminal.readers.create(params, { idempotencyKey: 'register-kiosk' });
      const replay = await stripe.terminal.readers.create(params, { idempotencyKey: 'register-kiosk' });
      const otherKey = await stripeError(stripe.terminal.readers.create(params, { idempotencyKey: 'register-again' }));

      // Assess
      expect(replay.id).toBe(first.id);
      expect(replay).toEqual(first);
      expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect(otherKey).toMatchObject({ statusCode: 400, param: 'registration_code' });
      expect(otherKey.message).toContain('has already been used');
      expect((await allReaders(stripe)).filter((id) => id === first.id)).toHaveLength(1);
    });

    it('keeps the code as the default label: an empty label goes back to it', async () => {
      // Prepare
      const code = await emulatorControls(emulator.url).registrationCode('simulated_stripe_s700');
      const created = await stripe.terminal.readers.create({ registration_code: code, label: 'Bar' });

      // Act
      const reset = (await stripe.terminal.readers.update(created.id, { label: '' })) as Stripe.Terminal.Reader;

      // Assess
      expect(reset.label).toBe(code);
    });

    it.each([
      [
        'an unknown device type',
        { deviceType: 'bbpos_wisepad3' },
        'deviceType must be one of: simulated_wisepos_e, simulated_stripe_s700, simulated_stripe_s710',
      ],
      [
        'a device type that is not a string',
        { deviceType: 7 },
        'deviceType must be one of: simulated_wisepos_e, simulated_stripe_s700, simulated_stripe_s710',
      ],
      ['an unknown field', { device_type: 'simulated_wisepos_e' }, 'Unknown field: device_type'],
    ])('refuses %s with 400 and a message', async (_case, body, message) => {
      // Act
      const refused = await control(emulator, '/registration_codes', body);

      // Assess
      expect(refused).toEqual({ status: 400, body: { error: { message } } });
    });

    it('forgets minted codes on reset', async () => {
      // Prepare
      const controls = emulatorControls(emulator.url);
      const unused = await controls.registrationCode();
      const used = await controls.registrationCode();
      await stripe.terminal.readers.create({ registration_code: used });

      // Act
      await control(emulator, '/reset');
      const unusedError = await stripeError(stripe.terminal.readers.create({ registration_code: unused }));
      const usedError = await stripeError(stripe.terminal.readers.create({ registration_code: used }));

      // Assess
      expect(unusedError).toMatchObject({ statusCode: 400, param: 'registration_code' });
      expect(unusedError.message).toContain(`Invalid registration_code: '${unused}'`);
      expect(usedError.message).toContain(`Invalid registration_code: '${used}'`);
    });
  });

  describe('updating readers', () => {
    it('updates the label and merges metadata; an empty value unsets a key, metadata= clears them all', async () => {
      // Prepare
      const created = await stripe.terminal.readers.create({
        registration_code: 'simulated-wpe',
        label: 'Till 1',
        metadata: { till: '1', floor: 'ground' },
      });

      // Act
      const renamed = (await stripe.terminal.readers.update(created.id, {
        label: 'Front till',
        metadata: { floor: '', zone: 'north' },
      })) as Stripe.Terminal.Reader;
      const cleared = (await stripe.terminal.readers.update(created.id, { metadata: '' })) as Stripe.Terminal.Reader;

      // Assess
      expect(renamed).toMatchObject({ label: 'Front till', metadata: { till: '1', zone: 'north' } });
      expect(cleared).toMatchObject({ label: 'Front till', metadata: {} });
      expect(await liveReader(stripe, created.id)).toMatchObject({ label: 'Front till', metadata: {} });
    });

    it('takes the label back to the registration code when it is set empty', async () => {
      // Prepare
      const created = await stripe.terminal.readers.create({ registration_code: 'simulated-s710', label: 'Bar' });

      // Act
      const reset = (await stripe.terminal.readers.update(created.id, { label: '' })) as Stripe.Terminal.Reader;

      // Assess
      expect(reset.label).toBe('simulated-s710');
    });

    it('answers 404 for an unknown reader, and 400 parameter_unknown to a new location (update cannot move a reader)', async () => {
      // Act
      const unknown = await stripeError(stripe.terminal.readers.update('tmr_missing', { label: 'X' }));
      const moved = await rawApi(
        emulator,
        'POST',
        `/v1/terminal/readers/${firstReader(emulator)}`,
        `location=${location}`,
      );

      // Assess
      expect(unknown).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'reader' });
      expect(moved.status).toBe(400);
      expect(moved.body.error).toMatchObject({ code: 'parameter_unknown', param: 'location' });
    });
  });

  describe('deleting readers', () => {
    it('answers the deleted reader; afterwards it is gone from retrieve, list, update, delete and the controls', async () => {
      // Prepare
      const created = await stripe.terminal.readers.create({ registration_code: 'simulated-s700', location });

      // Act
      const deleted = await stripe.terminal.readers.del(created.id);

      // Assess
      expect(deleted).toEqual({
        id: created.id,
        object: 'terminal.reader',
        deleted: true,
        device_type: 'simulated_stripe_s700',
        serial_number: created.serial_number,
      });
      expect(await stripeError(stripe.terminal.readers.retrieve(created.id))).toMatchObject({
        statusCode: 404,
        code: 'resource_missing',
      });
      expect(await allReaders(stripe)).not.toContain(created.id);
      expect(await stripeError(stripe.terminal.readers.update(created.id, { label: 'X' }))).toMatchObject({
        statusCode: 404,
      });
      expect(await stripeError(stripe.terminal.readers.del(created.id))).toMatchObject({ statusCode: 404 });
      expect((await control(emulator, `/readers/${created.id}/offline`)).status).toBe(404);
    });

    it('deletes a reader waiting for a card: the PaymentIntent is left to be paid on another reader, no webhook', async () => {
      // Prepare
      const [doomed, other] = emulator.seeded.locations[0]?.readers.map((reader) => reader.id) ?? [];
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(String(doomed), { payment_intent: paymentIntent.id });

      // Act
      const deleted = await stripe.terminal.readers.del(String(doomed));
      await stripe.terminal.readers.processPaymentIntent(String(other), { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(String(other));
      const settled = await settledReader(stripe, String(other));

      // Assess
      expect(deleted.deleted).toBe(true);
      expect(settled.action?.status).toBe('succeeded');
      expect((await stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe('requires_capture');
      const readerEvents = (await stripe.events.list({ limit: 100 })).data.filter((event) =>
        event.type.startsWith('terminal.reader.'),
      );
      expect(readerEvents.map((event) => (event.data.object as Stripe.Terminal.Reader).id)).toEqual([other]);
    });

    it('deletes a reader while it authorizes: the authorization goes no further, nothing is charged', async () => {
      // Prepare
      const reader = firstReader(emulator);
      await control(emulator, '/config', { authorizationDelayMs: 60_000 });
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);

      // Act
      await stripe.terminal.readers.del(reader);
      await emulatorControls(emulator.url).advanceClock(120);

      // Assess
      const after = await stripe.paymentIntents.retrieve(paymentIntent.id);
      expect(after).toMatchObject({ status: 'requires_payment_method', latest_charge: null, amount_capturable: 0 });
      const types = (await stripe.events.list({ limit: 100 })).data.map((event) => event.type);
      expect(types.filter((type) => type.startsWith('charge.') || type.startsWith('terminal.reader.'))).toEqual([]);
    });

    it('deletes a reader holding a collected card: the PaymentIntent goes back to requires_payment_method', async () => {
      // Prepare
      const reader = firstReader(emulator);
      const paymentIntent = await terminalPaymentIntent(stripe);
      await stripe.terminal.readers.collectPaymentMethod(reader, { payment_intent: paymentIntent.id });
      await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
      await waitFor(async () => {
        const current = await stripe.paymentIntents.retrieve(paymentIntent.id);
        return current.status === 'requires_confirmation' ? current : undefined;
      });

      // Act
      await stripe.terminal.readers.del(reader);

      // Assess
      expect(await stripe.paymentIntents.retrieve(paymentIntent.id)).toMatchObject({
        status: 'requires_payment_method',
        payment_method: null,
      });
    });

    it('answers 404 to a command that was on its way to a reader deleted meanwhile', async () => {
      // Prepare
      const reader = firstReader(emulator);
      await control(emulator, '/config', { readerCommandLatencyMs: 200 });
      const paymentIntent = await terminalPaymentIntent(stripe);

      // Act
      const command = stripeError(
        stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id }),
      );
      await stripe.terminal.readers.del(reader);

      // Assess
      expect(await command).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'reader' });
      expect((await stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe('requires_payment_method');
    });

    it('brings the deleted seeded readers back on /_emulator/reset', async () => {
      // Prepare
      const reader = firstReader(emulator);
      await stripe.terminal.readers.del(reader);

      // Act
      await control(emulator, '/reset');

      // Assess
      expect(await liveReader(stripe, reader)).toMatchObject({ id: reader, status: 'online' });
      expect(firstReader(emulator)).toBe(reader);
    });
  });

  describe('last_seen_at', () => {
    it('keeps up with the clock while online, stops while offline, and moves again once back online', async () => {
      // Prepare
      const reader = firstReader(emulator);
      const controls = emulatorControls(emulator.url);
      const seen = async (): Promise<number> => Number((await liveReader(stripe, reader)).last_seen_at);
      const listed = async (): Promise<number> =>
        Number(
          (await stripe.terminal.readers.list({ location })).data.find((item) => item.id === reader)?.last_seen_at,
        );

      // Act
      const before = (await controls.clock()).nowMs;
      const online = await seen();
      const afterOnline = (await controls.clock()).nowMs;
      await controls.advanceClock(600);
      const advanced = await seen();
      const wentOffline = (await controls.clock()).nowMs;
      await controls.post(`readers/${reader}/offline`);
      const offlineAt = (await controls.clock()).nowMs;
      await controls.advanceClock(3600);
      const offline = await seen();
      const offlineListed = await listed();
      await controls.post(`readers/${reader}/online`);
      await controls.advanceClock(60);
      const back = await seen();
      const backListed = await listed();

      // Assess
      expect(online).toBeGreaterThanOrEqual(before);
      expect(online).toBeLessThanOrEqual(afterOnline);
      expect(advanced - online).toBeGreaterThanOrEqual(600_000);
      expect(offline).toBeGreaterThanOrEqual(wentOffline);
      expect(offline).toBeLessThanOrEqual(offlineAt);
      expect(offlineListed).toBe(offline);
      expect((await liveReader(stripe, reader)).status).toBe('online');
      expect(back - offline).toBeGreaterThanOrEqual(3660_000);
      expect(backListed).toBeGreaterThanOrEqual(back);
    });

    it('stays where it was for a reader that was offline before the clock moved, in every answer', async () => {
      // Prepare
      const reader = firstReader(emulator);
      await control(emulator, `/readers/${reader}/offline`);
      const first = Number((await liveReader(stripe, reader)).last_seen_at);

      // Act
      await emulatorControls(emulator.url).advanceClock(24 * 3600);
      const retrieved = Number((await liveReader(stripe, reader)).last_seen_at);
      const listed = (await stripe.terminal.readers.list({ status: 'offline' })).data[0];

      // Assess
      expect(retrieved).toBe(first);
      expect(listed).toMatchObject({ id: reader, status: 'offline', last_seen_at: first });
    });
  });

  describe('listing readers', () => {
    it('filters by location, status, device_type and serial_number, together', async () => {
      // Prepare
      const other = await stripe.terminal.locations.create({ display_name: 'Other', address: ADDRESS });
      const s700 = await stripe.terminal.readers.create({ registration_code: 'simulated-s700', location: other.id });
      const wpe = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: other.id });
      const [seededWpe, seededS700] = emulator.seeded.locations[0]?.readers.map((reader) => reader.id) ?? [];
      await control(emulator, `/readers/${wpe.id}/offline`);
      await control(emulator, `/readers/${seededS700}/offline`);

      // Act
      const atOther = await stripe.terminal.readers.list({ location: other.id });
      const online = await stripe.terminal.readers.list({ status: 'online' });
      const offline = await stripe.terminal.readers.list({ status: 'offline' });
      const s700s = await stripe.terminal.readers.list({ device_type: 'simulated_stripe_s700' });
      const bySerial = await stripe.terminal.readers.list({ serial_number: s700.serial_number });
      const combined = await stripe.terminal.readers.list({
        location: other.id,
        status: 'online',
        device_type: 'simulated_stripe_s700',
      });
      const nowhere = await stripe.terminal.readers.list({ location: 'tml_nowhere' });
      const badStatus = await rawApi(emulator, 'GET', '/v1/terminal/readers?status=asleep');

      // Assess
      const ids = (list: Stripe.ApiList<Stripe.Terminal.Reader>): string[] => list.data.map((reader) => reader.id);
      expect(ids(atOther)).toEqual([wpe.id, s700.id]);
      expect(ids(online)).toEqual([s700.id, seededWpe]);
      expect(ids(offline)).toEqual([wpe.id, seededS700]);
      expect(ids(s700s)).toEqual([s700.id, seededS700]);
      expect(ids(bySerial)).toEqual([s700.id]);
      expect(ids(combined)).toEqual([s700.id]);
      expect(ids(nowhere)).toEqual([]);
      expect(badStatus.status).toBe(400);
      expect(badStatus.body.error).toMatchObject({ param: 'status' });
    });

    it('pages with limit, starting_after and ending_before; limit is 1 to 100', async () => {
      // Prepare
      for (let index = 0; index < 12; index++) {
        await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', label: `R${index}` });
      }
      const everything = await allReaders(stripe);

      // Act
      const first = await stripe.terminal.readers.list({ limit: 5 });
      const second = await stripe.terminal.readers.list({ limit: 5, starting_after: first.data.at(-1)?.id });
      const last = await stripe.terminal.readers.list({ limit: 5, starting_after: everything.at(-5) });
      const back = await stripe.terminal.readers.list({ limit: 5, ending_before: second.data[0]?.id });
      const tooMany = await stripeError(stripe.terminal.readers.list({ limit: 101 }));
      const none = await stripeError(stripe.terminal.readers.list({ limit: 0 }));
      const unknownCursor = await stripeError(stripe.terminal.readers.list({ starting_after: 'tmr_nope' }));

      // Assess
      expect(everything).toHaveLength(14);
      expect(first.data.map((reader) => reader.label)).toEqual(['R11', 'R10', 'R9', 'R8', 'R7']);
      expect(first.has_more).toBe(true);
      expect(second.data.map((reader) => reader.id)).toEqual(everything.slice(5, 10));
      expect(last.data.map((reader) => reader.id)).toEqual(everything.slice(-4));
      expect(last.has_more).toBe(false);
      expect(back.data.map((reader) => reader.id)).toEqual(everything.slice(0, 5));
      expect(back.has_more).toBe(false);
      expect(tooMany).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer', param: 'limit' });
      expect(none).toMatchObject({ statusCode: 400, param: 'limit' });
      expect(unknownCursor).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'starting_after' });
    });

    it('goes on after a cursor reader that stopped matching the filter between two pages', async () => {
      // Prepare
      for (let index = 0; index < 6; index++) {
        await stripe.terminal.readers.create({ registration_code: 'simulated-s710', label: `S${index}` });
      }
      const first = await stripe.terminal.readers.list({ status: 'online', limit: 3 });
      const cursor = first.data.at(-1)?.id ?? '';
      await control(emulator, `/readers/${cursor}/offline`);

      // Act
      const next = await stripe.terminal.readers.list({ status: 'online', limit: 3, starting_after: cursor });

      // Assess
      expect(first.data.map((reader) => reader.label)).toEqual(['S5', 'S4', 'S3']);
      expect(next.data.map((reader) => reader.label)).toEqual(['S2', 'S1', 'S0']);
      expect(next.has_more).toBe(true);
    });
  });

  describe('locations', () => {
    it('updates display_name, address fields (the rest kept), phone and metadata', async () => {
      // Prepare
      const created = await stripe.terminal.locations.create({
        display_name: 'Back Office',
        address: ADDRESS,
        metadata: { region: 'east', tier: 'gold' },
      });

      // Act
      const updated = (await stripe.terminal.locations.update(created.id, {
        display_name: 'Head Office',
        address: { line1: '2 King St', line2: 'Suite 5' },
        phone: '+14165550100',
        metadata: { tier: '', manager: 'Ana' },
      })) as Stripe.Terminal.Location;

      // Assess
      expect(updated).toMatchObject({
        id: created.id,
        display_name: 'Head Office',
        address: { ...ADDRESS, line1: '2 King St', line2: 'Suite 5' },
        phone: '+14165550100',
        metadata: { region: 'east', manager: 'Ana' },
      });
      expect(await stripe.terminal.locations.retrieve(created.id)).toEqual(updated);
    });

    it("refuses to change a location's country (400, param address[country]), and takes the same country", async () => {
      // Prepare
      const created = await stripe.terminal.locations.create({ display_name: 'Shop', address: ADDRESS });

      // Act
      const moved = await stripeError(stripe.terminal.locations.update(created.id, { address: { country: 'US' } }));
      const same = (await stripe.terminal.locations.update(created.id, {
        address: { country: 'CA', city: 'Ottawa' },
      })) as Stripe.Terminal.Location;

      // Assess
      expect(moved).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param: 'address[country]' });
      expect(same.address).toMatchObject({ country: 'CA', city: 'Ottawa' });
      expect(((await stripe.terminal.locations.retrieve(created.id)) as Stripe.Terminal.Location).address.country).toBe(
        'CA',
      );
    });

    it('deletes a location without readers: the deleted object, then 404 and out of the list', async () => {
      // Prepare
      const created = await stripe.terminal.locations.create({ display_name: 'Pop-up', address: ADDRESS });

      // Act
      const deleted = await stripe.terminal.locations.del(created.id);

      // Assess
      expect(deleted).toEqual({ id: created.id, object: 'terminal.location', deleted: true });
      expect(await stripeError(stripe.terminal.locations.retrieve(created.id))).toMatchObject({
        statusCode: 404,
        code: 'resource_missing',
      });
      expect((await stripe.terminal.locations.list()).data.map((item) => item.id)).toEqual([location]);
      expect(await stripeError(stripe.terminal.locations.del(created.id))).toMatchObject({ statusCode: 404 });
      expect(
        await stripeError(stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: created.id })),
      ).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'location' });
    });

    it('refuses to delete a location readers are registered to, until they are deleted', async () => {
      // Prepare
      const readers = emulator.seeded.locations[0]?.readers.map((reader) => reader.id) ?? [];

      // Act
      const refused = await stripeError(stripe.terminal.locations.del(location));
      for (const reader of readers) await stripe.terminal.readers.del(reader);
      const deleted = await stripe.terminal.locations.del(location);

      // Assess
      expect(refused).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
      expect(refused.message).toContain(String(readers[0]));
      expect(deleted).toMatchObject({ id: location, deleted: true });
      expect((await stripe.terminal.locations.list()).data).toEqual([]);
    });

    it('frees the configuration a deleted location overrode, so it can be deleted', async () => {
      // Prepare
      const configuration = await stripe.terminal.configurations.create({ name: 'Tips' });
      const created = await stripe.terminal.locations.create({
        display_name: 'Cafe',
        address: ADDRESS,
        configuration_overrides: configuration.id,
      });
      const refused = await stripeError(stripe.terminal.configurations.del(configuration.id));

      // Act
      await stripe.terminal.locations.del(created.id);
      const deleted = await stripe.terminal.configurations.del(configuration.id);

      // Assess
      expect(refused.statusCode).toBe(400);
      expect(deleted).toMatchObject({ id: configuration.id, deleted: true });
    });

    it('pages the location list newest first', async () => {
      // Prepare
      const created: string[] = [];
      for (let index = 0; index < 24; index++) {
        created.push((await stripe.terminal.locations.create({ display_name: `L${index}`, address: ADDRESS })).id);
      }
      const expected = [...created.reverse(), location];

      // Act
      const first = await stripe.terminal.locations.list({ limit: 10 });
      const walked: string[] = [];
      for await (const item of stripe.terminal.locations.list({ limit: 10 })) walked.push(item.id);
      const last = await stripe.terminal.locations.list({ limit: 10, starting_after: expected[19] });

      // Assess
      expect(first.data.map((item) => item.id)).toEqual(expected.slice(0, 10));
      expect(first.has_more).toBe(true);
      expect(walked).toEqual(expected);
      expect(last.data.map((item) => item.id)).toEqual(expected.slice(20));
      expect(last.has_more).toBe(false);
    });
  });
});

describe('A large seeded fleet', () => {
  let emulator: Emulator | undefined;

  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  function fleet(locations: number, readersEach: number): SeedLocation[] {
    const codes = ['simulated-wpe', 'simulated-s700', 'simulated-s710'] as const;
    return Array.from({ length: locations }, (_, locationIndex) => ({
      displayName: `Store ${locationIndex + 1}`,
      readers: Array.from({ length: readersEach }, (_, readerIndex) => ({
        label: `Till ${locationIndex + 1}.${readerIndex + 1}`,
        registrationCode: codes[readerIndex % codes.length],
      })),
    }));
  }

  it('starts with 10 readers', async () => {
    // Act
    emulator = await startEmulator({ ...FAST, seed: { locations: fleet(1, 10) } });
    const stripe = sdk(emulator);

    // Assess
    const readers = await stripe.terminal.readers.list({ limit: 100 });
    expect(readers.data).toHaveLength(10);
    expect(readers.has_more).toBe(false);
    expect(new Set(readers.data.map((reader) => reader.serial_number)).size).toBe(10);
    expect(emulator.seeded.locations[0]?.readers).toHaveLength(10);
  });

  it('starts with 500 readers at once, and pages through them, filtered or not, quickly and without a gap', async () => {
    // Prepare
    const started = performance.now();
    emulator = await startEmulator({ ...FAST, seed: { locations: fleet(5, 100) } });
    const startMs = performance.now() - started;
    const stripe = sdk(emulator);
    const seededIds = emulator.seeded.locations.flatMap((seeded) => seeded.readers.map((reader) => reader.id));
    const thirdStore = emulator.seeded.locations[2]?.id ?? '';
    const offline = seededIds.filter((_, index) => index % 7 === 0);
    for (const reader of offline) await control(emulator, `/readers/${reader}/offline`);

    // Act
    const pagingStarted = performance.now();
    const all = await allReaders(stripe);
    const pagingMs = performance.now() - pagingStarted;
    const online = await allReaders(stripe, { status: 'online' });
    const offlineListed = await allReaders(stripe, { status: 'offline' });
    const atThirdStore = await allReaders(stripe, { location: thirdStore });
    const s710 = await allReaders(stripe, { device_type: 'simulated_stripe_s710' });

    // Assess
    expect(seededIds).toHaveLength(500);
    expect(new Set(seededIds).size).toBe(500);
    expect(all).toEqual([...seededIds].reverse());
    expect(online).toHaveLength(500 - offline.length);
    expect(new Set([...online, ...offlineListed]).size).toBe(500);
    expect(offlineListed).toEqual([...offline].reverse());
    expect(atThirdStore).toEqual(emulator.seeded.locations[2]?.readers.map((reader) => reader.id).reverse());
    expect(s710).toHaveLength(165);
    expect(startMs).toBeLessThan(2000);
    expect(pagingMs).toBeLessThan(2000);
  });
});

/**
 * The admin's fleet routes against DynamoDB Local and the Stripe emulator: locations listed and created, readers
 * registered with the code they show, relabelled and deleted (refused while busy), each stored at once so
 * `GET /readers` shows it from the table; every route refused to a caller without `custom:role` = `admin`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import type { ReaderResource } from '../../../shared/payments/resource.ts';
import { savePayment } from '../../../shared/store/payments.ts';
import { getRemovedReader } from '../../../shared/store/readers.ts';
import { processing } from '../../support/fixtures.ts';
import { adminClaimsFor, claimsFor, type LocalParts, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let adminA: ApiClient;
let adminB: ApiClient;
let adminAll: ApiClient;
let cashierA: ApiClient;

beforeAll(async () => {
  parts = await startLocalParts();
  [storeA, storeB] = parts.locations as [typeof storeA, typeof storeB];
  adminA = apiClient(adminClaimsFor([storeA.id]));
  adminB = apiClient(adminClaimsFor([storeB.id]));
  adminAll = apiClient(adminClaimsFor('*'));
  cashierA = apiClient(claimsFor([storeA.id]));
});
afterAll(() => parts?.close());

const address = { line1: '1 Harbour St', city: 'Halifax', postalCode: 'B3J 1A1', country: 'CA', state: 'NS' };
const code = () => emulatorControls(parts.emulator.url).registrationCode();
const requestCount = async () => (await emulatorRequests(parts.emulator.url)).length;
const ids = (readers: ReaderResource[]) => readers.map((reader) => reader.id).sort();

describe('who may run the fleet', () => {
  it('refuses every fleet route to a caller without the admin role (403 forbidden), before Stripe hears of it', async () => {
    // Prepare
    const before = await requestCount();

    // Act
    const answers = [
      await cashierA.listLocations(),
      await cashierA.createLocation({ displayName: 'Nope', address }),
      await cashierA.registerReader({ registrationCode: 'simulated-wpe', locationId: storeA.id }),
      await cashierA.updateReader(storeA.readers[0]!, { label: 'Mine now' }),
      await cashierA.deleteReader(storeA.readers[0]!),
    ];

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('custom:role') });
    }
    expect((await emulatorRequests(parts.emulator.url)).length).toBe(before);
  });

  it('refuses a location of another tenant: registering there is 403; its readers are not found', async () => {
    // Act
    const register = await adminA.registerReader({ registrationCode: 'simulated-wpe', locationId: storeB.id });
    const relabel = await adminA.updateReader(storeB.readers[0]!, { label: 'Taken over' });
    const remove = await adminA.deleteReader(storeB.readers[0]!);

    // Assess
    expect(register.status).toBe(403);
    expect(register.body.error.code).toBe('forbidden');
    expect(relabel.status).toBe(404);
    expect(relabel.body.error.code).toBe('reader_not_found');
    expect(remove.status).toBe(404);
    expect(remove.body.error.code).toBe('reader_not_found');
    expect((await adminB.listReaders()).body.readers.map((reader: ReaderResource) => reader.label)).not.toContain(
      'Taken over',
    );
  });
});

describe('locations', () => {
  it('counts a location’s readers from Stripe until the whole fleet was stored once (a new stack)', async () => {
    // Act
    const own = await adminA.listLocations();

    // Assess
    expect(own.body.locations).toEqual([
      expect.objectContaining({ id: storeA.id, readerCount: storeA.readers.length }),
    ]);
  });

  it('lists the admin’s own locations with their reader counts; `*` lists every location', async () => {
    // Prepare: the readers stored, as the reconciler keeps them.
    await adminAll.listReaders({ refresh: 'true' });

    // Act
    const own = await adminA.listLocations();
    const all = await adminAll.listLocations();

    // Assess
    expect(own.status).toBe(200);
    expect(own.body.locations).toEqual([
      expect.objectContaining({ id: storeA.id, readerCount: storeA.readers.length, address: expect.any(Object) }),
    ]);
    expect(all.body.locations.map((location: { id: string }) => location.id)).toEqual(
      expect.arrayContaining([storeA.id, storeB.id]),
    );
  });

  it('creates a location for an admin of every location; the same Idempotency-Key answers the same one', async () => {
    // Prepare
    const key = `loc-${randomUUID()}`;
    const body = { displayName: 'Harbour Kiosk', address: { ...address, line2: 'Unit 4' } };

    // Act
    const first = await adminAll.createLocation(body, key);
    const again = await adminAll.createLocation(body, key);
    const otherBody = await adminAll.createLocation({ ...body, displayName: 'Another Kiosk' }, key);
    const scoped = await adminA.createLocation(body);
    const badCountry = await adminAll.createLocation({ ...body, address: { ...address, country: 'ca' } });
    const badKey = await adminAll.createLocation(body, 'has space');

    // Assess
    expect(first.status).toBe(201);
    expect(first.body.location).toMatchObject({
      displayName: 'Harbour Kiosk',
      address: { line1: '1 Harbour St', line2: 'Unit 4', city: 'Halifax', postalCode: 'B3J 1A1', country: 'CA' },
      readerCount: 0,
    });
    expect(again.status).toBe(201);
    expect(again.body.location.id).toBe(first.body.location.id);
    expect(otherBody.status).toBe(409);
    expect(otherBody.body.error.code).toBe('idempotency_key_reused');
    expect(scoped.status).toBe(403);
    expect(scoped.body.error.message).toContain('custom:locations = *');
    expect(badCountry.status).toBe(400);
    expect(badCountry.body.error.details).toEqual([expect.objectContaining({ field: 'address.country' })]);
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.details).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
  });
});

describe('registering a reader', () => {
  it('registers the reader showing the code, stores it at once, and GET /readers shows it with no Stripe call', async () => {
    // Prepare
    const registrationCode = await code();

    // Act
    const registered = await adminB.registerReader({ registrationCode, locationId: storeB.id, label: 'Patio' });
    const before = await requestCount();
    const listed = await adminB.listReaders();
    const stripeCalls = (await requestCount()) - before;

    // Assess
    expect(registered.status).toBe(201);
    expect(registered.body.reader).toMatchObject({
      label: 'Patio',
      locationId: storeB.id,
      deviceType: 'simulated_wisepos_e',
      status: 'online',
      health: 'ready',
      paymentId: null,
    });
    expect(ids(listed.body.readers)).toContain(registered.body.reader.id);
    expect(stripeCalls).toBe(0);
  });

  it('refuses an unknown code and a used one (400 invalid_registration_code), registering nothing', async () => {
    // Prepare
    const registrationCode = await code();
    const first = await adminB.registerReader({ registrationCode, locationId: storeB.id });
    const readersBefore = ids((await adminB.listReaders({ refresh: 'true' })).body.readers);

    // Act
    const reused = await adminB.registerReader({ registrationCode, locationId: storeB.id });
    const unknown = await adminB.registerReader({
      registrationCode: 'purple-monkey-dishwasher',
      locationId: storeB.id,
    });
    const empty = await adminB.registerReader({ registrationCode: '  ', locationId: storeB.id });

    // Assess
    expect(first.status).toBe(201);
    for (const answer of [reused, unknown]) {
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'invalid_registration_code', retryable: false });
    }
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('validation_error');
    expect(ids((await adminB.listReaders({ refresh: 'true' })).body.readers)).toEqual(readersBefore);
  });

  it('answers the same reader to a retry with the same Idempotency-Key, though the code is used by then; not once it is deleted', async () => {
    // Prepare
    const registrationCode = await code();
    const key = `reg-${randomUUID()}`;

    // Act
    const first = await adminB.registerReader({ registrationCode, locationId: storeB.id }, key);
    const retry = await adminB.registerReader({ registrationCode, locationId: storeB.id }, key);

    await adminB.deleteReader(first.body.reader.id);
    const afterDelete = await adminB.registerReader({ registrationCode, locationId: storeB.id }, key);

    // Assess
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body.reader.id).toBe(first.body.reader.id);
    // Stripe would replay the deleted reader: the key is spent.
    expect(afterDelete.status).toBe(409);
    expect(afterDelete.body.error).toMatchObject({
      code: 'idempotency_key_reused',
      message: expect.stringContaining('since been deleted'),
    });
    expect(ids((await adminB.listReaders()).body.readers)).not.toContain(first.body.reader.id);
  });

  it('answers 404 location_not_found for a location Stripe does not have', async () => {
    // Act
    const answer = await adminAll.registerReader({ registrationCode: 'simulated-wpe', locationId: 'tml_missing' });

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('location_not_found');
  });
});

describe('relabelling and deleting a reader', () => {
  it('relabels a reader, stored at once', async () => {
    // Prepare
    const { body } = await adminB.registerReader({ registrationCode: 'simulated-s700', locationId: storeB.id });
    const readerId = body.reader.id as string;

    // Act
    const relabelled = await adminB.updateReader(readerId, { label: 'Bar counter' });
    const listed = (await adminB.listReaders()).body.readers as ReaderResource[];
    const blank = await adminB.updateReader(readerId, { label: '' });
    const unknown = await adminB.updateReader('tmr_missing', { label: 'Ghost' });

    // Assess
    expect(relabelled.status).toBe(200);
    expect(relabelled.body.reader).toMatchObject({ id: readerId, label: 'Bar counter' });
    expect(listed.find((reader) => reader.id === readerId)?.label).toBe('Bar counter');
    expect(blank.status).toBe(400);
    expect(unknown.status).toBe(404);
  });

  it('refuses to delete a reader that holds a payment (409 reader_busy); deletes it once cancelled, and again is 204', async () => {
    // Prepare
    const { body } = await adminA.registerReader({ registrationCode: 'simulated-wpe', locationId: storeA.id });
    const readerId = body.reader.id as string;
    const created = await cashierA.create({
      orderId: newOrderId(),
      locationId: storeA.id,
      amount: 1500,
      currency: 'usd',
      captureMethod: 'manual',
      readerId,
    });
    expect(created.status).toBe(201);

    // Act
    const whileBusy = await adminA.deleteReader(readerId);
    const stillListed = ids((await adminA.listReaders()).body.readers);
    // The cashier frees the reader through the API, which records the action cancelled.
    expect((await cashierA.cancelAction(readerId, { paymentId: created.body.payment.id })).status).toBe(200);
    const deleted = await adminA.deleteReader(readerId);
    const listedAfter = ids((await adminA.listReaders()).body.readers);
    const again = await adminA.deleteReader(readerId);
    const byOtherTenant = await adminB.deleteReader(readerId);

    // Assess
    expect(whileBusy.status).toBe(409);
    expect(whileBusy.body.error).toMatchObject({
      code: 'reader_busy',
      message: expect.stringContaining(created.body.payment.id),
    });
    expect(stillListed).toContain(readerId);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect(listedAfter).not.toContain(readerId);
    expect(await getRemovedReader(parts.deps.store, readerId)).toEqual({ locationId: storeA.id });
    expect(again.status).toBe(204);
    expect(byOtherTenant.status).toBe(404);
  });

  it('refuses to delete a reader a payment’s command is still on its way to (claimed, no action at Stripe yet)', async () => {
    // Prepare: the claim of a process attempt on the reader, stored before the reader is asked.
    const { body } = await adminA.registerReader({ registrationCode: 'simulated-wpe', locationId: storeA.id });
    const readerId = body.reader.id as string;
    const claim = { ...processing([readerId]), id: `pi_claim_${randomUUID().slice(0, 8)}`, locationId: storeA.id };
    await savePayment(parts.deps.store, { ...claim, version: 0 });

    // Act
    const answer = await adminA.deleteReader(readerId);
    const listed = ids((await adminA.listReaders()).body.readers);

    // Assess
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'reader_busy', message: expect.stringContaining(claim.id) });
    expect(listed).toContain(readerId);
  });

  it('answers 404 for a reader nobody knows', async () => {
    // Act
    const answer = await adminAll.deleteReader('tmr_never_was');

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('reader_not_found');
  });
});

describe('GET /readers for every location', () => {
  it('answers a caller allowed every location from the table too, by location then id', async () => {
    // Prepare
    await adminAll.listReaders({ refresh: 'true' });

    // Act
    const before = await requestCount();
    const listed = (await adminAll.listReaders()).body.readers as ReaderResource[];
    const stripeCalls = (await emulatorRequests(parts.emulator.url)).slice(before);

    // Assess
    expect(stripeCalls).toEqual([]);
    expect(listed.map((reader) => reader.id)).toEqual(expect.arrayContaining([...storeA.readers, ...storeB.readers]));
    const keys = listed.map((reader) => `${reader.locationId}#${reader.id}`);
    expect(keys).toEqual([...keys].sort());
  });
});

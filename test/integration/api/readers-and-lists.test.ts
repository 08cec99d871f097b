import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as health from '../../../functions/health/health.ts';
import { LEGACY_LIST_KEY, listKey } from '../../../shared/payments/index-attributes.ts';
import { withFlag } from '../../../shared/payments/record.ts';
import { getPayment, updatePayment } from '../../../shared/store/payments.ts';
import {
  apiEvent,
  claimsFor,
  emulatorControl,
  idleReader,
  invoke,
  type LocalParts,
  presentCard,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, newOrderId } from './client.ts';

let parts: LocalParts;
let storeA: { id: string; readers: string[] };
let storeB: { id: string; readers: string[] };
let cashierA: ApiClient;
let cashierB: ApiClient;
let admin: ApiClient;
let readerA1: string;
let readerA2: string;

beforeAll(async () => {
  parts = await startLocalParts();
  [storeA, storeB] = parts.locations as [typeof storeA, typeof storeB];
  [readerA1, readerA2] = storeA.readers as [string, string];
  cashierA = apiClient(claimsFor([storeA.id]));
  cashierB = apiClient(claimsFor([storeB.id]));
  admin = apiClient(claimsFor('*', 'admin'));
});
afterAll(() => parts?.close());
afterEach(async () => {
  await emulatorControl(parts.emulator, '/_emulator/config', { authorizationDelayMs: 50 });
  for (const reader of [readerA1, readerA2]) await idleReader(parts.emulator, reader);
});

const createOn = async (client: ApiClient, locationId: string, extra: Record<string, unknown> = {}) =>
  (await client.create({ orderId: newOrderId(), locationId, amount: 1299, currency: 'usd', ...extra })).body.payment;

describe('GET /readers', () => {
  it('lists only the caller’s readers', async () => {
    // Act
    const mine = await cashierA.listReaders();
    const all = await admin.listReaders();

    // Assess
    expect(mine.status).toBe(200);
    expect(mine.body.readers.map((r: { id: string }) => r.id).sort()).toEqual([...storeA.readers].sort());
    expect(mine.body.readers[0]).toEqual({
      id: expect.any(String),
      label: expect.any(String),
      locationId: storeA.id,
      deviceType: expect.any(String),
      status: 'online',
      action: null,
      lastSeenAt: expect.any(String),
      health: 'ready',
      paymentId: null,
    });
    expect(all.body.readers).toHaveLength(storeA.readers.length + storeB.readers.length);
  });

  it('filters by location, and refuses another location: 403', async () => {
    // Act
    const own = await admin.listReaders({ locationId: storeB.id });
    const other = await cashierA.listReaders({ locationId: storeB.id });

    // Assess
    expect(own.body.readers.map((r: { id: string }) => r.id)).toEqual(storeB.readers);
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('forbidden');
  });
});

describe('GET /readers/{id}', () => {
  it('shows the reader’s current action', async () => {
    // Prepare
    const payment = await createOn(cashierA, storeA.id, { readerId: readerA1 });

    // Act
    const response = await cashierA.getReader(readerA1);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.reader.action).toEqual({
      type: 'process_payment_intent',
      status: 'in_progress',
      failureCode: null,
      failureMessage: null,
      paymentIntentId: payment.id,
    });
  });

  it.each([['an unknown reader', () => 'tmr_doesnotexist', 404, 'reader_not_found']])(
    'refuses %s',
    async (_, readerId, status, code) => {
      // Act
      const response = await cashierA.getReader(readerId());

      // Assess
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
    },
  );
});

describe('POST /readers/{id}/cancel-action', () => {
  it('clears the reader; the payment it held records its action canceled and loses reader_stuck', async () => {
    // Prepare
    const payment = await createOn(cashierA, storeA.id, { readerId: readerA1 });
    const stored = (await getPayment(parts.deps.store, payment.id))!;
    await updatePayment(parts.deps.store, stored, (record) => withFlag(record, 'reader_stuck', new Date()));

    // Act
    const response = await cashierA.cancelAction(readerA1, { paymentId: payment.id });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.reader.action).toBeNull();
    expect((await cashierA.get(payment.id)).body.payment).toMatchObject({
      status: 'requires_payment_method',
      readerAction: { status: 'failed', failureCode: 'canceled' },
      flags: [],
    });
  });

  it('clears whatever the reader holds when no payment is named', async () => {
    // Prepare
    const payment = await createOn(cashierA, storeA.id, { readerId: readerA2 });

    // Act
    const response = await cashierA.cancelAction(readerA2);

    // Assess
    expect(response.status).toBe(200);
    expect((await cashierA.get(payment.id)).body.payment.readerAction.failureCode).toBe('canceled');
  });

  it('refuses when the reader is now on another payment: 409 invalid_state, nothing cancelled', async () => {
    // Prepare
    const earlier = await createOn(cashierA, storeA.id);
    const current = await createOn(cashierA, storeA.id, { readerId: readerA1 });

    // Act
    const response = await cashierA.cancelAction(readerA1, { paymentId: earlier.id });

    // Assess
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'invalid_state', details: { paymentId: current.id } });
    expect((await cashierA.getReader(readerA1)).body.reader.action.status).toBe('in_progress');
  });

  it('refuses while a card is being authorized: 409 reader_busy', async () => {
    // Prepare
    await emulatorControl(parts.emulator, '/_emulator/config', { authorizationDelayMs: 4_000 });
    const payment = await createOn(cashierA, storeA.id, { readerId: readerA1 });
    await presentCard(parts.emulator, readerA1);

    // Act
    const response = await cashierA.cancelAction(readerA1, { paymentId: payment.id });

    // Assess
    expect(response.status).toBe(409);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.body.error).toMatchObject({ code: 'reader_busy', retryable: true });
  });

  it('reports an offline reader: 503 reader_offline', async () => {
    // Prepare
    await createOn(cashierA, storeA.id, { readerId: readerA2 });
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerA2}/offline`);

    // Act
    const response = await cashierA.cancelAction(readerA2);

    // Assess
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('reader_offline');
  });

  it.each([
    ['an unknown reader', () => 'tmr_doesnotexist', undefined, 404, 'reader_not_found'],
    ['an unknown payment', () => readerA1, 'pi_doesnotexist', 404, 'payment_not_found'],
  ])('refuses %s', async (_, readerId, paymentId, status, code) => {
    // Act
    const response = await cashierA.cancelAction(readerId(), paymentId === undefined ? undefined : { paymentId });

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });
});

describe('GET /payments', () => {
  it('lists the caller’s payments newest first, page by page, and never another location’s', async () => {
    // Prepare
    const fresh = apiClient(claimsFor([storeB.id], 'lister'));
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push((await createOn(fresh, storeB.id)).id);

    // Act
    const first = await fresh.list({ limit: '2' });
    const second = await fresh.list({ limit: '2', cursor: first.body.nextCursor });
    const third = await fresh.list({ limit: '2', cursor: second.body.nextCursor });

    // Assess
    const pages = [first, second, third].flatMap((page) => page.body.payments.map((p: { id: string }) => p.id));
    expect(pages).toEqual([...created].reverse());
    expect(third.body.nextCursor).toBeNull();
    const seenByA = (await cashierA.list({ limit: '100' })).body.payments.map(
      (p: { locationId: string }) => p.locationId,
    );
    expect(seenByA.every((location: string) => location === storeA.id)).toBe(true);
  });

  it('merges every location for a caller with several, and all for *', async () => {
    // Prepare
    const both = apiClient(claimsFor([storeA.id, storeB.id]));
    const a = await createOn(cashierA, storeA.id);
    const b = await createOn(cashierB, storeB.id);

    // Act
    const merged = await both.list({ limit: '2' });
    const everything = await admin.list({ limit: '2' });

    // Assess
    expect(merged.body.payments.map((p: { id: string }) => p.id)).toEqual([b.id, a.id]);
    expect(everything.body.payments.map((p: { id: string }) => p.id)).toEqual([b.id, a.id]);
  });

  it('pages every payment for * across the listing partitions, one stored before they were split among them', async () => {
    // Prepare
    const created: string[] = [];
    for (let i = 0; i < 6; i += 1)
      created.push((await createOn(i % 2 === 0 ? cashierA : cashierB, i % 2 === 0 ? storeA.id : storeB.id)).id);
    await parts.deps.store.db.send(
      new UpdateCommand({
        TableName: parts.tableName,
        Key: { pk: `PAYMENT#${created[0]}`, sk: 'PAYMENT' },
        UpdateExpression: 'SET listKey = :legacy',
        ExpressionAttributeValues: { ':legacy': LEGACY_LIST_KEY },
      }),
    );
    expect(new Set(created.map(listKey)).size).toBeGreaterThan(1);

    // Act
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 3; page += 1) {
      const response = await admin.list({ limit: '2', ...(cursor === undefined ? {} : { cursor }) });
      ids.push(...response.body.payments.map((p: { id: string }) => p.id));
      cursor = response.body.nextCursor;
    }

    // Assess
    expect(ids).toEqual([...created].reverse());
  });

  it('refuses every route to a token issued without its second factor: 403 forbidden saying what to do', async () => {
    // Prepare: what Cognito issues a `*` account signed in with a password alone (functions/identity/issue-tokens.ts).
    const payment = await createOn(cashierA, storeA.id);
    const withoutSecondFactor = apiClient({ sub: 'manager-1', mfa_required: 'true' });

    // Act
    const answers = [
      await withoutSecondFactor.list({ limit: '10' }),
      await withoutSecondFactor.get(payment.id),
      await withoutSecondFactor.cancel(payment.id),
    ];

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('second factor') });
    }
    expect((await cashierA.get(payment.id)).body.payment.status).toBe('requires_payment_method');
  });

  it('filters by status and by flag', async () => {
    // Prepare
    const canceled = await createOn(cashierA, storeA.id);
    await cashierA.cancel(canceled.id);
    const flagged = await createOn(cashierA, storeA.id);
    await updatePayment(parts.deps.store, (await getPayment(parts.deps.store, flagged.id))!, (record) =>
      withFlag(record, 'capture_deadline_approaching', new Date()),
    );

    // Act
    const byStatus = await cashierA.list({ status: 'canceled', limit: '100' });
    const byFlag = await cashierA.list({ flag: 'capture_deadline_approaching' });

    // Assess
    expect(byStatus.body.payments.length).toBeGreaterThan(0);
    expect(byStatus.body.payments.every((p: { status: string }) => p.status === 'canceled')).toBe(true);
    expect(byStatus.body.payments.map((p: { id: string }) => p.id)).toContain(canceled.id);
    expect(byFlag.body.payments.map((p: { id: string }) => p.id)).toEqual([flagged.id]);
  });

  it.each([
    ['another location', { locationId: 'tml_elsewhere' }, 403, 'forbidden'],
    ['a limit over 100', { limit: '101' }, 400, 'validation_error'],
    ['a limit that is not a number', { limit: 'ten' }, 400, 'validation_error'],
    ['a cursor it did not make', { cursor: 'abc' }, 400, 'validation_error'],
    ['an unknown status', { status: 'paid' }, 400, 'validation_error'],
    ['an unknown flag', { flag: 'late' }, 400, 'validation_error'],
  ])('refuses %s', async (_, query, status, code) => {
    // Act
    const response = await cashierA.list(query);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });
});

describe('GET /health', () => {
  it('answers 200 without a token', async () => {
    // Act
    const response = await invoke(health, apiEvent({ method: 'GET', route: '/health', claims: null }));

    // Assess
    expect(response).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(response.headers['x-request-id']).toEqual(expect.any(String));
  });
});

describe('Stripe keys', () => {
  it('sends every Stripe write with a key derived from the operation', async () => {
    // Prepare
    const payment = await createOn(cashierA, storeA.id, { readerId: readerA2 });
    await cashierA.cancel(payment.id);

    // Act
    const writes = (await emulatorRequests(parts.emulator.url)).filter(
      // The tests' own card taps and reader resets are not the API's writes.
      (r) => r.method === 'POST' && !r.path.startsWith('/v1/test_helpers/') && !r.idempotencyKey?.startsWith('test:'),
    );

    // Assess
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) {
      expect(write.idempotencyKey).toMatch(/^(create|process|capture|cancel|update|cancel-action):/);
    }
  });
});

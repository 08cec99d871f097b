/**
 * Live updates end to end on the local stack: the WebSocket API (authorizer, routes, the management API), the
 * table's stream read as the event source mapping reads it, and the notifier, with the real handlers.
 */
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import { SERVER_MESSAGE_TYPES } from '../../../shared/live/messages.ts';
import { connectLive, type LiveClient, type LiveMessage, latestPayment } from '../../support/live.ts';
import { api, type LocalStack, startTestStack } from '../../support/stack.ts';

let stack: LocalStack;
let downtown: LocalStack['state']['locations'][number];
let airport: LocalStack['state']['locations'][number];
const clients: LiveClient[] = [];
const seenTypes = new Set<string>();

beforeAll(async () => {
  stack = await startTestStack({
    // Reconciler runs are started by the tests.
    reconcileIntervalSeconds: 3600,
    emulator: { authorizationDelayMs: 50 },
    env: { LIVE_MAX_SUBSCRIPTIONS: '3', STUCK_ACTION_AFTER_SECONDS: '1', POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
  [downtown, airport] = stack.state.locations as [typeof downtown, typeof airport];
});

afterEach(async () => {
  for (const client of clients.splice(0)) {
    expect(client.problems).toEqual([]);
    for (const message of client.messages) seenTypes.add(message.type);
    await client.close();
  }
});

afterAll(async () => {
  await stack?.stop();
});

async function connect(token: string | undefined = downtown.token): Promise<LiveClient> {
  const client = await connectLive(stack.state.liveUrl, token);
  clients.push(client);
  return client;
}

async function createPayment(location = downtown, body: Record<string, unknown> = {}): Promise<LiveMessage> {
  const created = await api<LiveMessage>(stack, 'POST', '/payments', {
    token: location.token,
    body: {
      orderId: `order-${Math.random().toString(36).slice(2, 10)}`,
      locationId: location.id,
      amount: 1299,
      currency: 'usd',
      captureMethod: 'manual',
      ...body,
    },
  });
  expect(created.status).toBe(201);
  return created.body.payment;
}

async function tap(readerId: string, cardNumber?: string): Promise<void> {
  const form = new URLSearchParams({ type: 'card_present' });
  if (cardNumber !== undefined) form.set('card_present[number]', cardNumber);
  const tapped = await fetch(
    `${stack.emulator.url}/v1/test_helpers/terminal/readers/${readerId}/present_payment_method`,
    {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.state.stripe.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
    },
  );
  expect(tapped.status).toBe(200);
}

async function liveItems(entity: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await stack.deps.store.db.send(
    new ScanCommand({
      TableName: stack.deps.store.table,
      FilterExpression: 'entity = :entity',
      ExpressionAttributeValues: { ':entity': entity },
      ConsistentRead: true,
    }),
  );
  return Items;
}

const isPayment =
  (id: string, check: (payment: LiveMessage) => boolean = () => true) =>
  (message: LiveMessage) =>
    message.type === 'payment.updated' && message.payment.id === id && check(message.payment);

describe('connecting', () => {
  it('refuses the upgrade with 401 for a missing, expired or foreign token, or one without its second factor', async () => {
    // Prepare
    const before = (await liveItems('connection')).length;
    const expired = await stack.token([downtown.id], { expiresInSeconds: -60 });
    const wrongAudience = await stack.token([downtown.id], { claims: { aud: 'someone-else' } });
    // Issued to a `*` account signed in without a second factor: the privileged claims withheld.
    const withoutSecondFactor = await stack.token([], { claims: { mfa_required: 'true' } });

    // Act
    const refusals = await Promise.all(
      [undefined, '', 'not-a-jwt', expired, wrongAudience, withoutSecondFactor].map((token) =>
        connectLive(stack.state.liveUrl, token).then(
          () => 'connected',
          (error: Error) => error.message,
        ),
      ),
    );

    // Assess
    expect(refusals).toEqual(Array(6).fill('Unexpected server response: 401'));
    expect((await liveItems('connection')).length).toBe(before);
  });

  it('admits a valid token, answers ping, and forgets the connection when it closes', async () => {
    // Prepare
    const client = await connect();

    // Act
    const pong = await client.request({ action: 'ping' });
    const stored = await liveItems('connection');

    // Assess
    expect(pong).toEqual({ type: 'pong' });
    expect(stored.map((item) => item.locations)).toContain(downtown.id);
    await client.close();
    await expect
      .poll(async () => (await liveItems('connection')).filter((item) => item.locations === downtown.id).length)
      .toBe(0);
  });
});

describe('a payment followed live', () => {
  it('sends every change of a location’s payment, from the API, the processor and a capture, in versions that grow', async () => {
    // Prepare
    const client = await connect();
    const readerId = downtown.readers[0] as string;
    const subscribed = await client.request({ action: 'subscribe', locationId: downtown.id });
    expect(subscribed).toMatchObject({ type: 'subscribed', locationId: downtown.id });
    expect(subscribed.readers.map((entry: LiveMessage) => entry.reader.id).sort()).toEqual(
      [...downtown.readers].sort(),
    );

    // Act
    const payment = await createPayment(downtown, { readerId });
    await client.next(isPayment(payment.id, (live) => live.readerAction?.status === 'in_progress'));
    await tap(readerId);
    await client.next(isPayment(payment.id, (live) => live.status === 'requires_capture'));
    const captured = await api(stack, 'POST', `/payments/${payment.id}/capture`, { token: downtown.token });
    expect(captured.status).toBe(200);
    const final = await client.next(isPayment(payment.id, (live) => live.status === 'succeeded'));

    // Assess
    const versions = client.messages.filter(isPayment(payment.id)).map((message) => message.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(latestPayment(client.messages, payment.id)).toEqual(final);
    const polled = await api<LiveMessage>(stack, 'GET', `/payments/${payment.id}`, { token: downtown.token });
    expect(final.payment).toEqual(polled.body.payment);
  });

  it('sends a payment subscribed to by id, and nothing of another location’s payments', async () => {
    // Prepare
    const client = await connect();
    const mine = await createPayment(downtown);
    const theirs = await createPayment(airport);
    const subscribed = await client.request({ action: 'subscribe', paymentId: mine.id });
    expect(subscribed).toMatchObject({ type: 'subscribed', paymentId: mine.id, payment: { id: mine.id } });

    // Act
    for (const [payment, location] of [
      [theirs, airport],
      [mine, downtown],
    ] as const) {
      const cancelled = await api(stack, 'POST', `/payments/${payment.id}/cancel`, { token: location.token });
      expect(cancelled.status).toBe(200);
    }
    await client.next(isPayment(mine.id, (live) => live.status === 'canceled'));

    // Assess: the stream is in order, so the other payment's change came (and was not sent) before this one.
    expect(client.messages.some((message) => message.payment?.id === theirs.id)).toBe(false);
  });
});

describe('every path that changes a payment', () => {
  it('the reconciler: a reader left stuck is flagged, and the flag is pushed', async () => {
    // Prepare
    const client = await connect();
    const readerId = downtown.readers[1] as string;
    await client.request({ action: 'subscribe', locationId: downtown.id });
    await emulatorControls(stack.emulator.url).post(`readers/${readerId}/next-authorization`, { fault: 'disconnect' });
    const payment = await createPayment(downtown, { readerId, captureMethod: 'automatic' });
    await tap(readerId);

    // Act
    await emulatorControls(stack.emulator.url).advanceClock(5);
    const run = await stack.scheduler.runNow();
    expect(run?.error).toBeUndefined();

    // Assess
    const flagged = await client.next(isPayment(payment.id, (live) => live.flags.includes('reader_stuck')));
    expect(flagged.payment.readerAction.status).toBe('in_progress');
  });

  it('a refresh: what a lost webhook would have said is pushed once the POS refreshes', async () => {
    // Prepare
    const controls = emulatorControls(stack.emulator.url);
    const client = await connect();
    const readerId = downtown.readers[0] as string;
    await controls.post('webhooks', { mode: 'drop' });
    try {
      const payment = await createPayment(downtown, { readerId });
      await client.request({ action: 'subscribe', paymentId: payment.id });
      await tap(readerId);

      // Act
      await expect
        .poll(async () => {
          const read = await api<LiveMessage>(stack, 'GET', `/payments/${payment.id}?refresh=true`, {
            token: downtown.token,
          });
          return read.body.payment.status;
        })
        .toBe('requires_capture');

      // Assess
      await client.next(isPayment(payment.id, (live) => live.status === 'requires_capture'));
    } finally {
      await controls.post('webhooks', { mode: 'deliver' });
    }
  });

  it('a reader: a change Stripe shows is pushed as reader.updated once the service reads it', async () => {
    // Prepare
    const client = await connect();
    const readerId = downtown.readers[1] as string;
    const subscribed = await client.request({ action: 'subscribe', locationId: downtown.id });
    const before = subscribed.readers.find((entry: LiveMessage) => entry.reader.id === readerId);
    const label = `Register ${Math.random().toString(36).slice(2, 8)}`;
    const renamed = await fetch(`${stack.emulator.url}/v1/terminal/readers/${readerId}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.state.stripe.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ label }).toString(),
    });
    expect(renamed.status).toBe(200);

    // Act
    const listed = await api(stack, 'GET', `/readers?locationId=${downtown.id}&refresh=true`, {
      token: downtown.token,
    });
    expect(listed.status).toBe(200);

    // Assess
    const updated = await client.next(
      (message) =>
        message.type === 'reader.updated' && message.reader.id === readerId && message.reader.label === label,
    );
    expect(updated.version).toBeGreaterThan(before.version);
  });
});

describe('the reader fleet', () => {
  it('a reader going offline and coming back: each pushed as reader.updated by the next reconciler run', async () => {
    // Prepare
    const client = await connect(airport.token);
    const readerId = airport.readers[0] as string;
    const controls = emulatorControls(stack.emulator.url);
    await client.request({ action: 'subscribe', locationId: airport.id });
    expect((await stack.scheduler.runNow())?.error).toBeUndefined();
    const isReader = (health: string) => (message: LiveMessage) =>
      message.type === 'reader.updated' && message.reader.id === readerId && message.reader.health === health;

    // Act
    await controls.post(`readers/${readerId}/offline`);
    try {
      expect((await stack.scheduler.runNow())?.error).toBeUndefined();
      const offline = await client.next(isReader('offline'));
      await controls.post(`readers/${readerId}/online`);
      expect((await stack.scheduler.runNow())?.error).toBeUndefined();
      const back = await client.next(isReader('ready'));

      // Assess
      expect(offline.reader).toMatchObject({ status: 'offline', paymentId: null, lastSeenAt: expect.any(String) });
      expect(back.reader.status).toBe('online');
      expect(back.version).toBe(offline.version + 1);
    } finally {
      await controls.post(`readers/${readerId}/online`);
    }
  });
  it('an admin registers a reader and deletes it: reader.updated, then reader.removed with the next version', async () => {
    // Prepare
    const client = await connect(airport.token);
    await client.request({ action: 'subscribe', locationId: airport.id });

    // Act
    const registered = await api<{ reader: { id: string } }>(stack, 'POST', '/readers', {
      token: stack.state.adminToken,
      body: { registrationCode: 'simulated-s710', locationId: airport.id, label: 'Gate 7' },
    });
    const readerId = registered.body.reader.id;
    const added = await client.next((message) => message.type === 'reader.updated' && message.reader.id === readerId);
    const deleted = await api(stack, 'DELETE', `/readers/${readerId}`, { token: stack.state.adminToken });
    const removed = await client.next((message) => message.type === 'reader.removed' && message.readerId === readerId);

    // Assess
    expect(registered.status).toBe(201);
    expect(added.reader).toMatchObject({ label: 'Gate 7', locationId: airport.id, health: 'ready' });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(removed).toEqual({ type: 'reader.removed', readerId, locationId: airport.id, version: added.version + 1 });
  });
});

describe('bad input', () => {
  it('answers each bad frame with an error and stays usable; nothing reaches another caller', async () => {
    // Prepare
    const client = await connect();
    const bystander = await connect(downtown.token);
    await bystander.request({ action: 'ping' });

    // Act
    const answers: LiveMessage[] = [];
    for (const frame of [
      '{not json',
      '"a string"',
      '[]',
      JSON.stringify({ action: 'dance' }),
      JSON.stringify({ hello: 'world' }),
      JSON.stringify({ action: 'subscribe' }),
      JSON.stringify({ action: 'subscribe', locationId: downtown.id, paymentId: 'pi_1' }),
      JSON.stringify({ action: 'subscribe', paymentId: 'pi_1', extra: true }),
      JSON.stringify({ action: 'subscribe', paymentId: '../etc' }),
      JSON.stringify({ action: 'ping', padding: 'x'.repeat(5_000) }),
    ]) {
      const from = client.messages.length;
      client.sendRaw(frame);
      answers.push(await client.next(() => true, { from }));
    }
    const pong = await client.request({ action: 'ping' });

    // Assess
    expect(answers.map((answer) => [answer.type, answer.code])).toEqual([
      ['error', 'invalid_message'],
      ['error', 'invalid_message'],
      ['error', 'invalid_message'],
      ['error', 'unknown_action'],
      ['error', 'unknown_action'],
      ['error', 'invalid_message'],
      ['error', 'invalid_message'],
      ['error', 'invalid_message'],
      ['error', 'invalid_message'],
      ['error', 'message_too_large'],
    ]);
    expect(answers.every((answer) => typeof answer.message === 'string' && answer.message.length > 0)).toBe(true);
    expect(pong).toEqual({ type: 'pong' });
    expect(bystander.messages).toEqual([{ type: 'pong' }]);
  });

  it('closes the connection on a frame over API Gateway’s 32 KB, as API Gateway does', async () => {
    // Prepare
    const client = await connect();

    // Act
    client.sendRaw(JSON.stringify({ action: 'ping', padding: 'x'.repeat(40_000) }));

    // Assess
    expect((await client.closed).code).toBe(1009);
  });

  it('answers not_found alike for another location, an unknown payment and another location’s payment', async () => {
    // Prepare
    const client = await connect();
    const theirs = await createPayment(airport);
    const admin = await connect(stack.state.adminToken);

    // Act
    const answers = [
      await client.request({ action: 'subscribe', locationId: airport.id }),
      await client.request({ action: 'subscribe', paymentId: 'pi_doesnotexist' }),
      await client.request({ action: 'subscribe', paymentId: theirs.id }),
      await admin.request({ action: 'subscribe', locationId: 'tml_doesnotexist' }),
    ];
    const adminOfAirport = await admin.request({ action: 'subscribe', locationId: airport.id });

    // Assess
    const bodies = answers.map(({ code, message, action }) => ({ code, message, action }));
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
    expect(bodies[0]).toMatchObject({ code: 'not_found', action: 'subscribe' });
    expect(adminOfAirport).toMatchObject({ type: 'subscribed', locationId: airport.id });
    expect(await liveItems('subscription')).not.toContainEqual(
      expect.objectContaining({ connectionId: expect.any(String), pk: `TOPIC#payment#${theirs.id}` }),
    );
  });

  it('caps a connection’s subscriptions, and a flood of frames is answered one by one, on that connection only', async () => {
    // Prepare
    const client = await connect();
    const bystander = await connect();
    const payments = [await createPayment(), await createPayment(), await createPayment(), await createPayment()];
    await bystander.request({ action: 'subscribe', paymentId: payments[0]?.id });

    // Act
    const subscribed = [];
    for (const payment of payments)
      subscribed.push(await client.request({ action: 'subscribe', paymentId: payment.id }));
    const again = await client.request({ action: 'subscribe', paymentId: payments[0]?.id });
    const from = client.messages.length;
    for (let frame = 0; frame < 200; frame += 1) {
      client.sendRaw(frame % 2 === 0 ? '{' : JSON.stringify({ action: 'subscribe', paymentId: payments[3]?.id }));
    }
    const answersSince = () => client.messages.slice(from).filter((message) => message.type === 'error');
    await expect.poll(() => answersSince().length, { timeout: 20_000 }).toBe(200);
    const flood = client.messages.slice(from);
    const pong = await client.request({ action: 'ping' });

    // Assess
    expect(subscribed.map((answer) => (answer.type === 'error' ? answer.code : answer.type))).toEqual([
      'subscribed',
      'subscribed',
      'subscribed',
      'too_many_subscriptions',
    ]);
    expect(again.type).toBe('subscribed');
    // Besides the answers, only the subscribed payments' own changes (their creation, applied from the stream).
    expect(flood.filter((message) => !['error', 'payment.updated'].includes(message.type))).toEqual([]);
    // Frames are handled concurrently, as API Gateway invokes the route's function for each: answers may come in
    // another order.
    const codes = answersSince().map((answer) => answer.code);
    expect(codes.filter((code) => code === 'invalid_message')).toHaveLength(100);
    expect(codes.filter((code) => code === 'too_many_subscriptions')).toHaveLength(100);
    expect(pong).toEqual({ type: 'pong' });
    expect(bystander.messages.filter((message) => message.type === 'error')).toEqual([]);
  });
});

describe('subscriptions end', () => {
  it('unsubscribe: the payment’s changes stop coming; another subscription’s still come', async () => {
    // Prepare
    const client = await connect();
    const [left, kept] = [await createPayment(), await createPayment()];
    await client.request({ action: 'subscribe', paymentId: left.id });
    await client.request({ action: 'subscribe', paymentId: kept.id });

    // Act
    const answer = await client.request({ action: 'unsubscribe', paymentId: left.id });
    for (const payment of [left, kept]) {
      expect((await api(stack, 'POST', `/payments/${payment.id}/cancel`, { token: downtown.token })).status).toBe(200);
    }
    await client.next(isPayment(kept.id, (live) => live.status === 'canceled'));

    // Assess
    expect(answer).toEqual({ type: 'unsubscribed', paymentId: left.id });
    expect(client.messages.filter(isPayment(left.id, (live) => live.status === 'canceled'))).toEqual([]);
  });

  it('a connection that is gone is removed by the notifier, orphaned subscriptions too, and the others still get the change', async () => {
    // Prepare
    const client = await connect();
    const payment = await createPayment();
    await client.request({ action: 'subscribe', paymentId: payment.id });
    const gone = 'GoneConnection0=';
    // A subscription whose connection item is already gone (an unsubscribe that raced a subscribe leaves one).
    const orphan = 'OrphanSubscrip=';
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    for (const Item of [
      {
        pk: `TOPIC#payment#${payment.id}`,
        sk: `CONNECTION#${orphan}`,
        entity: 'subscription',
        connectionId: orphan,
        expiresAt,
      },
      {
        pk: `CONNECTION#${gone}`,
        sk: 'CONNECTION',
        entity: 'connection',
        topics: new Set([`payment#${payment.id}`]),
        expiresAt,
      },
      {
        pk: `TOPIC#payment#${payment.id}`,
        sk: `CONNECTION#${gone}`,
        entity: 'subscription',
        connectionId: gone,
        expiresAt,
      },
    ]) {
      await stack.deps.store.db.send(new PutCommand({ TableName: stack.deps.store.table, Item }));
    }

    // Act
    expect((await api(stack, 'POST', `/payments/${payment.id}/cancel`, { token: downtown.token })).status).toBe(200);
    await client.next(isPayment(payment.id, (live) => live.status === 'canceled'));

    // Assess
    await expect
      .poll(async () =>
        [...(await liveItems('connection')), ...(await liveItems('subscription'))].filter((item) =>
          [gone, orphan].some((id) => String(item.sk).includes(id) || String(item.pk).includes(id)),
        ),
      )
      .toEqual([]);
  });

  it('a token that expires while connected: no more updates, and a subscribe is answered token_expired', async () => {
    // Prepare
    const token = await stack.token([downtown.id], { expiresInSeconds: 30 });
    const client = await connect(token);
    const payment = await createPayment();
    await client.request({ action: 'subscribe', paymentId: payment.id });
    const watcher = await connect();
    await watcher.request({ action: 'subscribe', paymentId: payment.id });

    // Act
    await emulatorControls(stack.emulator.url).advanceClock(60);
    const answer = await client.request({ action: 'subscribe', locationId: downtown.id });
    expect((await api(stack, 'POST', `/payments/${payment.id}/cancel`, { token: downtown.token })).status).toBe(200);
    await watcher.next(isPayment(payment.id, (live) => live.status === 'canceled'));

    // Assess
    expect(answer).toMatchObject({ type: 'error', code: 'token_expired' });
    expect(client.messages.filter(isPayment(payment.id, (live) => live.status === 'canceled'))).toEqual([]);
  });
});

describe('the notifier failing', () => {
  it('a batch whose subscribers cannot be read is delivered again; the client ends on the right state', async () => {
    // Prepare: the next three reads of a topic’s subscribers fail (two topics are read at once), as a throttled table would.
    const client = await connect();
    const payment = await createPayment();
    await client.request({ action: 'subscribe', paymentId: payment.id });
    let failures = 3;
    const name = 'failTopicQueries';
    stack.liveDeps.store.db.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { ExpressionAttributeValues?: Record<string, unknown> };
        const key = JSON.stringify(input.ExpressionAttributeValues ?? {});
        if (key.includes('TOPIC#') && failures > 0) {
          failures -= 1;
          throw Object.assign(new Error('Throughput exceeds the current capacity'), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    const invocationsBefore = stack.streamPoller.invocations();

    try {
      // Act
      expect((await api(stack, 'POST', `/payments/${payment.id}/cancel`, { token: downtown.token })).status).toBe(200);
      const canceled = await client.next(isPayment(payment.id, (live) => live.status === 'canceled'));

      // Assess
      expect(failures).toBe(0);
      expect(stack.streamPoller.invocations() - invocationsBefore).toBeGreaterThanOrEqual(3);
      expect(latestPayment(client.messages, payment.id)).toEqual(canceled);
      expect(stack.streamPoller.failed).toEqual([]);
    } finally {
      stack.liveDeps.store.db.middlewareStack.remove(name);
    }
  });
});

describe('the contract', () => {
  it('every kind of message the service sends was received in this file, each matching asyncapi.yaml', () => {
    // Assess (each client's messages were checked against asyncapi.yaml as they arrived, in afterEach)
    expect([...seenTypes].sort()).toEqual([...SERVER_MESSAGE_TYPES].sort());
  });
});

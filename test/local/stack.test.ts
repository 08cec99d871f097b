import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { decodeJwt } from 'jose';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../local/lambda.ts';
import { closeServer, listen } from '../../local/ports.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
import { paymentsTable } from '../../shared/store/table.ts';
import { api, type LocalStack, type StackState, startTestStack } from '../support/stack.ts';

let stack: LocalStack;
let stateDir: string;
let stateFile: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'local-stack-'));
  stateFile = join(stateDir, 'stack.json');
  stack = await startTestStack({ stateFile, env: { STUCK_ACTION_AFTER_SECONDS: '2.5' } }, { ownDynamoDb: true });
});

afterAll(async () => {
  await stack?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe('the local stack', () => {
  it('writes stack.json in the shape of the contract, with a token per seeded location', async () => {
    // Act
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as StackState;

    // Assess
    expect(Object.keys(state).sort()).toEqual([
      'adminToken',
      'apiUrl',
      'consoleUrl',
      'dynamodb',
      'liveUrl',
      'locations',
      'sqs',
      'stripe',
    ]);
    expect(state.liveUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(state.consoleUrl).toBe(`${stack.apiUrl}/console/`);
    expect(state.apiUrl).toBe(stack.apiUrl);
    expect(state.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(state.stripe).toEqual({
      apiBase: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      secretKey: expect.stringMatching(/^sk_test_\w+$/),
      webhookSecret: expect.stringMatching(/^whsec_\w+$/),
    });
    expect(state.dynamodb).toEqual({
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      tableName: expect.any(String),
    });
    expect(state.sqs).toEqual({ endpoint: stack.sqs.endpoint, queueUrl: stack.sqs.queueUrl, dlqUrl: stack.sqs.dlqUrl });
    expect(state.locations).toHaveLength(2);
    for (const location of state.locations) {
      expect(Object.keys(location).sort()).toEqual(['displayName', 'id', 'readers', 'token']);
      expect(location.id).toMatch(/^tml_/);
      expect(location.readers).toHaveLength(2);
      for (const reader of location.readers) expect(reader).toMatch(/^tmr_/);
      expect(decodeJwt(location.token)['custom:locations']).toBe(location.id);
    }
    expect(decodeJwt(state.adminToken)['custom:locations']).toBe('*');
  });

  it('seeds the emulator with the locations and readers it lists', async () => {
    // Prepare
    const stripe = new Stripe(stack.state.stripe.secretKey, {
      host: '127.0.0.1',
      port: new URL(stack.state.stripe.apiBase).port,
      protocol: 'http',
    });

    // Act
    const readers = await stripe.terminal.readers.list({ limit: 100 });

    // Assess
    const seeded = stack.state.locations.flatMap((location) =>
      location.readers.map((reader) => ({ id: reader, location: location.id })),
    );
    expect(readers.data.map((reader) => ({ id: reader.id, location: reader.location })).sort(byId)).toEqual(
      seeded.sort(byId),
    );
  });

  it('gives the handlers settings for its parts, thresholds included', () => {
    // Act
    const handlerConfig = stack.deps.settings;

    // Assess
    expect(handlerConfig).toMatchObject({
      TABLE_NAME: stack.state.dynamodb.tableName,
      DYNAMODB_ENDPOINT: stack.state.dynamodb.endpoint,
      EVENT_QUEUE_URL: stack.state.sqs.queueUrl,
      SQS_ENDPOINT: stack.state.sqs.endpoint,
      STRIPE_API_BASE: stack.state.stripe.apiBase,
      STRIPE_SECRET_KEY: stack.state.stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stack.state.stripe.webhookSecret,
      STUCK_ACTION_AFTER_SECONDS: 2.5,
    });
  });

  it('creates the table from the shared definition: every GSI, on-demand, TTL', async () => {
    // Act
    const { Table } = await stack.dynamodb.client.send(
      new DescribeTableCommand({ TableName: stack.state.dynamodb.tableName }),
    );
    const { TimeToLiveDescription } = await stack.dynamodb.client.send(
      new DescribeTimeToLiveCommand({ TableName: stack.state.dynamodb.tableName }),
    );

    // Assess
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(
      Object.keys(paymentsTable.indexes).sort(),
    );
    expect(TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: paymentsTable.timeToLiveAttribute,
    });
  });

  it('creates the event queue with the shared attributes and its DLQ redrive', async () => {
    // Act
    const { Attributes = {} } = await stack.sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.sqs.queueUrl, AttributeNames: ['All'] }),
    );

    // Assess
    expect(Attributes.VisibilityTimeout).toBe(String(eventQueue.visibilityTimeoutSeconds));
    expect(Attributes.MessageRetentionPeriod).toBe(String(eventQueue.messageRetentionSeconds));
    expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: stack.sqs.dlqArn,
      maxReceiveCount: eventQueue.maxReceiveCount,
    });
  });

  it('answers GET /health once every part is up (501 until its handler exists)', async () => {
    // Act
    const response = await api(stack, 'GET', '/health');

    // Assess
    if (existsSync(join(repositoryRoot, 'functions/health/health.ts'))) {
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok' });
    } else {
      expect(response.status).toBe(501);
      expect(response.body).toEqual({ message: 'Not Implemented' });
    }
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  it('runs the webhook handler behind the gateway with the secret and queue it was given', async () => {
    // Prepare
    const payload = JSON.stringify({
      id: 'evt_stack_wiring',
      object: 'event',
      type: 'terminal.reader.action_succeeded',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: stack.state.locations[0]?.readers[0] ?? 'tmr_1', object: 'terminal.reader' } },
    });
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: stack.state.stripe.webhookSecret,
    });

    // Act
    const accepted = await api(stack, 'POST', '/webhooks/stripe', {
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body: JSON.parse(payload),
    });
    const forged = await api(stack, 'POST', '/webhooks/stripe', {
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=forged' },
      body: JSON.parse(payload),
    });

    // Assess
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ received: true });
    expect(forged.status).toBe(400);
  });

  it("delivers the emulator's webhooks through the gateway into the event queue", async () => {
    // Prepare
    const queued: string[] = [];
    stack.poller.onBatch((outcome) => queued.push(...outcome.records.map((record) => record.body)));
    const stripe = new Stripe(stack.state.stripe.secretKey, {
      host: '127.0.0.1',
      port: new URL(stack.state.stripe.apiBase).port,
      protocol: 'http',
    });

    // Act
    const intent = await stripe.paymentIntents.create({
      amount: 1299,
      currency: 'usd',
      allowed_payment_method_types: ['card_present'],
      capture_method: 'manual',
    } as Stripe.PaymentIntentCreateParams);
    await stripe.paymentIntents.cancel(intent.id);

    // Assess
    const isCancelEvent = (body: string) => {
      const event = JSON.parse(body) as { type: string; data: { object: { id: string } } };
      return event.type === 'payment_intent.canceled' && event.data.object.id === intent.id;
    };
    const deadline = Date.now() + 10_000;
    while (!queued.some(isCancelEvent)) {
      expect(Date.now()).toBeLessThan(deadline);
      // Until the processor exists the poller is idle and the event waits in the queue: read it there.
      if (!stack.poller.active) {
        const { Messages = [] } = await stack.sqs.client.send(
          new ReceiveMessageCommand({ QueueUrl: stack.sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        queued.push(...Messages.map((message) => message.Body ?? '{}'));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('rejects a POS route without a token before any handler runs', async () => {
    // Act
    const response = await api(stack, 'GET', '/payments');

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ message: 'Unauthorized' });
  });

  it('stops every part, frees every port, restores the environment and removes stack.json', async () => {
    // Prepare
    const ports = [stack.gateway.port, stack.sqs.port, stack.dynamodb.port, stack.emulator.port];

    // Act
    await stack.stop();

    // Assess
    for (const port of ports) {
      const probe = createServer();
      await expect(listen(probe, port, '127.0.0.1', 'PORT')).resolves.toBe(port);
      await closeServer(probe);
    }
    expect(process.env.STRIPE_SECRET_KEY).toBeUndefined();
    expect(process.env.STUCK_ACTION_AFTER_SECONDS).toBeUndefined();
    expect(existsSync(stateFile)).toBe(false);
  });
});

describe('the local stack with a data directory (LOCAL_DATA_DIR)', () => {
  let dataDir: string;
  const started: LocalStack[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-stack-data-'));
  });

  afterAll(async () => {
    for (const part of started) await part.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  // Two stacks, each starting DynamoDB Local's JVM: slow on a busy machine, hence the longer timeout.
  it("keeps the emulator's state beside DynamoDB's: a payment authorized before a restart is captured after it", async () => {
    // Prepare
    const before = await startTestStack({ dataDir, emulator: { authorizationDelayMs: 20 } });
    started.push(before);
    await dropWebhooks(before);
    const stripe = stripeOf(before);
    const reader = before.state.locations[0]?.readers[0] ?? '';
    const intent = await stripe.paymentIntents.create({
      amount: 1299,
      currency: 'usd',
      allowed_payment_method_types: ['card_present'],
      capture_method: 'manual',
    });
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: intent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    await until(async () => (await stripe.paymentIntents.retrieve(intent.id)).status === 'requires_capture');
    await before.stop();

    // Act
    const after = await startTestStack({ dataDir });
    started.push(after);
    await dropWebhooks(after);
    const restarted = stripeOf(after);
    const read = await restarted.paymentIntents.retrieve(intent.id);
    const captured = await restarted.paymentIntents.capture(intent.id);
    const endpoints = await restarted.webhookEndpoints.list();

    // Assess
    expect(read).toMatchObject({ status: 'requires_capture', amount_capturable: 1299 });
    expect(captured.status).toBe('succeeded');
    expect(after.state.locations.map((location) => location.readers)).toEqual(
      before.state.locations.map((location) => location.readers),
    );
    expect(endpoints.data.map((endpoint) => endpoint.url)).toEqual([`${after.apiUrl}/webhooks/stripe`]);
    expect(existsSync(join(dataDir, 'stripe-emulator', 'state.json'))).toBe(true);
    expect(existsSync(join(dataDir, 'dynamodb'))).toBe(true);
  }, 120_000);
});

/**
 * This test reads Stripe directly. The handlers of this process keep the clients and webhook secret of the first
 * stack it started, so deliveries to a later stack's gateway would only be refused: the emulator drops them.
 */
async function dropWebhooks(running: LocalStack): Promise<void> {
  const response = await fetch(`${running.emulator.url}/_emulator/webhooks`, {
    method: 'POST',
    body: JSON.stringify({ mode: 'drop' }),
  });
  expect(response.status).toBe(200);
}

function stripeOf(running: LocalStack): Stripe {
  return new Stripe(running.state.stripe.secretKey, {
    host: '127.0.0.1',
    port: new URL(running.state.stripe.apiBase).port,
    protocol: 'http',
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id.localeCompare(b.id);
}

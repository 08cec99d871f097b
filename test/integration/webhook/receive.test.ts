import { createHmac } from 'node:crypto';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config.ts';
import { systemClock } from '../../../shared/time.ts';

const SECRET = 'whsec_test_current';
const OLD_SECRET = 'whsec_test_previous';

let server: FauxqsServer;
let client: SQSClient;
let queueUrl: string;
let handler: typeof import('../../../functions/webhook/receive.ts').handler;

function readerEvent(type = 'terminal.reader.action_succeeded', id = `evt_${Math.random().toString(36).slice(2)}`) {
  return JSON.stringify({
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'tmr_123', object: 'terminal.reader', action: null } },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  });
}

function sign(payload: string, secret = SECRET, timestamp?: number) {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
}

function apiEvent(body: string, headers: Record<string, string>, isBase64Encoded = false): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/stripe',
    rawPath: '/webhooks/stripe',
    rawQueryString: '',
    headers,
    body,
    isBase64Encoded,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path: '/webhooks/stripe',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'Stripe/1.0',
      },
      requestId: 'req-1',
      routeKey: 'POST /webhooks/stripe',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

const context = { awsRequestId: 'lambda-req-1' } as Context;

async function drainQueue() {
  const { Messages = [] } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages;
}

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  client = new SQSClient({
    region: 'us-east-1',
    endpoint: server.address,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  ({ QueueUrl: queueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: 'events-receive-test' })));
  Object.assign(process.env, {
    TABLE_NAME: 'unused',
    EVENT_QUEUE_URL: queueUrl,
    SQS_ENDPOINT: server.address,
    STRIPE_WEBHOOK_SECRET: SECRET,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler } = await import('../../../functions/webhook/receive.ts'));
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

beforeEach(async () => {
  await drainQueue();
});

describe('POST /webhooks/stripe', () => {
  it('queues a verified reader event with its id, type and object id as attributes', async () => {
    // Prepare
    const body = readerEvent('terminal.reader.action_succeeded', 'evt_valid');

    // Act
    const result = await handler(apiEvent(body, { 'stripe-signature': sign(body) }), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '')).toEqual({ received: true });
    const [message] = await drainQueue();
    expect(message?.Body).toBe(body);
    expect(message?.MessageAttributes?.eventId?.StringValue).toBe('evt_valid');
    expect(message?.MessageAttributes?.eventType?.StringValue).toBe('terminal.reader.action_succeeded');
    expect(message?.MessageAttributes?.objectId?.StringValue).toBe('tmr_123');
  });

  it('verifies the exact raw bytes of a base64-encoded body', async () => {
    // Prepare: non-ASCII content makes any re-encoding visible
    const body = readerEvent().replace('"livemode":false', '"livemode":false,"note":"café ☕"');
    const encoded = Buffer.from(body, 'utf8').toString('base64');

    // Act
    const result = await handler(apiEvent(encoded, { 'Stripe-Signature': sign(body) }, true), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect((await drainQueue())[0]?.Body).toBe(body);
  });

  it('accepts a header carrying several v1 signatures during a secret roll', async () => {
    // Prepare
    const body = readerEvent();
    const t = Math.floor(Date.now() / 1000);
    const hmac = (secret: string) => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    const header = `t=${t},v1=${hmac(OLD_SECRET)},v1=${hmac(SECRET)}`;

    // Act
    const result = await handler(apiEvent(body, { 'STRIPE-SIGNATURE': header }), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(await drainQueue()).toHaveLength(1);
  });

  it.each([
    ['a tampered body', (body: string) => ({ body: body.replace('tmr_123', 'tmr_999'), header: sign(body) })],
    ['another secret', (body: string) => ({ body, header: sign(body, 'whsec_someone_else') })],
    [
      'a timestamp outside the 300 s tolerance',
      (body: string) => ({ body, header: sign(body, SECRET, Math.floor(Date.now() / 1000) - 301) }),
    ],
    ['no signature header', (body: string) => ({ body, header: undefined })],
    ['a malformed header', (body: string) => ({ body, header: 'garbage' })],
  ])('rejects %s with 400 invalid_signature and queues nothing', async (_case, build) => {
    // Prepare
    const { body, header } = build(readerEvent());
    const headers: Record<string, string> = header ? { 'stripe-signature': header } : {};

    // Act
    const result = await handler(apiEvent(body, headers), context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body ?? '').error).toMatchObject({ code: 'invalid_signature', retryable: false });
    expect(await drainQueue()).toHaveLength(0);
  });

  it.each([
    ['not JSON', 'this is not json'],
    ['JSON that is not an event', JSON.stringify({ hello: 'world' })],
  ])('rejects a correctly signed body that is %s with 400 invalid_payload', async (_case, body) => {
    // Act
    const result = await handler(apiEvent(body, { 'stripe-signature': sign(body) }), context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body ?? '').error.code).toBe('invalid_payload');
    expect(await drainQueue()).toHaveLength(0);
  });

  it('acknowledges an event type the system does not use without queueing it', async () => {
    // Prepare
    const body = readerEvent('customer.created');

    // Act
    const result = await handler(apiEvent(body, { 'stripe-signature': sign(body) }), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(await drainQueue()).toHaveLength(0);
  });

  it('answers 500 (so Stripe retries) when SQS does not take the message', async () => {
    // Prepare: a queue that does not exist
    const settings = parseConfig({ ...process.env, EVENT_QUEUE_URL: `${queueUrl}-missing` });
    const missingQueue = handler.withDependencies({ settings, queue: client, clock: systemClock });
    const body = readerEvent();

    // Act
    const result = await missingQueue(apiEvent(body, { 'stripe-signature': sign(body) }), context);

    // Assess
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body ?? '').error).toMatchObject({ code: 'queue_unavailable', retryable: true });
  });
});

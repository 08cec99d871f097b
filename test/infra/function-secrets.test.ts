/**
 * On AWS a function gets its Stripe secret's ARN, never the value (`infra/payments-stack.ts`), and reads the value
 * from Secrets Manager with its own role at its first use. Elsewhere the suite gives the values in the environment,
 * so this file is where each function's `secretsmanager:GetSecretValue` is taken (and the role check sees it used):
 * every function starts cold with only the ARN, against a stand-in for Secrets Manager, and does its work.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { repositoryRoot } from '../../local/lambda.ts';
import { backgroundFunctions, liveFunctions, routes } from '../../shared/routes.ts';
import { putConnection } from '../../shared/store/live.ts';
import {
  adminClaimsFor,
  apiEvent,
  claimsFor,
  emulatorControl,
  type HandlerModule,
  idleReader,
  invoke,
  type LocalParts,
  lambdaContext,
  presentCard,
  sqsEvent,
  startLocalParts,
} from '../support/invoke.ts';

const KEY_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:terminal-payments/stripe-key-AbCdEf';
const WEBHOOK_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:terminal-payments/webhook-GhIjKl';
const WEBHOOK_SECRET = 'whsec_fromsecretsmanager';

/** Secrets Manager's `GetSecretValue` (AWS JSON 1.1) for the two secrets, and the ids it was asked for. */
interface SecretsManagerStandIn {
  url: string;
  reads: string[];
  close(): Promise<void>;
}

async function startSecretsManager(values: Record<string, string>): Promise<SecretsManagerStandIn> {
  const reads: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const value = values[SecretId];
      const known = request.headers['x-amz-target'] === 'secretsmanager.GetSecretValue' && value !== undefined;
      if (known) reads.push(SecretId);
      response.writeHead(known ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify(
          known
            ? { ARN: SecretId, Name: SecretId.split(':').at(-1), SecretString: value, VersionId: randomUUID() }
            : { __type: 'ResourceNotFoundException', message: 'Secrets Manager can’t find the specified secret.' },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reads,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** API Gateway's connection management API (`@connections`): every post is accepted and kept. */
interface ConnectionsStandIn {
  /** The stage's management URL, as `LIVE_ENDPOINT` names it. */
  url: string;
  posts: { connectionId: string; message: Record<string, unknown> }[];
  close(): Promise<void>;
}

async function startConnectionsApi(): Promise<ConnectionsStandIn> {
  const posts: ConnectionsStandIn['posts'] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const connection = /^\/dev\/@connections\/([^/?]+)$/.exec(request.url ?? '');
      if (request.method === 'POST' && connection !== null) {
        posts.push({ connectionId: decodeURIComponent(connection[1]!), message: JSON.parse(body) });
      }
      response.writeHead(connection === null ? 404 : 200);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dev`,
    posts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let secretsManager: SecretsManagerStandIn;
let connectionsApi: ConnectionsStandIn;
let parts: LocalParts;
let warm: { create: HandlerModule; process: HandlerModule; get: HandlerModule };

/**
 * The function's handler module as a new Lambda environment loads it: no module evaluated yet, and Powertools'
 * secret cache (kept outside the modules Vitest reloads) empty.
 */
async function coldStart<T>(name: string): Promise<T> {
  const fn = [...routes, ...Object.values(backgroundFunctions), ...Object.values(liveFunctions)].find(
    (candidate) => candidate.name === name,
  );
  if (fn === undefined) throw new Error(`No function ${name}`);
  vi.resetModules();
  clearCaches();
  return (await import(pathToFileURL(join(repositoryRoot, fn.entry)).href)) as T;
}

beforeAll(async () => {
  secretsManager = await startSecretsManager({
    [KEY_ARN]: 'sk_test_integration',
    [WEBHOOK_SECRET_ARN]: WEBHOOK_SECRET,
  });
  connectionsApi = await startConnectionsApi();
  parts = await startLocalParts({
    env: {
      STRIPE_SECRET_KEY: '',
      STRIPE_SECRET_KEY_ARN: KEY_ARN,
      STRIPE_WEBHOOK_SECRET: '',
      STRIPE_WEBHOOK_SECRET_ARN: WEBHOOK_SECRET_ARN,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
      LIVE_ENDPOINT: connectionsApi.url,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      // Every cold start builds its own loggers, from the environment.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      // Any action in progress is a stuck-action candidate at once: no test waits for it to age.
      STUCK_ACTION_AFTER_SECONDS: '0',
      RECONCILE_STRIPE_CALL_INTERVAL_MS: '5',
    },
  });
  // Functions that prepare what a test needs, each started once.
  warm = {
    create: await coldStart('CreatePayment'),
    process: await coldStart('ProcessPayment'),
    get: await coldStart('GetPayment'),
  };
});

afterAll(async () => {
  await parts?.close();
  await secretsManager?.close();
  await connectionsApi?.close();
});

const location = () => parts.locations[0]!;
const claims = () => claimsFor([location().id]);
/** The location the admin routes register and delete readers at, so the first keeps its readers. */
const fleetLocation = () => parts.locations[1]!;

async function newPayment(captureMethod: 'automatic' | 'manual' = 'manual'): Promise<string> {
  const body = {
    orderId: `order-${randomUUID()}`,
    locationId: location().id,
    amount: 1500,
    currency: 'usd',
    captureMethod,
  };
  const response = await invoke(warm.create, apiEvent({ method: 'POST', route: '/payments', body, claims: claims() }));
  expect(response.status).toBe(201);
  return response.body.payment.id as string;
}

async function processOn(paymentId: string, readerId: string): Promise<void> {
  await idleReader(parts.emulator, readerId);
  const response = await invoke(
    warm.process,
    apiEvent({
      method: 'POST',
      route: '/payments/{id}/process',
      params: { id: paymentId },
      body: { readerId },
      claims: claims(),
    }),
  );
  expect(response.status).toBe(202);
}

async function waitForStatus(paymentId: string, status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await invoke(
      warm.get,
      apiEvent({
        method: 'GET',
        route: '/payments/{id}',
        params: { id: paymentId },
        query: { refresh: 'true' },
        claims: claims(),
      }),
    );
    if (response.body.payment?.status === status) return;
    if (Date.now() > deadline) throw new Error(`payment ${paymentId} is ${response.body.payment?.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Secrets Manager reads made while `work` runs. */
async function readsDuring(work: () => Promise<void>): Promise<string[]> {
  const before = secretsManager.reads.length;
  await work();
  return secretsManager.reads.slice(before);
}

/** An API function: started cold, it answers `event` with `status`. */
const apiCases: { name: string; event: () => Promise<Parameters<typeof apiEvent>[0]>; status: number }[] = [
  { name: 'ListReaders', event: async () => ({ method: 'GET', route: '/readers', claims: claims() }), status: 200 },
  {
    name: 'GetReader',
    event: async () => ({
      method: 'GET',
      route: '/readers/{id}',
      params: { id: location().readers[0]! },
      claims: claims(),
    }),
    status: 200,
  },
  {
    name: 'CancelReaderAction',
    event: async () => {
      await idleReader(parts.emulator, location().readers[1]!);
      return {
        method: 'POST',
        route: '/readers/{id}/cancel-action',
        params: { id: location().readers[1]! },
        claims: claims(),
      };
    },
    status: 200,
  },
  {
    name: 'CreatePayment',
    event: async () => ({
      method: 'POST',
      route: '/payments',
      body: { orderId: `order-${randomUUID()}`, locationId: location().id, amount: 1299, currency: 'usd' },
      claims: claims(),
    }),
    status: 201,
  },
  {
    name: 'UpdatePayment',
    event: async () => ({
      method: 'PATCH',
      route: '/payments/{id}',
      params: { id: await newPayment() },
      body: { amount: 2500 },
      claims: claims(),
    }),
    status: 200,
  },
  {
    name: 'GetPayment',
    event: async () => ({
      method: 'GET',
      route: '/payments/{id}',
      params: { id: await newPayment() },
      query: { refresh: 'true' },
      claims: claims(),
    }),
    status: 200,
  },
  {
    name: 'ProcessPayment',
    event: async () => {
      const id = await newPayment();
      await idleReader(parts.emulator, location().readers[0]!);
      return {
        method: 'POST',
        route: '/payments/{id}/process',
        params: { id },
        body: { readerId: location().readers[0]! },
        claims: claims(),
      };
    },
    status: 202,
  },
  {
    name: 'CapturePayment',
    event: async () => {
      const id = await newPayment('manual');
      await processOn(id, location().readers[1]!);
      await presentCard(parts.emulator, location().readers[1]!);
      await waitForStatus(id, 'requires_capture');
      return { method: 'POST', route: '/payments/{id}/capture', params: { id }, claims: claims() };
    },
    status: 200,
  },
  {
    name: 'RefundPayment',
    event: async () => {
      const id = await newPayment('automatic');
      await processOn(id, location().readers[1]!);
      await presentCard(parts.emulator, location().readers[1]!);
      await waitForStatus(id, 'succeeded');
      return {
        method: 'POST',
        route: '/payments/{id}/refunds',
        params: { id },
        headers: { 'Idempotency-Key': `cold-start-${id}` },
        claims: claims(),
      };
    },
    status: 201,
  },
  {
    // Not paid yet: the record may be behind, so the PaymentIntent is read before the 409.
    name: 'GetReceipt',
    event: async () => ({
      method: 'GET',
      route: '/payments/{id}/receipt',
      params: { id: await newPayment() },
      claims: claims(),
    }),
    status: 409,
  },
  {
    name: 'EmailReceipt',
    event: async () => ({
      method: 'POST',
      route: '/payments/{id}/receipt/email',
      params: { id: await newPayment() },
      body: { email: 'customer@example.com' },
      claims: claims(),
    }),
    status: 202,
  },
  {
    name: 'SetReaderDisplay',
    event: async () => {
      await idleReader(parts.emulator, location().readers[0]!);
      return {
        method: 'POST',
        route: '/readers/{id}/display',
        params: { id: location().readers[0]! },
        body: { cart: { currency: 'usd', lineItems: [{ description: 'Tea', amount: 300, quantity: 1 }], total: 300 } },
        claims: claims(),
      };
    },
    status: 200,
  },
  {
    name: 'GetLocationTipping',
    event: async () => ({
      method: 'GET',
      route: '/locations/{id}/tipping',
      params: { id: location().id },
      claims: claims(),
    }),
    status: 200,
  },
  {
    name: 'PutLocationTipping',
    event: async () => ({
      method: 'PUT',
      route: '/locations/{id}/tipping',
      params: { id: location().id },
      body: { currency: 'usd', fixedAmounts: [100, 200] },
      claims: claims(),
    }),
    status: 200,
  },
  {
    name: 'ListLocations',
    event: async () => ({ method: 'GET', route: '/locations', claims: adminClaimsFor([fleetLocation().id]) }),
    status: 200,
  },
  {
    name: 'CreateLocation',
    event: async () => ({
      method: 'POST',
      route: '/locations',
      body: {
        displayName: 'Harbour',
        address: { line1: '1 Quay St', city: 'Halifax', postalCode: 'B3J 1A1', country: 'CA', state: 'NS' },
      },
      claims: adminClaimsFor('*'),
    }),
    status: 201,
  },
  {
    name: 'RegisterReader',
    event: async () => ({
      method: 'POST',
      route: '/readers',
      body: { registrationCode: 'simulated-wpe', locationId: fleetLocation().id, label: 'Spare' },
      claims: adminClaimsFor([fleetLocation().id]),
    }),
    status: 201,
  },
  {
    name: 'UpdateReader',
    event: async () => ({
      method: 'PATCH',
      route: '/readers/{id}',
      params: { id: await spareReader() },
      body: { label: 'Back office' },
      claims: adminClaimsFor([fleetLocation().id]),
    }),
    status: 200,
  },
  {
    name: 'DeleteReader',
    event: async () => ({
      method: 'DELETE',
      route: '/readers/{id}',
      params: { id: await spareReader() },
      claims: adminClaimsFor([fleetLocation().id]),
    }),
    status: 204,
  },
  {
    name: 'CancelPayment',
    event: async () => ({
      method: 'POST',
      route: '/payments/{id}/cancel',
      params: { id: await newPayment() },
      claims: claims(),
    }),
    status: 200,
  },
];

describe('a cold start with only the Stripe key’s ARN', () => {
  it.each(apiCases)(
    '$name reads the key from Secrets Manager once and answers $status',
    async ({ name, event, status }) => {
      // Prepare
      const input = apiEvent(await event());

      // Act
      let answered: number | undefined;
      const reads = await readsDuring(async () => {
        answered = (await invoke(await coldStart<HandlerModule>(name), input)).status;
      });

      // Assess
      expect(answered).toBe(status);
      expect(reads).toEqual([KEY_ARN]);
    },
  );

  it('keeps the value for the next requests of the same environment', async () => {
    // Act
    const reads = await readsDuring(async () => {
      await newPayment();
      await newPayment();
    });

    // Assess
    expect(reads).toEqual([]);
  });

  it('ProcessStripeEvents reads the key to ask Stripe about a reader’s connection_error', async () => {
    // Prepare
    const readerId = location().readers[0]!;
    const paymentId = await newPayment();
    await processOn(paymentId, readerId);
    await emulatorControl(parts.emulator, `/_emulator/readers/${readerId}/next-authorization`, {
      fault: 'connection_error',
    });
    await presentCard(parts.emulator, readerId);
    const event = await stripeEvent('terminal.reader.action_failed', paymentId);

    // Act
    let result: SQSBatchResponse | undefined;
    const reads = await readsDuring(async () => {
      const { handler } = await coldStart<{
        handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
      }>(backgroundFunctions.processEvents.name);
      result = await handler(sqsEvent(JSON.stringify(event)), lambdaContext());
    });

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(reads).toEqual([KEY_ARN]);
  });

  it('Reconcile reads the key to check a reader action that looks stuck', async () => {
    // Prepare
    const paymentId = await newPayment();
    await processOn(paymentId, location().readers[0]!);

    // Act
    let summary: { failures: number; stripeCalls: number } | undefined;
    const reads = await readsDuring(async () => {
      const { handler } = await coldStart<{
        handler: (event: ScheduledEvent, context: Context) => Promise<{ failures: number; stripeCalls: number }>;
      }>(backgroundFunctions.reconcile.name);
      summary = await handler(scheduledEvent(), lambdaContext(60_000));
    });

    // Assess
    expect(summary).toMatchObject({ failures: 0 });
    expect(summary?.stripeCalls).toBeGreaterThan(0);
    expect(reads).toEqual([KEY_ARN]);
  });
});

describe('a live-updates cold start with only the Stripe key’s ARN', () => {
  it('LiveMessage reads the key to list the readers of a location subscribed to', async () => {
    // Prepare
    const connectionId = `Conn${randomUUID().replaceAll('-', '').slice(0, 12)}=`;
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await putConnection(parts.deps.store, {
      connectionId,
      sub: 'pos-user-1',
      locations: location().id,
      connectedAt: new Date().toISOString(),
      expiresAt,
    });
    const event = {
      requestContext: {
        connectionId,
        routeKey: 'subscribe',
        authorizer: { sub: 'pos-user-1', locations: location().id, expiresAt },
      },
      body: JSON.stringify({ action: 'subscribe', locationId: location().id }),
      isBase64Encoded: false,
    };

    // Act
    let result: APIGatewayProxyStructuredResultV2 | undefined;
    const reads = await readsDuring(async () => {
      const { handler } = await coldStart<{
        handler: (event: unknown, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
      }>(liveFunctions.message.name);
      result = await handler(event, lambdaContext());
    });

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(reads).toEqual([KEY_ARN]);
    const answer = connectionsApi.posts.find((post) => post.connectionId === connectionId)?.message;
    expect(answer).toMatchObject({ type: 'subscribed', locationId: location().id });
    expect(answer?.readers).toHaveLength(location().readers.length);
  });
});

describe('a cold start with only the webhook signing secret’s ARN', () => {
  it('ReceiveStripeWebhook reads the secret and checks deliveries with it', async () => {
    // Prepare
    const body = JSON.stringify({
      id: `evt_${randomUUID().replaceAll('-', '')}`,
      object: 'event',
      type: 'customer.created',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: 'cus_1', object: 'customer' } },
    });
    const signed = (secret: string) => Stripe.webhooks.generateTestHeaderString({ payload: body, secret });

    // Act
    const statuses: (number | undefined)[] = [];
    const reads = await readsDuring(async () => {
      const { handler } = await coldStart<{
        handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
      }>('ReceiveStripeWebhook');
      for (const secret of [WEBHOOK_SECRET, 'whsec_someoneelse']) {
        const delivery = apiEvent({
          method: 'POST',
          route: '/webhooks/stripe',
          body,
          headers: { 'content-type': 'application/json', 'stripe-signature': signed(secret) },
          claims: null,
        });
        statuses.push((await handler(delivery, lambdaContext())).statusCode);
      }
    });

    // Assess: the event type is one the service ignores, so it is answered without queueing anything.
    expect(statuses).toEqual([200, 400]);
    expect(reads).toEqual([WEBHOOK_SECRET_ARN]);
  });
});

/** A new simulated reader at the first location, registered at Stripe directly. */
async function spareReader(): Promise<string> {
  const reader = await emulatorStripe().terminal.readers.create({
    registration_code: 'simulated-s700',
    location: fleetLocation().id,
  });
  return reader.id;
}

function emulatorStripe(): Stripe {
  return new Stripe('sk_test_integration', {
    host: new URL(parts.emulator.url).hostname,
    port: new URL(parts.emulator.url).port,
    protocol: 'http',
  });
}

/** The newest event of `type` about `paymentId`, as Stripe would deliver it. */
async function stripeEvent(type: string, paymentId: string): Promise<Stripe.Event> {
  const stripe = emulatorStripe();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { data } = await stripe.events.list({ type, limit: 100 });
    const found = data.find((event) => JSON.stringify(event.data.object).includes(paymentId));
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${type} event for ${paymentId}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.scheduler',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:scheduler:us-east-1:000000000000:schedule/default/reconcile'],
    detail: {},
  };
}

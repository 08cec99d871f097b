/**
 * Invoking the API handlers in-process, as API Gateway would: HTTP API payload v2.0 events with the JWT
 * authorizer's claims, against DynamoDB Local and the Stripe emulator (real SDKs, real HTTP to both).
 *
 * ```ts
 * let parts: LocalParts;
 * beforeAll(async () => { parts = await startLocalParts(); });
 * afterAll(() => parts.close());
 * const response = await invoke(create, apiEvent({ method: 'POST', path: '/payments', body, claims: claimsFor([loc]) }));
 * ```
 */
import { randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSEvent,
} from 'aws-lambda';
import { startDynamoDb, useDynamoDb } from '../../local/dynamodb.ts';
import { handlerClock } from '../../local/stack.ts';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../local/stripe-emulator/index.ts';
import { parseConfig } from '../../shared/config.ts';
import type { Dependencies } from '../../shared/dependencies.ts';
import { environmentDependencies } from '../../shared/environment.ts';
import { LOCATIONS_CLAIM } from '../../shared/http/caller.ts';
import type { DeclaredResponses } from '../../shared/http/declared-responses.ts';
import { logger } from '../../shared/http/logger.ts';
import { documentsResponse, responseValidator } from './openapi.ts';
import { sharedDynamoDbEndpoint } from './shared-dynamodb.ts';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

export interface ApiEventInput {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** The route's path template, e.g. `/payments/{id}`. */
  route: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** Sent as JSON (with `content-type: application/json` unless `headers` says otherwise); a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The authorizer's verified claims; `null` for a public route (no authorizer). */
  claims?: Record<string, string> | null;
  isBase64Encoded?: boolean;
}

/** Claims of a POS user allowed `locations` (`*` for all), as API Gateway's JWT authorizer passes them. */
export function claimsFor(locations: readonly string[] | '*', sub = 'pos-user-1'): Record<string, string> {
  return {
    sub,
    [LOCATIONS_CLAIM]: locations === '*' ? '*' : locations.join(','),
    iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_local',
    token_use: 'id',
  };
}

/** A shop admin's claims (`custom:role` = `admin`) for these locations. */
export function adminClaimsFor(locations: readonly string[] | '*', sub = 'admin-1'): Record<string, string> {
  return { ...claimsFor(locations, sub), 'custom:role': 'admin' };
}

/** An API Gateway HTTP API (payload v2.0) event for `input`, shaped as API Gateway sends it. */
export function apiEvent(input: ApiEventInput): ApiEvent {
  const rawPath = input.route.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(input.params?.[name] ?? ''),
  );
  const rawQueryString = new URLSearchParams(input.query ?? {}).toString();
  const body =
    input.body === undefined ? undefined : typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
  const headers: Record<string, string> = {
    host: 'api.example.test',
    'user-agent': 'pos-app/1.0',
    ...(body !== undefined && typeof input.body !== 'string' ? { 'Content-Type': 'application/json' } : {}),
    ...(input.claims ? { Authorization: 'Bearer eyJ.test.token' } : {}),
    ...input.headers,
  };
  const now = new Date();
  const requestContext = {
    accountId: '123456789012',
    apiId: 'localapi',
    domainName: 'api.example.test',
    domainPrefix: 'api',
    http: {
      method: input.method,
      path: rawPath,
      protocol: 'HTTP/1.1',
      sourceIp: '127.0.0.1',
      userAgent: 'pos-app/1.0',
    },
    requestId: randomUUID(),
    routeKey: `${input.method} ${input.route}`,
    stage: '$default',
    time: now.toUTCString(),
    timeEpoch: now.getTime(),
    authorizer:
      input.claims === null || input.claims === undefined ? undefined : { jwt: { claims: input.claims, scopes: null } },
  };
  return {
    version: '2.0',
    routeKey: `${input.method} ${input.route}`,
    rawPath,
    rawQueryString,
    headers,
    ...(input.query ? { queryStringParameters: input.query } : {}),
    ...(input.params ? { pathParameters: input.params } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: input.isBase64Encoded ?? false,
    requestContext,
  } as ApiEvent;
}

/** A Lambda context with a fresh request id and API Gateway's 30 s as the time left. */
export function lambdaContext(timeoutMs = 30_000): Context {
  const startedAt = Date.now();
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-function',
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: '/aws/lambda/test-function',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - startedAt)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * A parsed JSON response body; tests read it field by field and assert what they read.
 */
// biome-ignore lint/suspicious/noExplicitAny: a JSON body of any route, asserted by the tests that read it
export type JsonBody = any;

/** A response with its body parsed. */
export interface InvokeResult<T = JsonBody> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

/** A handler module: its Lambda entry and the responses it declares. */
export interface HandlerModule {
  handler: (event: ApiEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  responses: DeclaredResponses;
}

/**
 * Invoke a handler with `event` and parse the answer. Every answer is checked against the statuses and error
 * codes the handler declares, and its body against the schema `openapi.yaml` gives for the route and status, so
 * an undeclared or undocumented answer fails the test that provoked it. `context` gives the Lambda's time left
 * (API Gateway's 30 s by default).
 */
export async function invoke<T = JsonBody>(
  module: HandlerModule,
  event: ApiEvent,
  context: Context = lambdaContext(),
): Promise<InvokeResult<T>> {
  const result = await module.handler(event, context);
  const status = result.statusCode ?? 200;
  const body: JsonBody = result.body === undefined ? undefined : JSON.parse(result.body);
  const declared = module.responses[status];
  if (declared === undefined) throw new Error(`Undeclared status ${status}: ${result.body}`);
  if (status >= 400 && !declared.includes(body?.error?.code)) {
    throw new Error(`Undeclared error code ${body?.error?.code} for status ${status}`);
  }
  if (status === 204) {
    if (!documentsResponse(event.routeKey, 204))
      throw new Error(`openapi.yaml has no response 204 for ${event.routeKey}`);
    if (body !== undefined) throw new Error(`${event.routeKey} 204 has a body: ${result.body}`);
    return { status, headers: lowerCased(result.headers), body };
  }
  const validate = responseValidator(event.routeKey, status);
  if (validate === undefined) throw new Error(`openapi.yaml has no JSON response ${status} for ${event.routeKey}`);
  const documented: boolean = validate(body);
  if (!documented) {
    throw new Error(
      `${event.routeKey} ${status} does not match openapi.yaml: ${JSON.stringify(validate.errors)} in ${result.body}`,
    );
  }
  return { status, headers: lowerCased(result.headers), body };
}

function lowerCased(headers: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

/** DynamoDB Local, the Stripe emulator, and the environment pointing the handlers at them. */
export interface LocalParts {
  emulator: Emulator;
  dynamoEndpoint: string;
  tableName: string;
  /** What the handlers run on: the table, the emulator, the emulator's clock and the settings. */
  deps: Dependencies;
  /** Change handler settings from now on, as a redeploy with these environment variables would (`undefined` unsets). */
  configure(env: Record<string, string | undefined>): void;
  /** DynamoDB requests sent through `deps.store` so far (the API's request budget). */
  dynamoRequests(): number;
  /** The emulator's seeded locations, each with its readers. */
  locations: { id: string; readers: string[] }[];
  close(): Promise<void>;
}

/**
 * Start DynamoDB Local (with the table) and the Stripe emulator on free ports, and point this process's config at
 * them. One per test file: the Stripe client is built once per process.
 */
export async function startLocalParts(
  options: { emulator?: EmulatorOptions; env?: Record<string, string> } = {},
): Promise<LocalParts> {
  const tableName = `payments-${randomUUID().slice(0, 8)}`;
  const [dynamo, emulator] = await Promise.all([
    // Java starts slowly on a loaded machine (the whole suite runs two files at a time).
    sharedDynamoDbEndpoint() === undefined
      ? startDynamoDb({ port: 0, tableName, startTimeoutMs: 50_000 })
      : useDynamoDb(sharedDynamoDbEndpoint() as string, tableName),
    startEmulator({
      port: 0,
      authorizationDelayMs: 50,
      seed: {
        locations: [
          {
            displayName: 'Store A',
            readers: [
              { label: 'A register 1', registrationCode: 'simulated-wpe' },
              { label: 'A register 2', registrationCode: 'simulated-s700' },
            ],
          },
          {
            displayName: 'Store B',
            readers: [{ label: 'B register 1', registrationCode: 'simulated-wpe' }],
          },
        ],
      },
      ...options.emulator,
    }),
  ]);
  // The process is the Lambda: its environment points the handlers at the parts.
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    STRIPE_API_BASE: emulator.url,
    STRIPE_SECRET_KEY: 'sk_test_integration',
    READER_TIMEOUT_RETRY_DELAY_MS: '50',
    ...options.env,
  });
  const deps = environmentDependencies();
  // Domain time is the emulator's: advancing its clock moves the handlers' with it.
  deps.clock = handlerClock(emulator.clock);
  let dynamoRequests = 0;
  deps.store.db.middlewareStack.add(
    (next) => (args) => {
      dynamoRequests += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countDynamoRequests' },
  );
  quietLogs();
  return {
    emulator,
    dynamoEndpoint: dynamo.endpoint,
    tableName,
    deps,
    configure: (env) => {
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      deps.settings = parseConfig(process.env);
    },
    dynamoRequests: () => dynamoRequests,
    locations: emulator.seeded.locations.map((location) => ({
      id: location.id,
      readers: location.readers.map((reader) => reader.id),
    })),
    close: async () => {
      await Promise.all([emulator.close(), dynamo.stop()]);
    },
  };
}

/**
 * Silence the handlers' logs in tests. Powertools resets the level to its initial one on every warm invocation,
 * and that initial level is only settable at construction (the logger is built when the handlers are imported).
 */
export function quietLogs(): void {
  (logger as unknown as { setInitialLogLevel(level: string): void }).setInitialLogLevel('SILENT');
  logger.setLogLevel('SILENT');
}

/** Call one of the emulator's `/_emulator` controls (faults, card taps are under `/v1/test_helpers`). */
export function emulatorControl(emulator: Emulator, path: string, body: unknown = {}): Promise<unknown> {
  return emulatorControls(emulator.url).post(path, body);
}

/**
 * The reader takes its next command, Stripe answers `terminal_reader_timeout` (its false negative), and every read of
 * the reader fails until `clearEmulatorFaults`: whether the command arrived cannot be told.
 */
export async function readerTakesCommandUnseen(emulator: Emulator, readerId: string): Promise<void> {
  await emulatorControl(emulator, `/_emulator/readers/${readerId}/next-command`, { fault: 'timeout_after_delivery' });
  await emulatorControl(emulator, '/_emulator/faults', {
    method: 'GET',
    path: `/v1/terminal/readers/${readerId}`,
    fault: 'connection_reset',
    count: 20,
  });
}

/** Drop the emulator's pending request faults. */
export async function clearEmulatorFaults(emulator: Emulator): Promise<void> {
  await emulatorControls(emulator.url).send('/_emulator/faults', { method: 'DELETE' });
}

/** Tap a card on a simulated reader (Stripe's test helper), e.g. a decline card number. */
export async function presentCard(emulator: Emulator, readerId: string, cardNumber?: string): Promise<void> {
  const form = new URLSearchParams({ type: 'card_present' });
  if (cardNumber !== undefined) form.set('card_present[number]', cardNumber);
  const response = await fetch(`${emulator.url}/v1/test_helpers/terminal/readers/${readerId}/present_payment_method`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_integration', 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  if (!response.ok) throw new Error(`present_payment_method: ${response.status} ${await response.text()}`);
}

/** Bring a simulated reader back to idle and online (moving the clock past an authorization under way). */
export async function idleReader(emulator: Emulator, readerId: string): Promise<void> {
  await emulatorControl(emulator, `/_emulator/readers/${readerId}/online`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await fetch(`${emulator.url}/v1/terminal/readers/${readerId}/cancel_action`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_integration', 'idempotency-key': `test:idle:${randomUUID()}` },
    });
    if (response.ok || response.status !== 400 || Date.now() > deadline) return;
    const body = (await response.json()) as { error?: { code?: string } };
    if (body.error?.code !== 'terminal_reader_busy') return;
    // An authorization under way ends once its delay has passed: move the clock past it.
    await emulatorControls(emulator.url).advanceClock(10);
  }
}

/** The event the SQS event source mapping hands the processor for one message with `body`. */
export function sqsEvent(body: string): SQSEvent {
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:stripe-events',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

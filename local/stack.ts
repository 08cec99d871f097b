/**
 * The whole system on one machine, wired the way the CDK app wires it on AWS: DynamoDB Local, the SQS server,
 * the Stripe emulator, the local API Gateway in front of the route handlers, the SQS poller in front of the
 * event processor, and the reconciler's timer. `local/main.ts` (`npm start`) and the integration tests
 * (`test/support/stack.ts`) both start it with `startStack`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { backgroundProfiles, liveProfiles as liveFunctionProfiles, routeProfiles } from '../infra/handler-profiles.ts';
import { parseConfig } from '../shared/config.ts';
import type { Dependencies } from '../shared/dependencies.ts';
import { stripeClients } from '../shared/environment.ts';
import type { AuthorizerDependencies } from '../shared/live/authorizer-dependencies.ts';
import { createConnections } from '../shared/live/connections.ts';
import { MESSAGE_ROUTES, notifierStream } from '../shared/live/definition.ts';
import type { LiveDependencies } from '../shared/live/dependencies.ts';
import { createTokenVerifier } from '../shared/live/token.ts';
import { eventQueue } from '../shared/queue/definition.ts';
import { routes as allRoutes, backgroundFunctions, liveFunctions, type RouteDefinition } from '../shared/routes.ts';
import { createDocumentClient } from '../shared/store/client.ts';
import type { Clock } from '../shared/time.ts';
import {
  CONSOLE_PATH,
  consoleFiles,
  emulatorReaderSimulator,
  type LocalSession,
  type ReaderSimulator,
} from './console.ts';
import { type LocalDynamoDb, startDynamoDb, useDynamoDb } from './dynamodb.ts';
import { type LocalGateway, startGateway } from './gateway.ts';
import { createJwtIssuer, createJwtVerifier, type JwtIssuer, type TokenRequest } from './jwt-issuer.ts';
import { type LocalFunction, repositoryRoot } from './lambda.ts';
import { assertPortFree, PortInUseError } from './ports.ts';
import { type QueuePoller, startQueuePoller } from './queue-poller.ts';
import { type LocalScheduler, startScheduler } from './scheduler.ts';
import { type LocalSqs, startSqs } from './sqs.ts';
import { type StreamPoller, startStreamPoller } from './stream-poller.ts';
import { type Emulator, type EmulatorClock, startEmulator, type Timing } from './stripe-emulator/index.ts';
import { type LocalWebSocketGateway, startWebSocketGateway } from './websocket-gateway.ts';

/** Where `npm start` writes what a POS developer (or a script) needs to call the running stack. */
export const DEFAULT_STATE_FILE = join(repositoryRoot, '.local', 'stack.json');

export interface StackOptions {
  /** Ports; 0 picks a free one. Defaults: 3000, 4566, 8000, 12111, 3001. */
  apiPort?: number;
  /** The live-updates WebSocket API. */
  wsPort?: number;
  sqsPort?: number;
  dynamoDbPort?: number;
  /**
   * A DynamoDB Local already running (a test run's shared one): the stack creates its table there and deletes it on
   * stop, instead of starting its own. Not with `dataDir`.
   */
  dynamoDbEndpoint?: string;
  emulatorPort?: number;
  /** Interface of every server the stack starts itself; 127.0.0.1 by default. */
  host?: string;
  /**
   * Keep DynamoDB's data (`dynamodb/`) and the Stripe emulator's state (`stripe-emulator/`) under this directory
   * across restarts, so a restarted stack is consistent; in memory when unset.
   */
  dataDir?: string;
  tableName?: string;
  region?: string;
  /** The reconciler's timer; fractions allowed. Default 5. */
  reconcileIntervalSeconds?: number;
  /** Emulator timing knobs (`authorizationDelayMs`, `webhookRetries`, …). */
  emulator?: Partial<Timing>;
  /** Route table; `shared/routes.ts` by default (tests swap in fixture handlers). */
  routes?: readonly RouteDefinition[];
  /** Live updates: how often the table's stream is read when it had nothing new (Lambda: 250 ms); default 50. */
  streamPollIntervalMs?: number;
  /** Handler entries of the background functions; `shared/routes.ts` by default. */
  processEventsEntry?: string;
  reconcileEntry?: string;
  /** Where route and function entries are resolved from; the repository root by default. */
  root?: string;
  /** Queue overrides for tests: redelivery within seconds instead of 3 minutes, a short long-poll. */
  queue?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number; waitTimeSeconds?: number };
  /** Extra environment for the handlers (thresholds such as `STUCK_ACTION_AFTER_SECONDS`). */
  env?: Record<string, string | undefined>;
  /** `.local/stack.json` by default; `false` writes nothing. The issuer's key goes beside it (`issuer.json`). */
  stateFile?: string | false;
  log?: (line: string) => void;
}

/** The content of `.local/stack.json`. */
export interface StackState {
  apiUrl: string;
  stripe: { apiBase: string; secretKey: string; webhookSecret: string };
  dynamodb: { endpoint: string; tableName: string };
  sqs: { endpoint: string; queueUrl: string; dlqUrl: string };
  locations: { id: string; displayName: string; readers: string[]; token: string }[];
  adminToken: string;
  liveUrl: string;
  /** The POS console, served by the local gateway. */
  consoleUrl: string;
}

/**
 * What every handler of a stack runs on: the operations' dependencies, the event queue's client and the live-updates
 * connections.
 */
export interface StackDependencies extends Dependencies, LiveDependencies {
  queue: SQSClient;
}

export interface LocalStack {
  apiUrl: string;
  state: StackState;
  /**
   * The handlers' environment as the stack sets it; their settings are this process's environment (a shell's
   * `STUCK_ACTION_AFTER_SECONDS=5 npm start`) with these values over it. The process's environment is left alone.
   */
  env: Record<string, string>;
  /** What the handlers run on: this stack's table, emulator, clock and settings (`configure` changes settings). */
  deps: StackDependencies;
  /**
   * What the live-updates functions run on: the same, with a DynamoDB client of their own, as their Lambdas have on
   * AWS, so the notifier's reads are not counted among the API's (`dynamoRequests()`).
   */
  liveDeps: StackDependencies;
  /**
   * Change handler settings from now on, as a redeploy with these environment variables would (`undefined` unsets).
   * The secrets (`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`) change as a new value put in Secrets Manager does on
   * AWS: the handlers read them again once the value they hold is 5 minutes old on the stack's clock.
   */
  configure(env: Record<string, string | undefined>): void;
  /** DynamoDB requests the handlers sent so far (the API's request budget). */
  dynamoRequests(): number;
  gateway: LocalGateway;
  dynamodb: LocalDynamoDb;
  sqs: LocalSqs;
  emulator: Emulator;
  poller: QueuePoller;
  scheduler: LocalScheduler;
  /** The live-updates WebSocket API and the notifier's stream reader. */
  live: LocalWebSocketGateway;
  streamPoller: StreamPoller;
  issuer: JwtIssuer;
  /** A token for these locations (`'*'`: all), signed by the stack's issuer. */
  token(locations: TokenRequest['locations'], request?: Omit<TokenRequest, 'locations'>): Promise<string>;
  /** Stop every part, free every port and remove the state file. */
  stop(): Promise<void>;
}

/** The locations and simulated readers seeded in the emulator. */
export const SEEDED_LOCATIONS = [
  {
    displayName: 'Downtown Store',
    readers: [
      { label: 'Downtown Register 1', registrationCode: 'simulated-wpe' as const },
      { label: 'Downtown Register 2', registrationCode: 'simulated-s700' as const },
    ],
  },
  {
    displayName: 'Airport Kiosk',
    readers: [
      { label: 'Airport Register 1', registrationCode: 'simulated-wpe' as const },
      { label: 'Airport Register 2', registrationCode: 'simulated-s710' as const },
    ],
  },
];

/** Each function's Lambda timeout as the CDK app sets it, so `getRemainingTimeInMillis()` counts the same. */
const routeTimeouts = Object.fromEntries(
  Object.entries(routeProfiles).map(([name, profile]) => [name, profile.timeoutSeconds]),
);

/** The live-updates functions' timeouts as the CDK app sets them. */
const liveProfiles: Record<string, number> = Object.fromEntries(
  Object.entries(liveFunctionProfiles).map(([key, profile]) => [
    liveFunctions[key as keyof typeof liveFunctions].name,
    profile.timeoutSeconds,
  ]),
);

/** Start every part and resolve once all are up (`GET /health` then answers). */
export async function startStack(options: StackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? ((line: string) => console.error(line));
  const root = options.root ?? repositoryRoot;
  const ports = {
    api: options.apiPort ?? 3000,
    sqs: options.sqsPort ?? 4566,
    dynamodb: options.dynamoDbPort ?? 8000,
    emulator: options.emulatorPort ?? 12111,
    ws: options.wsPort ?? 3001,
  };
  // Every busy port is reported before anything starts, so a conflict costs nothing to fix.
  await assertPortFree(ports.api, [host], 'API_PORT');
  await assertPortFree(ports.sqs, [host], 'SQS_PORT');
  await assertPortFree(ports.emulator, [host], 'STRIPE_EMULATOR_PORT');
  await assertPortFree(ports.ws, [host], 'WS_PORT');
  if (options.dynamoDbEndpoint === undefined) await assertPortFree(ports.dynamodb, ['0.0.0.0', host], 'DYNAMODB_PORT');

  const issuer = await createJwtIssuer();
  const secretKey = `sk_test_${randomBytes(24).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  const tableName = options.tableName ?? 'terminal-payments';
  const cleanups: (() => Promise<void>)[] = [];
  // Filled in once DynamoDB, SQS and the emulator are up; the gateway answers 503 until then.
  let deps: StackDependencies | undefined;
  let liveDeps: StackDependencies | undefined;
  const dependencies = () => {
    if (deps === undefined) throw new Error('The stack is still starting');
    return deps;
  };
  const liveDependencies = () => {
    if (liveDeps === undefined) throw new Error('The stack is still starting');
    return liveDeps;
  };
  // The console's local sign-in: fresh tokens of the stack's issuer, once the stack knows its locations.
  let session: (() => Promise<LocalSession>) | undefined;
  let simulator: ReaderSimulator | undefined;
  const localSession = () => {
    if (session === undefined) throw new Error('The stack is still starting');
    return session();
  };
  const simulateReader: ReaderSimulator = (readerId, gesture) => {
    if (simulator === undefined) throw new Error('The stack is still starting');
    return simulator(readerId, gesture);
  };
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => log(String(error)));
  };

  try {
    // The gateway opens first (the emulator needs its URL for webhooks) but answers 503 until all is up.
    const gateway = await startGateway({
      port: ports.api,
      host,
      routes: options.routes ?? allRoutes,
      verifier: createJwtVerifier(issuer),
      region,
      root,
      timeoutSeconds: routeTimeouts,
      dependencies,
      ready: false,
      log,
      console: consoleFiles(localSession, simulateReader),
    });
    cleanups.push(() => gateway.close());

    const [dynamodb, sqs, emulator] = await startInParallel(cleanups, [
      () =>
        options.dynamoDbEndpoint !== undefined && options.dataDir === undefined
          ? useDynamoDb(options.dynamoDbEndpoint, tableName, region)
          : startDynamoDb({
              port: ports.dynamodb,
              tableName,
              region,
              ...(options.dataDir ? { dataDir: join(options.dataDir, 'dynamodb') } : {}),
            }),
      () =>
        startSqs({
          port: ports.sqs,
          host,
          region,
          ...(options.queue?.visibilityTimeoutSeconds !== undefined
            ? { visibilityTimeoutSeconds: options.queue.visibilityTimeoutSeconds }
            : {}),
          ...(options.queue?.maxReceiveCount !== undefined ? { maxReceiveCount: options.queue.maxReceiveCount } : {}),
        }),
      () =>
        startStripeEmulator({
          port: ports.emulator,
          host,
          webhookUrl: `${gateway.url}/webhooks/stripe`,
          webhookSecret,
          dataDir: options.dataDir ? join(options.dataDir, 'stripe-emulator') : undefined,
          knobs: options.emulator,
        }),
    ] as const);

    const env: Record<string, string> = {
      AWS_REGION: region,
      TABLE_NAME: tableName,
      DYNAMODB_ENDPOINT: dynamodb.endpoint,
      EVENT_QUEUE_URL: sqs.queueUrl,
      EVENT_DLQ_URL: sqs.dlqUrl,
      SQS_ENDPOINT: sqs.endpoint,
      STRIPE_API_BASE: emulator.url,
      STRIPE_SECRET_KEY: secretKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      // The SDKs need credentials even for local endpoints; dummy ones keep them from probing for real ones.
      ...(process.env.AWS_ACCESS_KEY_ID ? {} : { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
      ...Object.fromEntries(
        Object.entries(options.env ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
    };
    // Logging and metrics are process-wide (Powertools reads its settings from the environment): they alone are set
    // in this process, and restored on stop.
    const restoreLogging = applyToProcess(
      Object.fromEntries(Object.entries(options.env ?? {}).filter(([name]) => name.startsWith('POWERTOOLS_'))),
    );
    cleanups.push(async () => restoreLogging());
    let requestCount = 0;
    const db = createDocumentClient(region, dynamodb.endpoint);
    db.middlewareStack.add(
      (next) => (args) => {
        requestCount += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countDynamoRequests' },
    );
    let settings = parseConfig({ ...process.env, ...env });
    const clock = handlerClock(emulator.clock);
    const authorizerDeps: AuthorizerDependencies = {
      clock,
      verifier: createTokenVerifier({ issuer: issuer.issuer, audiences: [issuer.audience], jwks: issuer.jwks }),
    };
    const liveFunction = (fn: { name: string; entry: string }, dependencies: () => object): LocalFunction => ({
      ...fn,
      timeoutSeconds: liveProfiles[fn.name] ?? 29,
      root,
      dependencies,
    });
    const live = await startWebSocketGateway({
      port: ports.ws,
      host,
      region,
      functions: {
        authorize: liveFunction(liveFunctions.authorize, () => authorizerDeps),
        connect: liveFunction(liveFunctions.connect, liveDependencies),
        disconnect: liveFunction(liveFunctions.disconnect, liveDependencies),
        messages: Object.fromEntries(
          MESSAGE_ROUTES.map((route) => [route, liveFunction(liveFunctions.message, liveDependencies)]),
        ),
      },
      log,
    });
    cleanups.push(() => live.close());
    deps = {
      store: { db, table: tableName },
      // The key as the settings hold it now, read again after its max age by the stack's clock, as on AWS.
      stripe: () => stripe(),
      // The emulator's clock: moving its time moves the handlers' time with it.
      clock,
      settings,
      queue: sqs.client,
      connections: createConnections(live.managementEndpoint, region, {
        accessKeyId: 'local',
        secretAccessKey: 'local',
      }),
    };
    const stripe = stripeClients(deps);
    liveDeps = { ...deps, store: { db: createDocumentClient(region, dynamodb.endpoint), table: tableName } };
    const configure = (changes: Record<string, string | undefined>) => {
      for (const [name, value] of Object.entries(changes)) {
        if (value === undefined) delete env[name];
        else env[name] = value;
      }
      settings = parseConfig({ ...process.env, ...env });
      if (deps !== undefined) deps.settings = settings;
      if (liveDeps !== undefined) liveDeps.settings = settings;
    };

    const poller = startQueuePoller({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region,
      function: {
        name: backgroundFunctions.processEvents.name,
        entry: options.processEventsEntry ?? backgroundFunctions.processEvents.entry,
        timeoutSeconds: backgroundProfiles.processEvents.timeoutSeconds,
        root,
        dependencies,
      },
      batchSize: eventQueue.batchSize,
      // As many batches at once as the event source mapping's maximum concurrency allows.
      concurrency: eventQueue.maxConcurrency,
      waitTimeSeconds: options.queue?.waitTimeSeconds ?? 20,
      log,
    });
    cleanups.push(() => poller.stop());

    const reconciler: LocalFunction = {
      name: backgroundFunctions.reconcile.name,
      entry: options.reconcileEntry ?? backgroundFunctions.reconcile.entry,
      timeoutSeconds: backgroundProfiles.reconcile.timeoutSeconds,
      root,
      dependencies,
    };
    const scheduler = startScheduler({
      function: reconciler,
      intervalSeconds: options.reconcileIntervalSeconds ?? 5,
      region,
      log,
    });
    cleanups.push(() => scheduler.stop());

    const streamPoller = await startStreamPoller({
      client: dynamodb.client,
      endpoint: dynamodb.endpoint,
      region,
      tableName,
      function: liveFunction(liveFunctions.notify, liveDependencies),
      batchSize: notifierStream.batchSize,
      filterPatterns: notifierStream.filterPatterns,
      bisectBatchOnError: notifierStream.bisectBatchOnError,
      retryAttempts: notifierStream.retryAttempts,
      // A table kept across restarts: what changed before this start is not published again.
      startingPosition: options.dataDir === undefined ? 'TRIM_HORIZON' : 'LATEST',
      pollIntervalMs: options.streamPollIntervalMs ?? 50,
      log,
    });
    cleanups.push(() => streamPoller.stop());

    const state: StackState = {
      apiUrl: gateway.url,
      stripe: { apiBase: emulator.url, secretKey, webhookSecret },
      dynamodb: { endpoint: dynamodb.endpoint, tableName },
      sqs: { endpoint: sqs.endpoint, queueUrl: sqs.queueUrl, dlqUrl: sqs.dlqUrl },
      locations: await Promise.all(
        emulator.seeded.locations.map(async (location) => ({
          id: location.id,
          displayName: location.displayName,
          readers: location.readers.map((reader) => reader.id),
          token: await issuer.sign({ locations: [location.id], username: slug(location.displayName) }),
        })),
      ),
      adminToken: await issuer.sign({ locations: '*', username: 'admin', role: 'admin' }),
      liveUrl: live.url,
      consoleUrl: `${gateway.url}${CONSOLE_PATH}/`,
    };
    // The key as the handlers hold it now (a rolled key included).
    simulator = emulatorReaderSimulator(emulator.url, () => env.STRIPE_SECRET_KEY ?? secretKey);
    session = async () => ({
      liveUrl: live.url,
      simulator: true,
      accounts: [
        ...(await Promise.all(
          state.locations.map(async (location) => ({
            label: location.displayName,
            role: 'cashier' as const,
            token: await issuer.sign({ locations: [location.id], username: slug(location.displayName) }),
            locations: [{ id: location.id, displayName: location.displayName }],
          })),
        )),
        {
          label: 'Admin (every location)',
          role: 'admin' as const,
          token: await issuer.sign({ locations: '*', username: 'admin', role: 'admin' }),
          locations: state.locations.map(({ id, displayName }) => ({ id, displayName })),
        },
      ],
    });

    const stateFile = options.stateFile === undefined ? DEFAULT_STATE_FILE : options.stateFile;
    if (stateFile) {
      await writeStateFiles(stateFile, state, issuer);
      cleanups.push(() => removeStateFiles(stateFile));
    }

    gateway.markReady();
    return {
      apiUrl: gateway.url,
      state,
      env,
      deps,
      liveDeps,
      configure,
      dynamoRequests: () => requestCount,
      gateway,
      dynamodb,
      sqs,
      emulator,
      poller,
      scheduler,
      live,
      streamPoller,
      issuer,
      token: (locations, request = {}) => issuer.sign({ ...request, locations }),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startStripeEmulator(settings: {
  port: number;
  host: string;
  webhookUrl: string;
  webhookSecret: string;
  /** Only the stack's own data directory: the emulator's state goes with DynamoDB's, or nowhere. */
  dataDir: string | undefined;
  knobs: Partial<Timing> | undefined;
}): Promise<Emulator> {
  const { port, knobs, ...options } = settings;
  try {
    return await startEmulator({ ...knobs, ...options, port, seed: { locations: SEEDED_LOCATIONS } });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(port, 'STRIPE_EMULATOR_PORT');
    throw error;
  }
}

type Stoppable = { stop(): Promise<void> } | { close(): Promise<void> };

/** Start the parts together; each that started is registered for cleanup even when another failed. */
async function startInParallel<T extends readonly (() => Promise<Stoppable>)[]>(
  cleanups: (() => Promise<void>)[],
  starters: T,
): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const settled = await Promise.allSettled(starters.map((start) => start()));
  for (const outcome of settled) {
    if (outcome.status !== 'fulfilled') continue;
    const part = outcome.value;
    cleanups.push(() => ('stop' in part ? part.stop() : part.close()));
  }
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<Stoppable>).value) as {
    [K in keyof T]: Awaited<ReturnType<T[K]>>;
  };
}

/** `.local/stack.json` and, beside it, the issuer's key for `local/token.ts`; both only for this user. */
async function writeStateFiles(stateFile: string, state: StackState, issuer: JwtIssuer): Promise<void> {
  await mkdir(dirname(stateFile), { recursive: true });
  await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  const issuerFile = join(dirname(stateFile), 'issuer.json');
  const issuerState = { issuer: issuer.issuer, audience: issuer.audience, privateJwk: issuer.privateJwk };
  await writeFile(issuerFile, `${JSON.stringify(issuerState, null, 2)}\n`, { mode: 0o600 });
}

async function removeStateFiles(stateFile: string): Promise<void> {
  await rm(stateFile, { force: true });
  await rm(join(dirname(stateFile), 'issuer.json'), { force: true });
}

function applyToProcess(values: Record<string, string | undefined>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(values)) {
    previous.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** The emulator's clock as the handlers read it and wait on it. */
export function handlerClock(clock: EmulatorClock): Clock {
  return {
    now: () => clock.now(),
    sleep: (ms) => new Promise((resolve) => clock.after(ms, () => resolve())),
  };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

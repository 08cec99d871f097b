/**
 * The local stack as the benchmark drives it: every port picked free, no state file, the reconciler's timer out
 * of the way (the benchmark runs it itself), quiet handler logs, and the counters the figures are read from —
 * the emulator's request log (Stripe requests) and a per-command tally on the handlers' DynamoDB client.
 */
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type LocalStack, type StackOptions, startStack } from '../local/stack.ts';
import { emulatorControls } from '../local/stripe-emulator/control-client.ts';
import { createDynamoClient } from '../shared/store/client.ts';
import { sharedDynamoDbEndpoint } from '../test/support/shared-dynamodb.ts';

export type { LocalStack } from '../local/stack.ts';

/** How the benchmark's stack is started. */
export interface BenchStackOptions {
  /** The emulator's card-presented → authorization delay. */
  authorizationDelayMs: number;
  /**
   * Meter every invocation (`bench/meter.ts`): the handler modules are loaded and wrapped before the stack starts, so
   * none runs unmetered. The cost scenario needs it.
   */
  meter?: boolean;
  log?: (line: string) => void;
}

/**
 * The handlers' log level and metrics: counts and ratios do not depend on log volume, and 10,000 INFO lines would
 * bury the table.
 */
const QUIET_HANDLERS = { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' } as const;

/** A response read in full. */
export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

/** One API request in the emulator's log (`GET /_emulator/requests`). */
export interface StripeRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
  createdAt: string;
}

/** DynamoDB requests by command, as the handlers' client sent them. */
export interface DynamoTally {
  total: number;
  reads: number;
  writes: number;
  byCommand: Record<string, number>;
}

export const READ_COMMANDS: ReadonlySet<string> = new Set([
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'TransactGetItems',
]);
export const WRITE_COMMANDS: ReadonlySet<string> = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

/** The document client's command names (`GetCommand`) and the low-level ones (`GetItemCommand`) as API actions. */
const ACTION_OF: Record<string, string> = {
  Get: 'GetItem',
  BatchGet: 'BatchGetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
  BatchExecuteStatement: 'BatchExecuteStatement',
};

/** The DynamoDB API action of a command name. */
export function dynamoAction(commandName: string): string {
  const name = commandName.replace(/Command$/, '');
  return ACTION_OF[name] ?? name;
}

/**
 * Counts every request the handlers' DynamoDB client (`stack.deps.store.db`) sends, by API action. It sits at the
 * same middleware step as the stack's own counter (`stack.dynamoRequests()`), once per command sent (SDK retries
 * of one command are not new requests), so the two always agree.
 */
export class DynamoCounter {
  private readonly counts = new Map<string, number>();
  private readonly stack: LocalStack;

  private constructor(stack: LocalStack) {
    this.stack = stack;
  }

  /** Attach to the handlers' client, the one the stack's handlers run on. */
  static attach(stack: LocalStack): DynamoCounter {
    const counter = new DynamoCounter(stack);
    stack.deps.store.db.middlewareStack.add(
      (next, context) => (args) => {
        const action = dynamoAction(String(context.commandName ?? 'Unknown'));
        counter.counts.set(action, (counter.counts.get(action) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'benchDynamoTally' },
    );
    return counter;
  }

  /** Everything counted so far. */
  snapshot(): DynamoTally {
    const byCommand = Object.fromEntries(this.counts);
    return tallyOf(byCommand);
  }

  /** Requests between two snapshots. */
  static diff(before: DynamoTally, after: DynamoTally): DynamoTally {
    const byCommand: Record<string, number> = {};
    for (const [action, count] of Object.entries(after.byCommand)) {
      const delta = count - (before.byCommand[action] ?? 0);
      if (delta > 0) byCommand[action] = delta;
    }
    return tallyOf(byCommand);
  }

  /**
   * Count the DynamoDB requests `action` causes. The client's own counter is read around it too: a mismatch
   * means a request went past this tally (another client) and the figure is not trustworthy.
   */
  async measure<T>(action: () => Promise<T>): Promise<{ result: T; tally: DynamoTally }> {
    const before = this.snapshot();
    const countBefore = this.stack.dynamoRequests();
    const result = await action();
    const tally = DynamoCounter.diff(before, this.snapshot());
    const counted = this.stack.dynamoRequests() - countBefore;
    if (counted !== tally.total) {
      throw new Error(`DynamoDB counters disagree: client counted ${counted}, benchmark tally ${tally.total}`);
    }
    return { result, tally };
  }
}

function tallyOf(byCommand: Record<string, number>): DynamoTally {
  let reads = 0;
  let writes = 0;
  let total = 0;
  for (const [action, count] of Object.entries(byCommand)) {
    total += count;
    if (READ_COMMANDS.has(action)) reads += count;
    else if (WRITE_COMMANDS.has(action)) writes += count;
  }
  return { total, reads, writes, byCommand };
}

/** The running stack with the benchmark's helpers. */
export class BenchStack {
  readonly stack: LocalStack;
  readonly dynamo: DynamoCounter;
  /** A document client of the benchmark's own, for seeding and checking the table outside the measured calls. */
  readonly table: DynamoDBDocumentClient;
  readonly authorizationDelayMs: number;
  /** Records the processor reported failed (SQS delivers them again), since the start. */
  failedRecords = 0;
  /** When the queue poller last finished a batch (`performance.now()`). */
  lastBatchAt = 0;

  /** Puts back the process's environment as it was before `start` (the meter loads the handlers quietly). */
  private restoreEnvironment: () => void = () => undefined;

  private constructor(stack: LocalStack, authorizationDelayMs: number) {
    this.stack = stack;
    this.authorizationDelayMs = authorizationDelayMs;
    this.dynamo = DynamoCounter.attach(stack);
    stack.poller.onBatch((outcome) => {
      this.failedRecords += outcome.failed;
      this.lastBatchAt = performance.now();
    });
    this.table = DynamoDBDocumentClient.from(
      createDynamoClient(stack.env.AWS_REGION ?? 'us-east-1', stack.dynamodb.endpoint),
      {
        marshallOptions: { removeUndefinedValues: true },
      },
    );
  }

  static async start(options: BenchStackOptions): Promise<BenchStack> {
    // Inside a test run (the bench's smoke test), the run's DynamoDB Local, with a table of the bench's own.
    const shared = sharedDynamoDbEndpoint();
    const stackOptions: StackOptions = {
      ...(shared === undefined ? {} : { dynamoDbEndpoint: shared, tableName: `bench-${randomUUID().slice(0, 8)}` }),
      apiPort: 0,
      sqsPort: 0,
      dynamoDbPort: 0,
      emulatorPort: 0,
      wsPort: 0,
      stateFile: false,
      // The benchmark runs the reconciler itself (`scheduler.runNow()`), so its timer must never fire.
      reconcileIntervalSeconds: 3600,
      emulator: { authorizationDelayMs: options.authorizationDelayMs, webhookRetryBaseMs: 100 },
      // A failed record comes back in seconds, not the queue's minutes, so a failure shows as a figure, not a hang.
      queue: { waitTimeSeconds: 1, visibilityTimeoutSeconds: 20 },
      env: { ...QUIET_HANDLERS },
      ...(options.log ? { log: options.log } : {}),
    };
    // The handlers' loggers read their level when their module loads: the meter loads them now, so quietly.
    const restoreEnvironment = options.meter ? applyEnvironment(QUIET_HANDLERS) : () => undefined;
    let stack: LocalStack;
    try {
      if (options.meter) await (await import('./meter.ts')).installInvocationMeter();
      stack = await startStack(stackOptions);
    } catch (error) {
      restoreEnvironment();
      throw error;
    }
    try {
      const bench = new BenchStack(stack, options.authorizationDelayMs);
      bench.restoreEnvironment = restoreEnvironment;
      return bench;
    } catch (error) {
      await stack.stop();
      restoreEnvironment();
      throw error;
    }
  }

  /** The first seeded location: its id, readers and a token scoped to it. */
  get location(): { id: string; readers: string[]; token: string } {
    const location = this.stack.state.locations[0];
    if (location === undefined) throw new Error('The stack seeded no location');
    return location;
  }

  get adminToken(): string {
    return this.stack.state.adminToken;
  }

  /** Call the POS API through the local gateway. */
  async api<T = unknown>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.stack.apiUrl}${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined
        ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body: body as T };
  }

  /** A `/_emulator` control. */
  async control<T = unknown>(path: string, body?: unknown): Promise<T> {
    const controls = emulatorControls(this.stack.emulator.url);
    return body === undefined ? controls.get<T>(path) : controls.post<T>(path, body);
  }

  /** Every API request the emulator has answered, oldest first. */
  async stripeRequests(): Promise<StripeRequest[]> {
    return (await this.control<{ data: StripeRequest[] }>('requests')).data;
  }

  /** A Stripe API call made by the benchmark itself (the reader test helper, listing events), with the stack's key. */
  async stripeApi<T = unknown>(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<T> {
    const response = await fetch(`${this.stack.emulator.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.stack.state.stripe.secretKey}`,
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    if (!response.ok) throw new Error(`Stripe ${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** The customer taps a card on the simulated reader. */
  tap(readerId: string, cardNumber = '4242424242424242'): Promise<unknown> {
    return this.stripeApi('POST', `/v1/test_helpers/terminal/readers/${readerId}/present_payment_method`, {
      type: 'card_present',
      'card_present[number]': cardNumber,
    });
  }

  /** Messages in the event queue (or its DLQ), visible or being processed. */
  async queueDepth(queue: 'events' | 'deadLetters' = 'events'): Promise<number> {
    const { Attributes = {} } = await this.stack.sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queue === 'events' ? this.stack.sqs.queueUrl : this.stack.sqs.dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  /**
   * Wait until nothing moves: no webhook held or in flight at the emulator, the event queue empty, and no DynamoDB
   * request for a few checks in a row. Measured calls start from here, so no earlier work is counted in them.
   */
  async quiesce(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietChecks = 0;
    let last = `${this.stack.dynamoRequests()}`;
    while (quietChecks < 3) {
      if (Date.now() > deadline) throw new Error('The stack did not settle (webhooks or queue still busy)');
      await sleep(40);
      const webhooks = await this.control<{
        held: number;
        attempts: { status: number | null; error: string | null }[];
      }>('webhooks');
      const depth = await this.queueDepth();
      const now = `${this.stack.dynamoRequests()}|${webhooks.attempts.length}`;
      quietChecks = webhooks.held === 0 && depth === 0 && now === last ? quietChecks + 1 : 0;
      last = now;
    }
  }

  async stop(): Promise<void> {
    this.table.destroy();
    await this.stack.stop();
    this.restoreEnvironment();
  }
}

/** Set `values` in this process's environment; returns what puts the previous values back. */
function applyEnvironment(values: Readonly<Record<string, string>>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `read` until `done` holds; rejects after `timeoutMs`. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${options.what ?? 'a condition'}: last ${JSON.stringify(value).slice(0, 300)}`,
      );
    }
    await sleep(options.intervalMs ?? 20);
  }
}

/**
 * The benchmark's meter of what the Lambda functions use on the local stack: every invocation of every function (its
 * name and how long its handler ran) and, while recording, what each invocation sent: DynamoDB requests with the
 * capacity units DynamoDB Local reports for them, Stripe requests, SQS requests, and the bytes it would have logged at
 * the deployed log level.
 *
 * How it sees invocations: every handler module of `shared/routes.ts` exports an injectable handler, which the local
 * stack binds to its dependencies with `handler.withDependencies` the first time it invokes it (`local/lambda.ts`).
 * The meter wraps `withDependencies` of every handler module before the stack invokes anything
 * (`BenchStack.start({ meter: true })`), so every bound handler runs inside it. What a handler awaits runs with its
 * invocation in an AsyncLocalStorage: that is how a DynamoDB, SQS or Stripe request, or a log line, is attributed.
 * Requests made outside any invocation (the event source mapping's receives and deletes) are counted apart.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { repositoryRoot } from '../local/lambda.ts';
import { backgroundFunctions, liveFunctions, routes } from '../shared/routes.ts';
import { dynamoAction, READ_COMMANDS, WRITE_COMMANDS } from './stack.ts';

/** DynamoDB requests and the capacity units they consumed. */
export interface DynamoUsage {
  requests: number;
  readUnits: number;
  writeUnits: number;
  /** Of `writeUnits`, those spent writing the global secondary indexes; of those, in transactions. */
  indexWriteUnits: number;
  transactionIndexWriteUnits: number;
  byCommand: Record<string, number>;
  /**
   * Requests refused, by command: a conditional write whose condition failed (a version conflict the code then
   * resolves) still consumes write units, which an error does not report; each is counted as 1 WRU an item it
   * wrote (2 in a transaction), its item's own size unknown.
   */
  refused: Record<string, number>;
}

/** SQS requests, each 64 KB chunk of a request's payload counted as one (as SQS bills them). */
export interface SqsUsage {
  requests: number;
  byAction: Record<string, number>;
}

/** One invocation of a function and what it used. */
export interface Invocation {
  fn: string;
  durationMs: number;
  failed: boolean;
  dynamo: DynamoUsage;
  stripeRequests: number;
  sqs: SqsUsage;
  /** Application log lines at the deployed level (INFO and above), as Powertools prints them. */
  logBytes: number;
  /** Powertools Metrics' EMF lines. */
  metricBytes: number;
}

/** Requests sent outside any invocation: the event source mapping's (SQS receives that got messages, deletes). */
export interface OutsideUsage {
  dynamo: DynamoUsage;
  sqs: SqsUsage;
  stripeRequests: number;
}

/** What the functions used between `begin()` and `end()`. */
export interface MeterWindow {
  invocations: Invocation[];
  outside: OutsideUsage;
}

/** The deployed log level (`infra/settings.ts`: INFO unless the stage's context says otherwise). */
const DEPLOYED_LOG_LEVEL = LogLevelThreshold.INFO;

/** SQS bills each 64 KB of a request's payload as one request. */
const SQS_CHUNK_BYTES = 64 * 1024;

/** The SQS actions the system sends (the benchmark's own `GetQueueAttributes` is not one). */
const SQS_ACTIONS = new Set([
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
]);

const WRAPPED = Symbol('bench.meter.wrapped');

type Handler = ((event: unknown, context: unknown) => unknown) & {
  withDependencies?: (deps: unknown) => (event: unknown, context: unknown) => unknown;
  [WRAPPED]?: InvocationMeter;
};

/** The parts of Powertools' Logger the meter reads to size a log line without printing it. */
interface LoggerInternals {
  processLogItem(level: number, input: unknown, extraInput: unknown[]): void;
  createAndPopulateLogItem(
    level: number,
    input: unknown,
    extraInput: unknown[],
  ): { prepareForPrint(): void; getAttributes(): unknown };
  getJsonReplacer(): (key: string, value: unknown) => unknown;
  logIndentation: number;
}

interface MetricsInternals {
  publishStoredMetrics(): unknown;
  hasStoredMetrics(): boolean;
  serializeMetrics(): unknown;
}

function emptyDynamo(): DynamoUsage {
  return {
    requests: 0,
    readUnits: 0,
    writeUnits: 0,
    indexWriteUnits: 0,
    transactionIndexWriteUnits: 0,
    byCommand: {},
    refused: {},
  };
}

function emptyOutside(): OutsideUsage {
  return { dynamo: emptyDynamo(), sqs: { requests: 0, byAction: {} }, stripeRequests: 0 };
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function add(counts: Record<string, number>, key: string, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n;
}

interface ConsumedCapacity {
  CapacityUnits?: number;
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

export class InvocationMeter {
  private readonly storage = new AsyncLocalStorage<Invocation>();
  private completed: Invocation[] = [];
  private outside = emptyOutside();
  private recording = false;
  private inFlight = 0;
  private lastActivity = 0;

  /** Wrap `withDependencies` of every handler module; a handler without it (health) is not metered. */
  async install(): Promise<void> {
    const functions = [...routes, ...Object.values(backgroundFunctions), ...Object.values(liveFunctions)];
    for (const fn of functions) {
      const module = (await import(pathToFileURL(resolve(repositoryRoot, fn.entry)).href)) as { handler?: Handler };
      const handler = module.handler;
      if (handler === undefined || typeof handler.withDependencies !== 'function') continue;
      if (handler[WRAPPED] !== this) {
        const withDependencies = handler.withDependencies;
        handler.withDependencies = (deps: unknown) => {
          const bound = withDependencies(deps);
          return (event: unknown, context: unknown) => this.run(fn.name, () => bound(event, context));
        };
        handler[WRAPPED] = this;
      }
    }
  }

  private async run<T>(fn: string, handler: () => T): Promise<Awaited<T>> {
    if (!this.recording) return await handler();
    const invocation: Invocation = {
      fn,
      durationMs: 0,
      failed: false,
      dynamo: emptyDynamo(),
      stripeRequests: 0,
      sqs: { requests: 0, byAction: {} },
      logBytes: 0,
      metricBytes: 0,
    };
    this.inFlight += 1;
    const started = performance.now();
    this.lastActivity = started;
    try {
      return await this.storage.run(invocation, handler);
    } catch (error) {
      invocation.failed = true;
      throw error;
    } finally {
      invocation.durationMs = performance.now() - started;
      this.inFlight -= 1;
      this.lastActivity = performance.now();
      this.completed.push(invocation);
    }
  }

  /**
   * Start recording: DynamoDB's consumed capacity asked for on `dynamo` clients, SQS requests counted on `sqs`,
   * Stripe requests (to `stripeHost`) and log lines sized. Returns what stops it all again.
   */
  attach(clients: { dynamo: DynamoDBDocumentClient[]; sqs: SQSClient; stripeHost: string }): () => void {
    const detachers: (() => void)[] = [];
    clients.dynamo.forEach((client, index) => {
      detachers.push(this.attachDynamo(client, `benchCapacity${index}`));
    });
    detachers.push(this.attachSqs(clients.sqs));
    detachers.push(this.attachStripe(clients.stripeHost));
    detachers.push(this.attachLogs());
    this.recording = true;
    return () => {
      this.recording = false;
      for (const detach of detachers.reverse()) detach();
    };
  }

  /** Start a window: the invocations and outside requests from now until `end()`. */
  begin(): void {
    this.completed = [];
    this.outside = emptyOutside();
  }

  end(): MeterWindow {
    if (this.inFlight > 0) throw new Error(`${this.inFlight} invocation(s) still running at the end of a window`);
    const window = { invocations: this.completed, outside: this.outside };
    this.begin();
    return window;
  }

  /** Resolve once no invocation has run for `quietMs`. */
  async idle(quietMs = 300, timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.inFlight > 0 || performance.now() - this.lastActivity < quietMs) {
      if (performance.now() > deadline) throw new Error('Invocations kept running: the stack did not go idle');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private usage(): { dynamo: DynamoUsage; sqs: SqsUsage; invocation?: Invocation } {
    const invocation = this.storage.getStore();
    return invocation === undefined
      ? { dynamo: this.outside.dynamo, sqs: this.outside.sqs }
      : { dynamo: invocation.dynamo, sqs: invocation.sqs, invocation };
  }

  /**
   * Every request asks for its consumed capacity by index (`ReturnConsumedCapacity: INDEXES`), which DynamoDB Local
   * computes by DynamoDB's rules (item sizes rounded up to 4 KB a read and 1 KB a write, eventually consistent reads
   * half, transactions double, every index an item is written to, or leaves, one write more, two when its key
   * changes). Two things it reports as 0 that DynamoDB charges: a key of a batch read that finds no item, and a
   * query that finds nothing; both are added here at the minimum (1 unit, 0.5 eventually consistent).
   */
  private attachDynamo(client: DynamoDBDocumentClient, name: string): () => void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = dynamoAction(String(context.commandName ?? 'Unknown'));
        const input = args.input as Record<string, unknown>;
        const usage = this.recording ? this.usage().dynamo : undefined;
        if (usage === undefined) return next(args);
        usage.requests += 1;
        add(usage.byCommand, action);
        try {
          const result = await next({
            ...args,
            input: { ...input, ReturnConsumedCapacity: 'INDEXES' } as typeof args.input,
          });
          this.countCapacity(usage, action, input, result.output as Record<string, unknown>);
          return result;
        } catch (error) {
          add(usage.refused, action);
          if (WRITE_COMMANDS.has(action)) usage.writeUnits += refusedWriteUnits(action, input);
          throw error;
        }
      },
      { step: 'initialize', name },
    );
    return () => {
      client.middlewareStack.remove(name);
    };
  }

  private countCapacity(
    usage: DynamoUsage,
    action: string,
    input: Record<string, unknown>,
    output: Record<string, unknown>,
  ): void {
    const consumed = asArray(output.ConsumedCapacity as ConsumedCapacity | ConsumedCapacity[] | undefined);
    let units = consumed.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
    const indexUnits = consumed.reduce(
      (sum, c) => sum + Object.values(c.GlobalSecondaryIndexes ?? {}).reduce((s, i) => s + (i.CapacityUnits ?? 0), 0),
      0,
    );
    if (action === 'BatchGetItem') {
      const requested = (input.RequestItems ?? {}) as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }>;
      const responses = (output.Responses ?? {}) as Record<string, unknown[]>;
      const unprocessed = (output.UnprocessedKeys ?? {}) as Record<string, { Keys?: unknown[] }>;
      for (const [table, request] of Object.entries(requested)) {
        const missing =
          (request.Keys?.length ?? 0) - (responses[table]?.length ?? 0) - (unprocessed[table]?.Keys?.length ?? 0);
        if (missing > 0) units += missing * (request.ConsistentRead ? 1 : 0.5);
      }
    }
    if (action === 'Query' || action === 'Scan') units = Math.max(units, input.ConsistentRead ? 1 : 0.5);
    if (READ_COMMANDS.has(action)) usage.readUnits += units;
    else if (WRITE_COMMANDS.has(action)) {
      usage.writeUnits += units;
      usage.indexWriteUnits += indexUnits;
      if (action === 'TransactWriteItems') usage.transactionIndexWriteUnits += indexUnits;
    }
  }

  /**
   * SQS requests by action, each 64 KB of payload one request. A receive that got nothing is not counted: the event
   * source mapping's empty long polls are a fixed monthly cost, not a payment's.
   */
  private attachSqs(client: SQSClient): () => void {
    const name = 'benchSqsRequests';
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const action = String(context.commandName ?? '').replace(/Command$/, '');
        if (!this.recording || !SQS_ACTIONS.has(action)) return result;
        const input = args.input as Record<string, unknown>;
        let bytes = 0;
        if (action === 'ReceiveMessage') {
          const messages = ((result.output as { Messages?: unknown[] }).Messages ?? []) as Record<string, unknown>[];
          if (messages.length === 0) return result;
          bytes = messages.reduce((sum, message) => sum + messageBytes(message), 0);
        } else if (action === 'SendMessage') bytes = messageBytes(input);
        else if (action === 'SendMessageBatch') {
          bytes = ((input.Entries ?? []) as Record<string, unknown>[]).reduce((sum, e) => sum + messageBytes(e), 0);
        }
        const usage = this.usage().sqs;
        const chunks = Math.max(1, Math.ceil(bytes / SQS_CHUNK_BYTES));
        usage.requests += chunks;
        add(usage.byAction, action, chunks);
        return result;
      },
      { step: 'initialize', name },
    );
    return () => {
      client.middlewareStack.remove(name);
    };
  }

  /** Stripe requests: every HTTP request the handlers' Stripe client opens to the emulator (`host:port`). */
  private attachStripe(stripeHost: string): () => void {
    const listener = (message: unknown) => {
      const request = (message as { request: ClientRequest }).request;
      if (!this.recording || request.getHeader('host') !== stripeHost) return;
      const invocation = this.storage.getStore();
      if (invocation === undefined) this.outside.stripeRequests += 1;
      else invocation.stripeRequests += 1;
    };
    diagnostics.subscribe('http.client.request.start', listener);
    return () => {
      diagnostics.unsubscribe('http.client.request.start', listener);
    };
  }

  /**
   * The bytes each log line at the deployed level would take: the benchmark runs the handlers at WARN (thousands of
   * INFO lines would bury its table), so a line at INFO or above is built and sized as Powertools would print it,
   * then handled as before. Metrics likewise: the EMF line `publishStoredMetrics` would print, sized.
   */
  private attachLogs(): () => void {
    const logger = Logger.prototype as unknown as LoggerInternals;
    const metrics = Metrics.prototype as unknown as MetricsInternals;
    const { processLogItem } = logger;
    const { publishStoredMetrics } = metrics;
    if (
      typeof processLogItem !== 'function' ||
      typeof logger.createAndPopulateLogItem !== 'function' ||
      typeof publishStoredMetrics !== 'function' ||
      typeof metrics.serializeMetrics !== 'function'
    ) {
      throw new Error('Powertools Logger or Metrics no longer has the methods the meter sizes log lines with');
    }
    const storage = this.storage;
    logger.processLogItem = function (this: LoggerInternals, level, input, extraInput) {
      const invocation = storage.getStore();
      if (invocation !== undefined && level >= DEPLOYED_LOG_LEVEL) {
        const item = this.createAndPopulateLogItem(level, input, extraInput);
        item.prepareForPrint();
        const line = JSON.stringify(item.getAttributes(), this.getJsonReplacer(), this.logIndentation);
        invocation.logBytes += Buffer.byteLength(line) + 1;
      }
      return processLogItem.call(this, level, input, extraInput);
    };
    metrics.publishStoredMetrics = function (this: MetricsInternals) {
      const invocation = storage.getStore();
      if (invocation !== undefined && this.hasStoredMetrics()) {
        invocation.metricBytes += Buffer.byteLength(JSON.stringify(this.serializeMetrics())) + 1;
      }
      return publishStoredMetrics.call(this);
    };
    return () => {
      logger.processLogItem = processLogItem;
      metrics.publishStoredMetrics = publishStoredMetrics;
    };
  }
}

/** The write units of a refused write: 1 an item (its size unknown), 2 an item in a transaction. */
function refusedWriteUnits(action: string, input: Record<string, unknown>): number {
  if (action === 'TransactWriteItems') return 2 * ((input.TransactItems as unknown[] | undefined)?.length ?? 1);
  if (action === 'BatchWriteItem') {
    return Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>).reduce((n, r) => n + r.length, 0);
  }
  return 1;
}

/** An SQS message's payload: its body and its attributes (names, types and values). */
function messageBytes(message: Record<string, unknown>): number {
  const body = Buffer.byteLength(String(message.MessageBody ?? message.Body ?? ''));
  const attributes = Object.entries(
    (message.MessageAttributes ?? {}) as Record<string, { DataType?: string; StringValue?: string }>,
  ).reduce(
    (sum, [name, value]) =>
      sum +
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? ''),
    0,
  );
  return body + attributes;
}

let meter: InvocationMeter | undefined;

/**
 * The process's meter, its handlers wrapped. Call before the stack invokes any handler: a handler the stack bound
 * before would run unmetered (the scenario checks every function it expects was seen).
 */
export async function installInvocationMeter(): Promise<InvocationMeter> {
  meter ??= new InvocationMeter();
  await meter.install();
  return meter;
}

/** The meter, if `installInvocationMeter` ran. */
export function invocationMeter(): InvocationMeter | undefined {
  return meter;
}

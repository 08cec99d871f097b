/**
 * `npm run bench`: every figure of issue 7 measured on the local stack, side by side in one run, each judged
 * against its goal. `runBench` is shared by `bench/run.ts` (full scale, writes `bench/results.json`) and the smoke
 * test in `npm test` (a few payments and events), so the benchmark code cannot rot.
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { ASSUMPTIONS, COMPONENTS, type CostBreakdown, cpuScale, formatUsd, logBytes, PRICES } from './cost.ts';
import { apiCallDiagnosis, costDiagnosis, packageFix } from './diagnoses.ts';
import { formatBreakdown, formatCount, formatKb, formatMs, type Row, renderTable } from './report.ts';
import {
  type ApiDynamoResult,
  dynamoBudget,
  MAX_DYNAMO_REQUESTS_PER_CALL,
  measureApiDynamo,
} from './scenarios/api-dynamo.ts';
import {
  type ColdStartResult,
  type FunctionColdStart,
  MAX_COLD_START_RATIO,
  MAX_RECEIVER_COLD_START_RATIO,
  measureColdStart,
  RECEIVER_FUNCTION,
} from './scenarios/cold-start.ts';
import { type CostOfMethod, type CostResult, measureCost } from './scenarios/cost.ts';
import { type EndToEndResult, measureEndToEnd } from './scenarios/end-to-end.ts';
import { type EventDelivery, type EventDynamoResult, measureEventDynamo } from './scenarios/event-dynamo.ts';
import { type LiveUpdatesResult, measureFanOut, measurePushVsPoll } from './scenarios/live-updates.ts';
import {
  type FleetRun,
  type FleetSize,
  measureReaderFleet,
  READER_LIST_PAGE,
  type ReaderFleetResult,
} from './scenarios/reader-fleet.ts';
import {
  MAX_RECONCILER_READ_RATIO,
  measureReconcilerAt,
  type ReconcilerReadsResult,
  type ReconcilerSize,
  readRatio,
  reconcilerMissing,
} from './scenarios/reconciler-reads.ts';
import {
  EXPECTED_REFUND_REQUEST_OPERATION,
  measureRefunds,
  type ProcessedEvent,
  REFUND_CALL,
  type RefundCost,
  type RefundMethod,
  type RefundsResult,
} from './scenarios/refunds.ts';
import {
  EXPECTED_STRIPE_REQUESTS,
  measureStripeRequests,
  type StripeRequestsResult,
} from './scenarios/stripe-requests.ts';
import { measureWebhookThroughput, type WebhookThroughputResult } from './scenarios/webhook-throughput.ts';
import { BenchStack } from './stack.ts';

/** How much of each figure to measure. */
export interface BenchScale {
  name: string;
  stripe: { paymentsPerCase: number };
  refunds: { perMethod: number };
  fleet: { sizes: readonly number[]; quietRuns: number };
  endToEnd: { payments: number; pollIntervalMs: number; authorizationDelayMs: number };
  reconciler: { small: number; large: number; runs: number };
  throughput: { events: number; concurrency: number; duplicateEvery: number; drainTimeoutMs: number };
  coldStart: { runs: number; functions?: readonly string[] };
  live: {
    payments: number;
    lanes: number;
    pollIntervalMs: number;
    fanOut: { clients: number; payments: number; lanes: number };
  };
  cost: { paymentsPerMethod: number };
}

/** What issue 7 asks for, within about ten minutes on two cores. */
export const FULL_SCALE: BenchScale = {
  name: 'full',
  stripe: { paymentsPerCase: 3 },
  refunds: { perMethod: 2 },
  fleet: { sizes: [10, 500], quietRuns: 2 },
  endToEnd: { payments: 200, pollIntervalMs: 10, authorizationDelayMs: 0 },
  reconciler: { small: 1_000, large: 50_000, runs: 3 },
  throughput: { events: 10_000, concurrency: 50, duplicateEvery: 20, drainTimeoutMs: 8 * 60_000 },
  coldStart: { runs: 7 },
  live: { payments: 200, lanes: 4, pollIntervalMs: 2_000, fanOut: { clients: 500, payments: 100, lanes: 1 } },
  cost: { paymentsPerMethod: 25 },
};

/** A few of everything: the smoke test's scale. */
export const SMOKE_SCALE: BenchScale = {
  name: 'smoke',
  stripe: { paymentsPerCase: 1 },
  refunds: { perMethod: 1 },
  fleet: { sizes: [10, 120], quietRuns: 1 },
  endToEnd: { payments: 4, pollIntervalMs: 10, authorizationDelayMs: 0 },
  reconciler: { small: 20, large: 120, runs: 1 },
  throughput: { events: 30, concurrency: 5, duplicateEvery: 5, drainTimeoutMs: 60_000 },
  coldStart: { runs: 1, functions: [RECEIVER_FUNCTION, 'Health'] },
  live: { payments: 4, lanes: 2, pollIntervalMs: 2_000, fanOut: { clients: 20, payments: 3, lanes: 1 } },
  cost: { paymentsPerMethod: 2 },
};

/** Everything measured, as `bench/results.json` holds it. */
export interface BenchResults {
  scale: BenchScale;
  /** The scenarios run, when not all of them (`--only`). */
  only?: ScenarioName[];
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; node: string; platform: string };
  stripeRequests?: StripeRequestsResult;
  apiDynamo?: ApiDynamoResult;
  eventDynamo?: EventDynamoResult;
  refunds?: RefundsResult;
  fleet?: ReaderFleetResult;
  endToEnd?: EndToEndResult;
  reconciler?: ReconcilerReadsResult;
  throughput?: WebhookThroughputResult;
  coldStart?: ColdStartResult;
  live?: LiveUpdatesResult;
  cost?: CostResult;
  /** Scenarios that failed to run, with their error. */
  errors: Record<string, string>;
  rows: Row[];
}

export interface BenchReport {
  rows: Row[];
  table: string;
  results: BenchResults;
}

export interface RunOptions {
  /** Where to write the results as JSON; `false` writes nothing. */
  resultsFile?: string | false;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
  /** Run only these scenarios (all by default); the table then shows only their sections. */
  only?: readonly ScenarioName[];
}

const SECTIONS = {
  stripe: '1. Stripe API requests per payment (happy path)',
  api: '2. DynamoDB requests per POS API call',
  events: '3. DynamoDB requests per webhook event',
  reconciler: '4. Reconciler DynamoDB reads per run',
  throughput: '5. Webhook receiver throughput',
  endToEnd: '6. End to end: tap -> GET /payments/{id}',
  coldStart: '7. Cold start proxy (import time vs bare SDK handler)',
  size: '8. Bundle size (minified ESM)',
  live: '9. Live updates: WebSocket push vs polling GET every 2 s',
  refunds: '10. Refunds: Stripe and DynamoDB requests per refund',
  fleet: '11. Reader fleet: the reconciler’s requests per run, small and large fleet',
  cost: '12. Cost per 1,000 payments on AWS (us-east-1, on-demand prices)',
} as const;

/** The scenarios `--only` can pick, by name, and the sections of the table each fills. */
export const SCENARIOS = {
  'cold-start': [SECTIONS.coldStart, SECTIONS.size],
  stripe: [SECTIONS.stripe],
  api: [SECTIONS.api],
  events: [SECTIONS.events],
  refunds: [SECTIONS.refunds],
  fleet: [SECTIONS.fleet],
  'end-to-end': [SECTIONS.endToEnd],
  live: [SECTIONS.live],
  reconciler: [SECTIONS.reconciler],
  throughput: [SECTIONS.throughput],
  cost: [SECTIONS.cost],
} as const satisfies Record<string, readonly string[]>;

export type ScenarioName = keyof typeof SCENARIOS;

/** Whether `name` is a scenario `--only` can pick. */
export function isScenarioName(name: string): name is ScenarioName {
  return Object.hasOwn(SCENARIOS, name);
}

/** Run every scenario at `scale`, then judge and tabulate. A scenario that throws is reported, not fatal. */
export async function runBench(scale: BenchScale, options: RunOptions = {}): Promise<BenchReport> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress = (line: string) => log(`[bench ${Math.round((Date.now() - started) / 1000)}s] ${line}`);
  const results: BenchResults = {
    scale,
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    machine: { cpus: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    ...(options.only === undefined ? {} : { only: [...options.only] }),
    errors: {},
    rows: [],
  };
  const runs = (name: ScenarioName) => options.only === undefined || options.only.includes(name);
  const attempt = async <T>(name: string, scenario: () => Promise<T>): Promise<T | undefined> => {
    progress(`${name}…`);
    try {
      return await scenario();
    } catch (error) {
      results.errors[name] = (error as Error).stack ?? String(error);
      progress(`${name} failed: ${(error as Error).message}`);
      return undefined;
    }
  };

  // First, while nothing else runs: import times are the noisiest figure.
  if (runs('cold-start')) {
    results.coldStart = await attempt('cold start and bundle size', () =>
      measureColdStart({ ...scale.coldStart, log: (line) => progress(line) }),
    );
  }
  const onStack = (Object.keys(SCENARIOS) as ScenarioName[]).filter((name) => name !== 'cold-start' && runs(name));
  if (onStack.length > 0) await runOnStack(scale, results, { runs, attempt, progress });

  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  const rows = judge(results);
  const shown: readonly string[] | undefined = options.only?.flatMap((name) => SCENARIOS[name]);
  results.rows = shown === undefined ? rows : rows.filter((row) => shown.includes(row.section));
  const table = renderTable(results.rows);
  if (options.resultsFile) {
    await writeFile(options.resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${options.resultsFile}`);
  }
  return { rows: results.rows, table, results };
}

/** The scenarios that run on the local stack, in order, on one stack started for them. */
async function runOnStack(
  scale: BenchScale,
  results: BenchResults,
  run: {
    runs: (name: ScenarioName) => boolean;
    attempt: <T>(name: string, scenario: () => Promise<T>) => Promise<T | undefined>;
    progress: (line: string) => void;
  },
): Promise<void> {
  const { runs, attempt, progress } = run;
  progress('starting the local stack');
  const stackLog: string[] = [];
  const bench = await BenchStack.start({
    authorizationDelayMs: scale.endToEnd.authorizationDelayMs,
    meter: runs('cost'),
    log: (line) => stackLog.push(line),
  });
  try {
    // First on the stack: its reconciler run meets the seeded readers only, and nothing earlier scenarios left.
    if (runs('cost')) {
      results.cost = await attempt('cost per 1,000 payments', () => measureCost(bench, scale.cost));
    }
    if (runs('stripe')) {
      results.stripeRequests = await attempt('Stripe requests per payment', () =>
        measureStripeRequests(bench, scale.stripe),
      );
    }
    if (runs('api')) {
      results.apiDynamo = await attempt('DynamoDB requests per API call', () => measureApiDynamo(bench));
    }
    if (runs('events')) {
      results.eventDynamo = await attempt('DynamoDB requests per webhook event', () => measureEventDynamo(bench));
    }
    if (runs('refunds')) {
      results.refunds = await attempt('refunds: Stripe and DynamoDB requests', () =>
        measureRefunds(bench, scale.refunds),
      );
    }
    if (runs('fleet')) {
      results.fleet = await attempt('reader fleet: the reconciler’s requests', () =>
        measureReaderFleet(bench, scale.fleet),
      );
    }
    if (runs('end-to-end')) {
      results.endToEnd = await attempt('end to end', () => measureEndToEnd(bench, scale.endToEnd));
    }
    if (runs('live')) {
      const pushVsPoll = await attempt('live updates: push vs polling', () =>
        measurePushVsPoll(bench, {
          payments: scale.live.payments,
          lanes: scale.live.lanes,
          pollIntervalMs: scale.live.pollIntervalMs,
        }),
      );
      const fanOut = await attempt('live updates: fan-out', () => measureFanOut(bench, scale.live.fanOut));
      results.live = { ...(pushVsPoll ? { pushVsPoll } : {}), ...(fanOut ? { fanOut } : {}) };
    }
    const missing = runs('reconciler') ? reconcilerMissing() : undefined;
    const small =
      !runs('reconciler') || missing
        ? undefined
        : await attempt(`reconciler with ${formatCount(scale.reconciler.small)} payments`, () =>
            measureReconcilerAt(bench, { payments: scale.reconciler.small, runs: scale.reconciler.runs }),
          );
    if (runs('throughput')) {
      results.throughput = await attempt('webhook throughput', () => measureWebhookThroughput(bench, scale.throughput));
    }
    if (runs('reconciler')) {
      const large =
        missing || small === undefined
          ? undefined
          : await attempt(`reconciler with ${formatCount(scale.reconciler.large)} payments`, () =>
              measureReconcilerAt(bench, { payments: scale.reconciler.large, runs: scale.reconciler.runs }),
            );
      results.reconciler = reconcilerResult(missing, small, large);
    }
  } finally {
    progress('stopping the local stack');
    await bench.stop();
  }
  if (stackLog.length > 0) results.errors.stackLog = stackLog.slice(-50).join('\n');
}

function reconcilerResult(
  missing: string | undefined,
  small: ReconcilerSize | undefined,
  large: ReconcilerSize | undefined,
): ReconcilerReadsResult {
  if (missing) return { available: false, reason: missing };
  if (small === undefined || large === undefined) return { available: false, reason: 'the reconciler run failed' };
  return { available: true, small, large, ratio: readRatio(small, large) };
}

/** Every figure beside its goal. */
export function judge(results: BenchResults): Row[] {
  return [
    ...stripeRows(results),
    ...apiRows(results),
    ...eventRows(results),
    ...reconcilerRows(results),
    ...throughputRows(results),
    ...endToEndRows(results),
    ...coldStartRows(results),
    ...sizeRows(results),
    ...liveRows(results),
    ...refundRows(results),
    ...fleetRows(results),
    ...costRows(results),
  ];
}

/**
 * Section 11: the reconciler's fleet health. Its Stripe requests are the reader list's pages (one per 100 readers)
 * and nothing per reader; a quiet run writes nothing; a reader going offline is one write.
 */
function fleetRows(results: BenchResults): Row[] {
  const section = SECTIONS.fleet;
  const measured = results.fleet;
  const listGoal = (readers: number) => `<= ${Math.ceil(readers / READER_LIST_PAGE)} list page(s), 0 per reader`;
  if (measured === undefined) {
    return [
      notMeasured(section, 'reader list requests per run', 'one paginated list', errorOf(results, 'reader fleet')),
    ];
  }
  return measured.sizes.flatMap((size: FleetSize) => {
    const quiet = size.runs.filter((run) => run.kind === 'quiet');
    const offline = size.runs.filter((run) => run.kind === 'offline');
    const errors = size.runs.flatMap((run) => (run.error ? [run.error] : []));
    const pages = Math.ceil(size.readers / READER_LIST_PAGE);
    const listOk = size.runs.every((run) => run.listPages <= pages && run.fleetRetrieves === 0) && errors.length === 0;
    const describe = (run: FleetRun) => `${run.listPages} list page(s), ${run.fleetRetrieves} reader retrieves`;
    const writes = (run: FleetRun) => run.tally.writes;
    const quietWritesOk = quiet.every((run) => writes(run) <= 1);
    const offlineOk = offline.every(
      (run) => run.tally.byCommand.PutItem === 1 || run.tally.byCommand.TransactWriteItems === 1,
    );
    return [
      {
        section,
        figure: `${size.readers} readers: Stripe reader requests per run`,
        measured: distinctOf(size.runs.map(describe)),
        goal: listGoal(size.readers),
        verdict: listOk ? 'pass' : 'fail',
        why: `all Stripe requests of the run: ${distinctOf(size.runs.map((run) => formatBreakdown(run.stripe.byOperation)))}${errors.length > 0 ? `; errors: ${errors.join('; ')}` : ''}`,
      },
      {
        section,
        figure: `${size.readers} readers: DynamoDB requests per quiet run`,
        measured: distinctOf(quiet.map((run) => `${run.tally.total} (${formatBreakdown(run.tally.byCommand)})`)),
        goal: 'no reader written',
        // The run's own cursor is its one write; a reader written would be a second.
        verdict: quietWritesOk ? 'pass' : 'fail',
        why: `median run ${distinctOf(quiet.map((run) => `${run.durationMs} ms`))}`,
      },
      {
        section,
        figure: `${size.readers} readers: a reader went offline`,
        measured: distinctOf(offline.map((run) => `${run.tally.total} (${formatBreakdown(run.tally.byCommand)})`)),
        goal: 'one reader write',
        verdict: offlineOk ? 'pass' : 'fail',
      },
    ];
  });
}

/** Section 12's goal: AWS's cost of 1,000 payments, Stripe's fees aside. */
export const MAX_COST_PER_1000_PAYMENTS_USD = 0.05;

const COMPONENT_NAMES: Record<(typeof COMPONENTS)[number], string> = {
  lambdaRequests: 'Lambda requests',
  lambdaDuration: 'Lambda duration',
  dynamoWrites: 'DynamoDB writes',
  dynamoReads: 'DynamoDB reads',
  sqs: 'SQS',
  httpApi: 'HTTP API',
  websocket: 'WebSocket messages',
  logs: 'CloudWatch Logs',
};

/**
 * Section 12: what 1,000 payments cost on AWS, component by component, manual and automatic capture side by side;
 * then what does not depend on payments (a month), the storage, and the prices and allowances behind it all.
 */
function costRows(results: BenchResults): Row[] {
  const section = SECTIONS.cost;
  const goal = `< $${MAX_COST_PER_1000_PAYMENTS_USD.toFixed(2)}`;
  const measured = results.cost;
  const manual = measured?.methods.find((method) => method.captureMethod === 'manual');
  const automatic = measured?.methods.find((method) => method.captureMethod === 'automatic');
  if (measured === undefined || manual === undefined || automatic === undefined) {
    return [notMeasured(section, 'total per 1,000 payments', goal, errorOf(results, 'cost'))];
  }
  const both = (component: keyof CostBreakdown) =>
    `manual ${formatUsd(manual.per1000[component])}, auto ${formatUsd(automatic.per1000[component])}`;
  const each = (describe: (method: CostOfMethod) => string) =>
    `manual ${describe(manual)}; automatic ${describe(automatic)}`;
  const num = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
  const sumOf = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const functions = (method: CostOfMethod) => method.usage.functions;
  const invocations = (method: CostOfMethod) => sumOf(functions(method).map((fn) => fn.invocations));
  const gbs = (method: CostOfMethod) => sumOf(functions(method).map((fn) => fn.gbSeconds));
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  /** Dollars per 1,000 payments of `seconds` of a function's time a payment. */
  const durationUsd = (memoryMb: number, seconds: number) =>
    (memoryMb / 1024) * seconds * PRICES.lambdaGbSecond.usd * 1000;
  const stripeWait = (method: CostOfMethod, ms: number) =>
    sumOf(functions(method).map((fn) => durationUsd(fn.memoryMb, (fn.stripeRequests * ms) / 1000)));
  const cpuScaled = sumOf(
    functions(manual).map((fn) => durationUsd(fn.memoryMb, (fn.localMs * (cpuScale(fn.name) - 1)) / 1000)),
  );
  const { payment, order } = measured.items;
  const paymentWru = Math.ceil(payment.bytes / 1024);
  const writes = (method: CostOfMethod) => method.usage.dynamo;
  const fixed = measured.fixedMonthly;
  const worst = Math.max(manual.per1000.total, automatic.per1000.total);
  const ok = worst < MAX_COST_PER_1000_PAYMENTS_USD;
  const largest = COMPONENTS.map((component) => ({ component, usd: manual.per1000[component] }))
    .sort((a, b) => b.usd - a.usd)
    .slice(0, 3)
    .map(({ component, usd }) => `${COMPONENT_NAMES[component]} ${Math.round((usd / manual.per1000.total) * 100)} %`)
    .join(', ');
  const diagnosis = ok
    ? undefined
    : costDiagnosis({
        over: worst - MAX_COST_PER_1000_PAYMENTS_USD,
        writeUnits: writes(manual).writeUnits,
        indexWriteUnits: writes(manual).indexWriteUnits,
        indexWritesUsd: writes(manual).indexWriteUnits * PRICES.dynamoWriteUnit.usd * 1000,
        paymentBytes: payment.bytes,
        events: manual.usage.api.webhooks,
        perEventUsd:
          (manual.usage.api.webhooks * PRICES.httpApiRequest.usd + manual.usage.sqs.requests * PRICES.sqsRequest.usd) *
          1000,
        stripeWaitUsd: stripeWait(manual, ASSUMPTIONS.stripeRequestMs),
      });

  return [
    {
      section,
      figure: 'Lambda requests (invocations a payment)',
      measured: both('lambdaRequests'),
      goal: 'report',
      verdict: 'report',
      why: each(
        (method) =>
          `${num(invocations(method))}: ${functions(method)
            .map((fn) => `${fn.name} ${num(fn.invocations)}`)
            .join(', ')}`,
      ),
    },
    {
      section,
      figure: 'Lambda duration (arm64 GB-s a payment)',
      measured: both('lambdaDuration'),
      goal: 'report',
      verdict: 'report',
      why:
        `${each(
          (method) =>
            `${gbs(method).toFixed(3)} GB-s: ${functions(method)
              .map(
                (fn) =>
                  `${fn.name} ${fn.memoryMb} MB ${formatMs(fn.localMs)} -> ${formatCount(fn.billedMs)} ms` +
                  `${fn.stripeRequests > 0 ? ` (${num(fn.stripeRequests)} Stripe)` : ''}`,
              )
              .join(', ')}`,
        )}. Billed: the handlers' time here + ${ASSUMPTIONS.stripeRequestMs} ms a Stripe request (the emulator ` +
        `answers in about 1): waiting on Stripe is ${formatUsd(stripeWait(manual, ASSUMPTIONS.stripeRequestMs))} ` +
        `of the manual figure, ${formatUsd(stripeWait(manual, 100))} each 100 ms. Every handler's time scaled to its ` +
        `share of a vCPU (${formatCount(ASSUMPTIONS.fullVcpuMemoryMb)} MB / memory) would add ${formatUsd(cpuScaled)}`,
    },
    {
      section,
      figure: 'DynamoDB writes (WRU a payment)',
      measured: both('dynamoWrites'),
      goal: 'report',
      verdict: 'report',
      why:
        `${each((method) => `${num(writes(method).writeUnits)} WRU, ${num(writes(method).indexWriteUnits)} of them to indexes`)}: ` +
        "DynamoDB Local's consumed capacity of each request. The payment item is " +
        `${formatCount(payment.bytes)} B (${formatCount(payment.jsonBytes)} B as JSON): ${paymentWru} WRU a write, x2 ` +
        `in a transaction, and ${paymentWru} more for each index holding a copy of it (every index projects all ` +
        `attributes; done: ${payment.indexes.join(', ') || 'none'}; in flight also the reader-action or capture ` +
        `ones). DynamoDB Local doubles a transaction's index writes too; billed once they would be ` +
        `${num(writes(manual).writeUnits - writes(manual).transactionIndexWriteUnits / 2)} WRU (manual). ` +
        `${num(writes(manual).refused)} refused conditional write(s) a payment (manual). By function, manual: ${functions(
          manual,
        )
          .filter((fn) => fn.writeUnits > 0)
          .map((fn) => `${fn.name} ${num(fn.writeUnits)}`)
          .join(', ')}`,
    },
    {
      section,
      figure: 'DynamoDB reads (RRU a payment)',
      measured: both('dynamoReads'),
      goal: 'report',
      verdict: 'report',
      why:
        `${each(
          (method) =>
            `${num(method.usage.dynamo.readUnits)} RRU: ${functions(method)
              .filter((fn) => fn.readUnits > 0)
              .map((fn) => `${fn.name} ${num(fn.readUnits)}`)
              .join(', ')}`,
        )}. ` +
        'An item up to 4 KB is 1 RRU read strongly consistent, 0.5 eventually; a key read and not found, or a query ' +
        'finding nothing, still costs that',
    },
    {
      section,
      figure: 'SQS requests (64 KB each)',
      measured: both('sqs'),
      goal: 'report',
      verdict: 'report',
      why:
        `${each((method) => `${num(method.usage.sqs.requests)} (${formatBreakdown(roundAll(method.usage.sqs.byAction))})`)}: ` +
        "the receiver's sends, the event source mapping's receives and deletes; one payment at a time, each " +
        'event is a batch of its own (under load up to 10 share a receive and a delete)',
    },
    {
      section,
      figure: 'API Gateway HTTP API requests',
      measured: both('httpApi'),
      goal: 'report',
      verdict: 'report',
      why:
        `${each((method) => `${num(method.usage.api.pos)} POS calls + ${num(method.usage.api.webhooks)} webhook deliveries`)}; ` +
        `POS calls: ${manual.posCalls.join(', ')}. Left out: ${num(manual.ignoredDeliveries)} / ` +
        `${num(automatic.ignoredDeliveries)} deliveries a payment of event types the deployed endpoint does not ` +
        "subscribe to (the emulator's endpoint takes every type)",
    },
    {
      section,
      figure: 'WebSocket messages (one subscribed POS)',
      measured: both('websocket'),
      goal: 'report',
      verdict: 'report',
      why:
        `${each((method) => `${num(method.usage.websocketMessages)} payment.updated`)} a payment (32 KB each at ` +
        'most); the POS polls nothing. Its connection minutes, pings and reconnections are a monthly cost (below)',
    },
    {
      section,
      figure: 'CloudWatch Logs ingestion',
      measured: both('logs'),
      goal: 'report',
      verdict: 'report',
      why: `at INFO, the deployed level: ${each(
        (method) =>
          `${kb(logBytes(method.usage))} (handlers ${kb(method.usage.logs.application)}, EMF metrics ` +
          `${kb(method.usage.logs.metrics)}, Lambda platform.start/report ${kb(method.usage.logs.platform)}, ` +
          `HTTP API access log ${kb(method.usage.logs.accessLog)})`,
      )}`,
    },
    {
      section,
      figure: 'total per 1,000 payments (Stripe fees aside)',
      measured: both('total'),
      goal,
      verdict: ok ? 'pass' : 'fail',
      why: `${manual.payments} + ${automatic.payments} payments measured; manual: ${largest}${diagnosis ? `. ${diagnosis}` : ''}`,
    },
    {
      section,
      figure: 'fixed a month, whatever the payments',
      measured: `${formatUsd(fixed.total)} + ${formatUsd(fixed.perConnectedPos.usd)} a POS`,
      goal: 'report',
      verdict: 'report',
      why:
        `reconciler every minute ${formatUsd(fixed.reconciler.usd)} (a run ${formatUsd(fixed.reconciler.perRunUsd)}: ` +
        `${formatMs(sumOf(measured.reconcilerRun.functions.map((fn) => fn.localMs)))} here, ` +
        `${measured.reconcilerRun.stripeRequests} Stripe request(s) for ${measured.reconcilerRun.readers} readers, ` +
        `${num(measured.reconcilerRun.dynamo.readUnits)} RRU, ${num(measured.reconcilerRun.dynamo.writeUnits)} WRU; ` +
        `Scheduler ${formatUsd(fixed.reconciler.schedulerUsd)}); SQS idle long polls ` +
        `${formatUsd(fixed.sqsIdlePolling.usd)} (${formatCount(fixed.sqsIdlePolling.receives)}); ` +
        `${ASSUMPTIONS.secrets} secrets ${formatUsd(fixed.secrets.usd)} (+${formatUsd(fixed.secrets.perWarmEnvironmentUsd)} ` +
        'per warm environment re-reading one). A POS connected all month: connection minutes ' +
        `${formatUsd(fixed.perConnectedPos.connectionMinutesUsd)}, a ping every ${ASSUMPTIONS.posPingEveryMinutes} min ` +
        `${formatUsd(fixed.perConnectedPos.pingsUsd)}, reconnecting every ${ASSUMPTIONS.posReconnectEveryMinutes / 60} h ` +
        `${formatUsd(fixed.perConnectedPos.reconnectsUsd)}`,
    },
    {
      section,
      figure: 'DynamoDB storage of 1,000 payments',
      measured: `${formatUsd(measured.items.storagePer1000PerMonthUsd)} a month`,
      goal: 'report',
      verdict: 'report',
      why:
        `kept, not spent once: payment ${formatCount(payment.bytes)} B in ${payment.indexes.length} indexes, order ` +
        `claim ${formatCount(order.bytes)} B in ${order.indexes.length}, 100 B overhead each copy; ` +
        `$${PRICES.dynamoStorageGbMonth.usd.toFixed(2)}/GB-month every copy, point-in-time recovery ` +
        `$${PRICES.dynamoPitrGbMonth.usd.toFixed(2)}/GB-month the items`,
    },
    {
      section,
      figure: 'prices and allowances',
      measured: 'us-east-1 on-demand, 2025',
      goal: '-',
      verdict: 'report',
      why:
        `Lambda arm64 $0.20/M requests, $${PRICES.lambdaGbSecond.usd}/GB-s; DynamoDB on-demand $0.625/M WRU, ` +
        '$0.125/M RRU (from 1 Nov 2024); SQS $0.40/M; HTTP API $1.00/M; WebSocket $1.00/M messages, $0.25/M ' +
        'connection minutes; Logs $0.50/GB; Scheduler $1.00/M (bench/cost.ts names each page). Free tiers, data ' +
        `transfer and cold starts left out; Stripe answers in ${ASSUMPTIONS.stripeRequestMs} ms`,
    },
  ];
}

/** Counts rounded to a tenth, for a breakdown of means. */
function roundAll(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [key, Math.round(value * 10) / 10]));
}

function distinctOf(values: readonly string[]): string {
  return [...new Set(values)].join(' / ') || '-';
}

/** How often an idle stream is read: by Lambda's event source mapping, and by the local stack's reader. */
const AWS_STREAM_POLL_MS = 250;
const LOCAL_STREAM_POLL_MS = 50;

/** Push p99 at most this fraction of polling's p50. */
export const MAX_PUSH_P99_TO_POLL_P50 = 0.1;

function liveRows(results: BenchResults): Row[] {
  const section = SECTIONS.live;
  const rows: Row[] = [];
  const measured = results.live?.pushVsPoll;
  if (measured === undefined) {
    rows.push(
      notMeasured(
        section,
        'tap -> payment.updated, push vs polling',
        'push p99 <= polling p50 / 10',
        errorOf(results, 'live updates: push'),
      ),
    );
  } else {
    const ms = (value: number) => formatMs(value);
    const goal = measured.pollMs.p50 * MAX_PUSH_P99_TO_POLL_P50;
    rows.push(
      {
        section,
        figure: `push: tap -> payment.updated succeeded (${measured.payments} payments, ${measured.lanes} readers)`,
        measured: `p50 ${ms(measured.pushMs.p50)}, p99 ${ms(measured.pushMs.p99)}`,
        goal: 'report',
        verdict: 'report',
        why: `max ${ms(measured.pushMs.max)}; the table's stream read every 50 ms when idle (Lambda: 4 times a second)`,
      },
      {
        section,
        figure: `polling GET every ${measured.pollIntervalMs / 1000} s: tap -> status seen`,
        measured: `p50 ${ms(measured.pollMs.p50)}, p99 ${ms(measured.pollMs.p99)}`,
        goal: 'report',
        verdict: 'report',
        why: 'the same payments, followed at the same time',
      },
      {
        section,
        figure: 'push p99 against polling p50',
        measured: `${ms(measured.pushMs.p99)} vs ${ms(measured.pollMs.p50)} (${(measured.pushMs.p99 / measured.pollMs.p50).toFixed(3)}x)`,
        goal: `<= ${ms(goal)} (a tenth)`,
        verdict: measured.pushMs.p99 <= goal ? 'pass' : 'fail',
        why: `on AWS the stream's event source mapping polls 4 times a second, up to ${ms(AWS_STREAM_POLL_MS - LOCAL_STREAM_POLL_MS)} more than here: push p99 about ${ms(measured.pushMs.p99 + AWS_STREAM_POLL_MS - LOCAL_STREAM_POLL_MS)}, ${((measured.pushMs.p99 + AWS_STREAM_POLL_MS - LOCAL_STREAM_POLL_MS) / measured.pollMs.p50).toFixed(2)}x polling's p50`,
      },
      {
        section,
        figure: 'HTTP requests per payment, polling POS vs subscribed POS',
        measured: `${measured.httpRequestsPerPayment.polling.toFixed(2)} vs ${measured.httpRequestsPerPayment.subscribed.toFixed(2)}`,
        goal: 'report',
        verdict: 'report',
        why: `the create, plus for the polling POS every GET from the tap to the outcome (each second the customer takes to tap costs it ${(1000 / measured.pollIntervalMs).toFixed(1)} GET more); the subscribed POS sends none and got ${measured.messagesPerPayment.toFixed(2)} WebSocket messages per payment`,
      },
    );
  }
  const fanOut = results.live?.fanOut;
  if (fanOut === undefined) {
    rows.push(
      notMeasured(
        section,
        'fan-out: every client gets every final state',
        'none lost',
        errorOf(results, 'live updates: fan'),
      ),
    );
  } else {
    const complete = fanOut.received === fanOut.expected && fanOut.clientsMissing === 0;
    rows.push(
      {
        section,
        figure: `fan-out: ${fanOut.clients} clients on one location, ${fanOut.payments} payments`,
        measured: `${formatCount(fanOut.received)} of ${formatCount(fanOut.expected)} final states`,
        goal: 'every one, none lost',
        verdict: complete ? 'pass' : 'fail',
        ...(complete ? {} : { why: `${fanOut.clientsMissing} client(s) missed a final state` }),
      },
      {
        section,
        figure: 'fan-out: tap -> final state at each client',
        measured: `p50 ${formatMs(fanOut.deliveryMs.p50)}, p99 ${formatMs(fanOut.deliveryMs.p99)}`,
        goal: 'report',
        verdict: 'report',
        why: `${formatCount(fanOut.messages)} messages in ${formatMs(fanOut.durationMs)}, everything on this machine's 2 cores (the clients too)`,
      },
    );
  }
  return rows;
}

function notMeasured(section: string, figure: string, goal: string, why: string): Row {
  return { section, figure, measured: '-', goal, verdict: 'not measured', why };
}

function errorOf(results: BenchResults, prefix: string): string {
  const key = Object.keys(results.errors).find((name) => name.startsWith(prefix));
  return key ? `failed: ${(results.errors[key] ?? '').split('\n')[0]}` : 'not run';
}

function stripeRows(results: BenchResults): Row[] {
  const section = SECTIONS.stripe;
  const measured = results.stripeRequests;
  if (measured === undefined) {
    return [notMeasured(section, 'Stripe requests per payment', 'manual 3, automatic 2', errorOf(results, 'Stripe'))];
  }
  const rows: Row[] = [];
  for (const captureMethod of ['manual', 'automatic'] as const) {
    for (const flow of ['create_then_process', 'create_with_reader'] as const) {
      const payments = measured.payments.filter((p) => p.captureMethod === captureMethod && p.flow === flow);
      if (payments.length === 0) continue;
      const expected = EXPECTED_STRIPE_REQUESTS[captureMethod];
      const totals = payments.map((p) => p.total);
      const worst = payments.reduce((a, b) => (b.total > a.total ? b : a));
      const ok = totals.every((total) => total === expected);
      rows.push({
        section,
        figure: `${captureMethod} capture, ${flow === 'create_then_process' ? 'POST /payments + /process' : 'POST /payments with readerId'} (${payments.length} payments)`,
        measured: `${[...new Set(totals)].join(' / ')} (${formatBreakdown(worst.byOperation)})`,
        goal: `${expected}`,
        verdict: ok ? 'pass' : 'fail',
        ...(ok ? {} : { why: `requests beyond create/process/capture: ${formatBreakdown(worst.byOperation)}` }),
      });
    }
  }
  const polling = measured.payments.reduce((sum, p) => sum + p.whileWaiting, 0);
  const pollingOps = measured.payments.flatMap((p) => p.whileWaitingOperations);
  rows.push({
    section,
    figure: `polling while webhooks flow (tap -> final state via GET without refresh, ${measured.payments.length} payments)`,
    measured: `${polling} requests`,
    goal: '0',
    verdict: polling === 0 ? 'pass' : 'fail',
    ...(polling === 0 ? {} : { why: `sent while waiting: ${pollingOps.join(', ')}` }),
  });
  const e2e = results.endToEnd;
  if (e2e !== undefined) {
    const ok = e2e.stripeRequestsPerPayment === EXPECTED_STRIPE_REQUESTS.automatic;
    rows.push({
      section,
      figure: `automatic capture over the ${e2e.payments} end-to-end payments`,
      measured: `${e2e.stripeRequestsPerPayment.toFixed(2)} per payment`,
      goal: `${EXPECTED_STRIPE_REQUESTS.automatic}`,
      verdict: ok ? 'pass' : 'fail',
      why: formatBreakdown(e2e.stripeRequestsByOperation),
    });
  }
  return rows;
}

function apiRows(results: BenchResults): Row[] {
  const section = SECTIONS.api;
  const measured = results.apiDynamo;
  if (measured === undefined) {
    return [
      notMeasured(
        section,
        'DynamoDB requests per POS API call',
        `<= ${MAX_DYNAMO_REQUESTS_PER_CALL}`,
        errorOf(results, 'DynamoDB requests per API'),
      ),
    ];
  }
  return measured.calls.map((call): Row => {
    const name = call.variant ? `${call.route} (${call.variant})` : call.route;
    const { budget, why: budgetWhy } = dynamoBudget(name);
    const ok = call.tally.total <= budget;
    const diagnosis = ok ? budgetWhy : apiCallDiagnosis(name, call.tally.byCommand);
    return {
      section,
      figure: name,
      measured: `${call.tally.total} (${formatBreakdown(call.tally.byCommand)})`,
      goal: `<= ${budget}`,
      verdict: ok ? 'pass' : 'fail',
      ...(diagnosis === undefined && ok
        ? {}
        : { why: diagnosis ?? `requests: ${formatBreakdown(call.tally.byCommand)} (not traced yet)` }),
    };
  });
}

/** What one delivery of an event to the processor may cost, by what it did. */
const EVENT_GOALS: Record<
  'applied' | 'unchanged' | 'duplicate',
  { goal: string; ok: (delivery: Pick<EventDelivery, 'tally' | 'versionDelta'>) => boolean }
> = {
  applied: {
    goal: '1 write + <= 1 read',
    ok: (d) =>
      d.tally.writes === 1 && d.tally.byCommand.TransactWriteItems === 1 && d.tally.reads <= 1 && d.versionDelta === 1,
  },
  unchanged: { goal: '0 writes + <= 1 read', ok: (d) => d.tally.writes === 0 && d.tally.reads <= 1 },
  duplicate: {
    goal: '1 request, no write',
    ok: (d) => d.tally.total === 1 && d.tally.writes === 0 && d.versionDelta === 0,
  },
};

/** Whether a delivery stayed within the goal of its outcome (a failed delivery never does). */
function withinEventGoal(delivery: Pick<EventDelivery, 'outcome' | 'tally' | 'versionDelta'>): boolean {
  return delivery.outcome !== 'failed' && EVENT_GOALS[delivery.outcome].ok(delivery);
}

function eventRows(results: BenchResults): Row[] {
  const section = SECTIONS.events;
  const measured = results.eventDynamo;
  if (measured === undefined) {
    return [
      notMeasured(
        section,
        'DynamoDB requests per webhook event',
        '1 write + <= 1 read',
        errorOf(results, 'DynamoDB requests per webhook'),
      ),
    ];
  }
  const rows: Row[] = [];
  const groups = (['applied', 'unchanged', 'duplicate'] as const).map((outcome) => ({
    outcome,
    ...EVENT_GOALS[outcome],
  }));
  for (const group of groups) {
    const deliveries = measured.deliveries.filter((d) => d.outcome === group.outcome);
    if (deliveries.length === 0) continue;
    const bad = deliveries.filter((d) => !group.ok(d));
    const shapes = [...new Set(deliveries.map((d) => formatBreakdown(d.tally.byCommand)))];
    const types = [...new Set(deliveries.map((d) => d.type))].join(', ');
    rows.push({
      section,
      figure: `event ${group.outcome === 'applied' ? 'applied' : group.outcome === 'duplicate' ? 'delivered again (duplicate)' : 'that changes nothing'} (${deliveries.length}: ${types})`,
      measured: shapes.join(' | '),
      goal: group.goal,
      verdict: bad.length === 0 ? 'pass' : 'fail',
      ...(bad.length === 0
        ? group.outcome === 'unchanged'
          ? { why: 'already shown by an earlier event of the payment: read, nothing to write, no dedupe item needed' }
          : {}
        : {
            why: bad
              .map((d) => `${d.type}: ${formatBreakdown(d.tally.byCommand)}, version +${d.versionDelta}`)
              .join('; '),
          }),
    });
  }
  rows.push(...failedDeliveryRows(section, measured.deliveries));
  return rows;
}

/** A failing row when the processor failed any of `deliveries`; none otherwise. */
function failedDeliveryRows(section: string, deliveries: readonly { outcome: string; type: string }[]): Row[] {
  const failed = deliveries.filter((delivery) => delivery.outcome === 'failed');
  if (failed.length === 0) return [];
  return [
    {
      section,
      figure: 'event deliveries the processor failed',
      measured: `${failed.length}`,
      goal: '0',
      verdict: 'fail',
      why: failed.map((delivery) => delivery.type).join(', '),
    },
  ];
}

function refundRows(results: BenchResults): Row[] {
  const section = SECTIONS.refunds;
  const measured = results.refunds;
  if (measured === undefined) {
    return [
      notMeasured(
        section,
        'Stripe and DynamoDB requests per refund',
        'Stripe 1, DynamoDB <= 3; events as payment events',
        errorOf(results, 'refunds'),
      ),
    ];
  }
  const rows: Row[] = [];
  for (const method of ['online', 'reader'] as const) {
    const refunds = measured.refunds.filter((refund) => refund.method === method);
    if (refunds.length > 0) rows.push(...refundMethodRows(section, method, refunds));
  }

  const firstDeliveries = (events: readonly ProcessedEvent[]) => events.filter((e) => e.delivery === 'first');
  const refundEvents = firstDeliveries(measured.refunds.flatMap((refund) => refund.events));
  const paymentEvents = firstDeliveries(measured.paymentEvents);
  const appliedRefund = refundEvents.filter((e) => e.outcome === 'applied');
  const appliedPayment = paymentEvents.filter((e) => e.outcome === 'applied');
  const dynamoOf = (events: readonly ProcessedEvent[]) => events.map((e) => e.tally.total);
  const stripeOf = (events: readonly ProcessedEvent[]) => events.map((e) => e.stripe.total);
  if (appliedRefund.length === 0 || appliedPayment.length === 0) {
    rows.push(
      notMeasured(
        section,
        'DynamoDB requests per applied event, refund vs payment',
        'refund <= payment',
        `no applied ${appliedRefund.length === 0 ? 'refund' : 'payment'} event`,
      ),
    );
  } else {
    const refundMean = mean(dynamoOf(appliedRefund));
    const paymentMean = mean(dynamoOf(appliedPayment));
    const refundMax = Math.max(...dynamoOf(appliedRefund));
    const paymentMax = Math.max(...dynamoOf(appliedPayment));
    const ok = refundMean <= paymentMean && refundMax <= paymentMax;
    rows.push({
      section,
      figure: `DynamoDB requests per applied event: refund events (${appliedRefund.length}) vs payment events (${appliedPayment.length})`,
      measured: `${refundMean.toFixed(2)} vs ${paymentMean.toFixed(2)} (max ${refundMax} vs ${paymentMax})`,
      goal: 'refund <= payment',
      verdict: ok ? 'pass' : 'fail',
      why:
        `refund: ${shapesByType(appliedRefund)}; payment: ${shapesByType(appliedPayment)}. ` +
        `Stripe calls per applied event: ${mean(stripeOf(appliedRefund)).toFixed(2)} vs ${mean(stripeOf(appliedPayment)).toFixed(2)}`,
    });
  }

  const stripeCalls = stripeOf(refundEvents).reduce((sum, n) => sum + n, 0);
  const calling = refundEvents.filter((e) => e.stripe.total > 0);
  rows.push({
    section,
    figure: `Stripe calls per refund event, events in the order Stripe created them (${refundEvents.length} events)`,
    measured: `${refundEvents.length === 0 ? '-' : (stripeCalls / refundEvents.length).toFixed(2)} (${stripeCalls} in all)`,
    goal: '0',
    verdict: refundEvents.length === 0 ? 'not measured' : stripeCalls === 0 ? 'pass' : 'fail',
    why:
      calling.length === 0
        ? `every refund event handled from its own payload, no read of Stripe; payment events: ${stripeOf(paymentEvents).reduce((sum, n) => sum + n, 0)} calls in ${paymentEvents.length}`
        : `calls: ${calling.map((e) => `${e.type}: ${formatBreakdown(e.stripe.byOperation)}`).join('; ')}`,
  });

  const duplicates = measured.refunds.flatMap((refund) => refund.events).filter((e) => e.outcome === 'duplicate');
  if (duplicates.length > 0) {
    const bad = duplicates.filter((d) => !withinEventGoal(d));
    rows.push({
      section,
      figure: `refund event delivered again (duplicate) (${duplicates.length})`,
      measured: [...new Set(duplicates.map((d) => formatBreakdown(d.tally.byCommand)))].join(' | '),
      goal: EVENT_GOALS.duplicate.goal,
      verdict: bad.length === 0 ? 'pass' : 'fail',
      why:
        bad.length === 0
          ? 'the events that changed nothing stored no dedupe item: delivered again, they are read and change nothing again'
          : bad.map((d) => `${d.type}: ${formatBreakdown(d.tally.byCommand)}, version +${d.versionDelta}`).join('; '),
    });
  }
  rows.push(
    ...failedDeliveryRows(section, [...measured.refunds.flatMap((refund) => refund.events), ...measured.paymentEvents]),
  );
  return rows;
}

/** The four figures of one refund method: its POS request and its events, Stripe and DynamoDB requests each. */
function refundMethodRows(section: string, method: RefundMethod, refunds: readonly RefundCost[]): Row[] {
  const call = REFUND_CALL[method];
  const label = `${method} refund, ${call}`;
  const operation = EXPECTED_REFUND_REQUEST_OPERATION[method];
  const distinct = (values: readonly string[]) => [...new Set(values)].join(' / ');
  const sum = (values: readonly number[]) => values.reduce((total, n) => total + n, 0);
  const rows: Row[] = [];

  const stripeOk = refunds.every((r) => r.request.stripe.total === 1 && r.request.stripe.byOperation[operation] === 1);
  rows.push({
    section,
    figure: `${label}: Stripe requests (${refunds.length} refund${refunds.length === 1 ? '' : 's'})`,
    measured: distinct(
      refunds.map((r) => `${r.request.stripe.total} (${formatBreakdown(r.request.stripe.byOperation)})`),
    ),
    goal: `1 (${operation})`,
    verdict: stripeOk ? 'pass' : 'fail',
    ...(stripeOk
      ? {}
      : {
          why: `requests beyond ${operation}: ${distinct(refunds.map((r) => formatBreakdown(r.request.stripe.byOperation)))}`,
        }),
  });

  const { budget, why: budgetWhy } = dynamoBudget(call);
  const dynamoOk = refunds.every((r) => r.request.dynamo.total <= budget);
  rows.push({
    section,
    figure: `${label}: DynamoDB requests`,
    measured: distinct(
      refunds.map((r) => `${r.request.dynamo.total} (${formatBreakdown(r.request.dynamo.byCommand)})`),
    ),
    goal: `<= ${budget}`,
    verdict: dynamoOk ? 'pass' : 'fail',
    ...(dynamoOk
      ? budgetWhy === undefined
        ? {}
        : { why: budgetWhy }
      : {
          why: `requests: ${distinct(refunds.map((r) => formatBreakdown(r.request.dynamo.byCommand)))} (not traced yet)`,
        }),
  });

  const firsts = (refund: RefundCost) => refund.events.filter((e) => e.delivery === 'first');
  const types = distinct(
    refunds.map((r) =>
      firsts(r)
        .map((e) => e.type)
        .join(', '),
    ),
  );
  const events = `${method} refund, its ${distinct(refunds.map((r) => String(firsts(r).length)))} events through the processor`;
  const eventStripe = refunds.map((r) => sum(firsts(r).map((e) => e.stripe.total)));
  const calling = refunds.flatMap(firsts).filter((e) => e.stripe.total > 0);
  rows.push({
    section,
    figure: `${events}: Stripe requests`,
    measured: `${distinct(eventStripe.map(String))} per refund`,
    goal: '0',
    verdict: eventStripe.every((n) => n === 0) ? 'pass' : 'fail',
    why:
      calling.length === 0
        ? `${types}, one at a time in the order Stripe created them`
        : calling.map((e) => `${e.type}: ${formatBreakdown(e.stripe.byOperation)}`).join('; '),
  });

  const eventDynamo = refunds.map((r) => sum(firsts(r).map((e) => e.tally.total)));
  const bad = refunds.flatMap(firsts).filter((e) => !withinEventGoal(e));
  const perEvent = distinct(
    refunds.map((r) =>
      firsts(r)
        .map((e) => `${e.type} ${e.outcome} ${e.tally.total}`)
        .join(', '),
    ),
  );
  const whole = distinct(
    refunds.map(
      (r, n) =>
        `Stripe ${r.request.stripe.total + (eventStripe[n] ?? 0)}, DynamoDB ${r.request.dynamo.total + (eventDynamo[n] ?? 0)}`,
    ),
  );
  rows.push({
    section,
    figure: `${events}: DynamoDB requests`,
    measured: `${distinct(eventDynamo.map(String))} per refund (${distinct(refunds.map((r) => formatBreakdown(sumTallies(firsts(r)))))})`,
    goal: `each event: applied ${EVENT_GOALS.applied.goal}, unchanged ${EVENT_GOALS.unchanged.goal}`,
    verdict: bad.length === 0 ? 'pass' : 'fail',
    why:
      bad.length === 0
        ? `${perEvent}. Whole refund, request + events: ${whole}`
        : `beyond the goal: ${bad.map((e) => `${e.type} (${e.outcome}): ${formatBreakdown(e.tally.byCommand)}, version +${e.versionDelta}`).join('; ')}`,
  });
  return rows;
}

/** The DynamoDB requests of `events` added up, by command. */
function sumTallies(events: readonly ProcessedEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) {
    for (const [command, n] of Object.entries(event.tally.byCommand)) counts[command] = (counts[command] ?? 0) + n;
  }
  return counts;
}

/** `refund.created 2 (BatchGetItem 1, TransactWriteItems 1), ...`: each event type with its DynamoDB requests. */
function shapesByType(events: readonly ProcessedEvent[]): string {
  const byType = new Map<string, Set<string>>();
  for (const event of events) {
    const shapes = byType.get(event.type) ?? new Set<string>();
    shapes.add(`${event.tally.total} (${formatBreakdown(event.tally.byCommand)})`);
    byType.set(event.type, shapes);
  }
  return [...byType].map(([type, shapes]) => `${type} ${[...shapes].join(' / ')}`).join(', ');
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, n) => sum + n, 0) / values.length;
}

function reconcilerRows(results: BenchResults): Row[] {
  const section = SECTIONS.reconciler;
  const measured = results.reconciler;
  const goal = `ratio <= ${MAX_RECONCILER_READ_RATIO}`;
  if (measured === undefined || !measured.available) {
    return [
      notMeasured(
        section,
        'reads per run, 1,000 vs 50,000 healthy payments',
        goal,
        measured?.reason ?? errorOf(results, 'reconciler'),
      ),
    ];
  }
  const describe = (size: ReconcilerSize) =>
    `${size.medianReads} reads (all: ${formatBreakdown(size.runs.at(-1)?.tally.byCommand ?? {})})`;
  const errors = [...measured.small.runs, ...measured.large.runs].flatMap((run) => (run.error ? [run.error] : []));
  const ok = measured.ratio <= MAX_RECONCILER_READ_RATIO && errors.length === 0;
  return [
    {
      section,
      figure: `reads per run with ${formatCount(measured.small.payments)} payments`,
      measured: describe(measured.small),
      goal: 'report',
      verdict: 'report',
      why: `median of ${measured.small.runs.length} run(s); ${formatCount(measured.small.seeded)} finished payments seeded`,
    },
    {
      section,
      figure: `reads per run with ${formatCount(measured.large.payments)} payments`,
      measured: describe(measured.large),
      goal: 'report',
      verdict: 'report',
      why: `median of ${measured.large.runs.length} run(s); ${formatCount(measured.large.seeded)} more seeded (the throughput run's payments count too)`,
    },
    {
      section,
      figure: 'read ratio, large table / small table',
      measured: measured.ratio.toFixed(2),
      goal,
      verdict: ok ? 'pass' : 'fail',
      ...(errors.length > 0 ? { why: `reconciler errors: ${errors.join('; ')}` } : {}),
    },
  ];
}

function throughputRows(results: BenchResults): Row[] {
  const section = SECTIONS.throughput;
  const measured = results.throughput;
  if (measured === undefined) {
    return [notMeasured(section, 'deliveries/s into SQS', 'report', errorOf(results, 'webhook throughput'))];
  }
  const clean = measured.lost === 0 && measured.duplicated === 0 && measured.rejected === 0;
  return [
    {
      section,
      figure: `deliveries/s through the gateway into SQS (${formatCount(measured.deliveries)} deliveries, ${measured.concurrency} senders)`,
      measured: `${measured.deliveriesPerSecond.toFixed(0)}/s`,
      goal: 'report',
      verdict: 'report',
      why:
        `${formatCount(measured.events)} events + ${formatCount(measured.duplicateDeliveries)} duplicate deliveries in ` +
        `${measured.sendSeconds.toFixed(1)} s; gateway, receiver, SQS server and processor share this one Node process. ` +
        `Processor drained ${measured.appliedPerSecond.toFixed(0)} events/s (the event source mapping's 5 pollers, DynamoDB Local; the live-updates notifier reads the stream meanwhile), ` +
        `${measured.drainSeconds.toFixed(1)} s after the last delivery.`,
    },
    {
      section,
      figure: 'lost / duplicated in the final state',
      measured: `${measured.lost} lost, ${measured.duplicated} duplicated, ${measured.rejected} not 200`,
      goal: '0 lost, 0 duplicated',
      verdict: clean ? 'pass' : 'fail',
      why:
        `every distinct event: dedupe item stored, payment succeeded and written once, id once in its history; ` +
        `${measured.failedRecords} records retried, ${measured.deadLettered} in the DLQ`,
    },
  ];
}

function endToEndRows(results: BenchResults): Row[] {
  const section = SECTIONS.endToEnd;
  const measured = results.endToEnd;
  if (measured === undefined)
    return [notMeasured(section, 'tap -> state visible', 'report p50/p99', errorOf(results, 'end to end'))];
  const { statusVisibleMs: visible } = measured;
  return [
    {
      section,
      figure: `tap -> status succeeded visible (${measured.payments} payments)`,
      measured: `p50 ${formatMs(visible.p50)}, p99 ${formatMs(visible.p99)}`,
      goal: 'report p50/p99',
      verdict: 'report',
      why:
        `one payment at a time, automatic capture; emulator authorizationDelayMs ${measured.authorizationDelayMs}; ` +
        `GET every ${measured.pollIntervalMs} ms, never ` +
        `?refresh=true; p90 ${formatMs(visible.p90)}, max ${formatMs(visible.max)}; reader action also visible: p50 ` +
        `${formatMs(measured.settledMs.p50)}, p99 ${formatMs(measured.settledMs.p99)}`,
    },
  ];
}

function coldStartRows(results: BenchResults): Row[] {
  const section = SECTIONS.coldStart;
  const measured = results.coldStart;
  if (measured === undefined)
    return [notMeasured(section, 'import time ratio', `<= ${MAX_COLD_START_RATIO}`, errorOf(results, 'cold start'))];
  const rows = measured.functions.map((fn): Row => {
    const receiver = fn.name === RECEIVER_FUNCTION;
    const limit = receiver ? MAX_RECEIVER_COLD_START_RATIO : MAX_COLD_START_RATIO;
    const ok = fn.error === undefined && fn.ratio <= limit;
    const clients = fn.bare.clients.length > 0 ? fn.bare.clients.join('+') : 'no SDK client';
    return {
      section,
      figure: `${fn.name} (${fn.entry})`,
      measured:
        `${fn.ratio.toFixed(2)}x (${formatMs(fn.importMs)} vs ${formatMs(fn.bare.importMs)}); ` +
        `untraced ${fn.untracedRatio.toFixed(2)}x (${formatMs(fn.untracedImportMs)})`,
      goal: `<= ${limit}`,
      verdict: ok ? 'pass' : 'fail',
      why: ok ? `bare: ${clients}` : coldStartWhy(fn),
    };
  });
  for (const fn of measured.missing)
    rows.push(
      notMeasured(section, `${fn.name} (${fn.entry})`, `<= ${MAX_COLD_START_RATIO}`, 'handler file does not exist yet'),
    );
  rows.push({
    section,
    figure: 'method',
    measured: `median of ${measured.runs} run${measured.runs === 1 ? '' : 's'}`,
    goal: '-',
    verdict: 'report',
    why:
      `each bundle built with infra/bundling.ts (minified ESM, AWS SDK bundled), imported in a fresh Node process ` +
      `with NODE_OPTIONS=${measured.nodeOptions} and tracing on as deployed (untraced: a stage with tracing=false), ` +
      `alternating with its bare handler (same SDK clients only)`,
  });
  return rows;
}

function coldStartWhy(fn: FunctionColdStart): string {
  if (fn.error) return `import failed: ${fn.error}`;
  const extras = fn.extraPackages.filter((entry) => entry.name !== '(project)').slice(0, 3);
  const loads = extras.map(
    (entry) => `${entry.name} ${formatKb(entry.bytes)}${entry.via ? ` (${entry.via.slice(0, -1).join(' > ')})` : ''}`,
  );
  const fixes = extras.flatMap((entry) => packageFix(entry.name, entry.via) ?? []);
  const bareNote =
    fn.bare.clients.length === 0
      ? `Bare handler imports nothing (${formatMs(fn.bare.importMs)}): +${formatMs(fn.importMs - fn.bare.importMs)}. `
      : '';
  return `${bareNote}Beyond bare: ${loads.join('; ')}. ${fixes.map((fix) => `Fix ${fix}`).join(' ')}`.trim();
}

function sizeRows(results: BenchResults): Row[] {
  const section = SECTIONS.size;
  const measured = results.coldStart;
  if (measured === undefined)
    return [notMeasured(section, 'bundle sizes', 'receiver smallest', errorOf(results, 'cold start'))];
  const sorted = [...measured.functions].sort((a, b) => a.bytes - b.bytes);
  const rows: Row[] = sorted.map((fn) => ({
    section,
    figure: fn.name,
    measured: formatKb(fn.bytes),
    goal: 'report',
    verdict: 'report',
    why:
      fn.awsSdkPackages.length > 0
        ? fn.awsSdkPackages.map((pkg) => pkg.replace('@aws-sdk/', '')).join(', ')
        : 'no AWS SDK',
  }));
  const receiver = measured.functions.find((fn) => fn.name === RECEIVER_FUNCTION);
  // Health calls no AWS service: a handler that must send to SQS cannot be smaller than one that sends nothing. The
  // receiver's peers are the functions that call Stripe (they bundle its SDK); it checks signatures without the SDK.
  const bundlesStripe = (fn: FunctionColdStart) => fn.extraPackages.some((entry) => entry.name === 'stripe');
  const peers = measured.functions.filter(
    (fn) => fn.awsSdkPackages.length > 0 && bundlesStripe(fn) && fn.name !== RECEIVER_FUNCTION,
  );
  if (receiver === undefined) {
    rows.push(notMeasured(section, 'webhook receiver the smallest', 'smallest', 'receiver not bundled'));
    return rows;
  }
  const smaller = peers.filter((fn) => fn.bytes <= receiver.bytes);
  const ok = smaller.length === 0;
  const extras = receiver.extraPackages.filter((entry) => entry.name !== '(project)').slice(0, 2);
  const next = peers.length === 0 ? '' : `; next ${formatKb(Math.min(...peers.map((fn) => fn.bytes)))}`;
  rows.push({
    section,
    figure: 'webhook receiver the smallest (of the functions using AWS and Stripe)',
    measured: `${formatKb(receiver.bytes)}${next}`,
    goal: 'smallest',
    verdict: peers.length === 0 ? 'report' : ok ? 'pass' : 'fail',
    why:
      `${ok ? 'smaller than every other function with an AWS client and the Stripe SDK' : `larger than ${smaller.map((fn) => fn.name).join(', ')}`}; ` +
      `its bare SQS + Secrets Manager handler is ${formatKb(receiver.bare.bytes)}, the rest is mostly ` +
      `${extras.map((entry) => `${entry.name} ${formatKb(entry.bytes)}`).join(', ')}. Health (no AWS client) is listed apart.`,
  });
  return rows;
}

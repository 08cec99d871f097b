/**
 * What the system costs on AWS per 1,000 payments: the counts and durations the benchmark measures (section 12,
 * `bench/scenarios/cost.ts`) priced at AWS's public on-demand prices for us-east-1.
 *
 * Prices are AWS's list prices as their pricing pages give them in 2025, DynamoDB's after its on-demand price cut of
 * 1 November 2024. Free tiers are ignored (a real account pays less while under them), and so is data transfer
 * (Stripe's webhooks in and API answers out are a few KB a payment; transfer in is free and the first 100 GB out a
 * month are free). Stripe's own fees are not AWS's and are left aside.
 *
 * Left out, because they do not grow with payments: CloudWatch alarms, the custom metrics the functions publish
 * and the access logs' metric filters (per metric and alarm a month), Cognito's monthly active users, DynamoDB
 * storage and point-in-time recovery (per GB-month: shown apart, from the measured item sizes), KMS (every queue,
 * table and secret uses AWS-owned or AWS-managed keys), CodeDeploy (free for Lambda). Per-minute or per-connection
 * costs are a fixed monthly amount (`fixedMonthly`), not a per-payment one.
 */
import { backgroundProfiles, liveProfiles, routeProfiles } from '../infra/handler-profiles.ts';
import { backgroundFunctions, liveFunctions } from '../shared/routes.ts';

/** One price, and the page it comes from. */
export interface Price {
  usd: number;
  per: string;
  source: string;
}

/** AWS on-demand prices, us-east-1. */
export const PRICES = {
  /** Lambda: requests are the same on both architectures; every function runs on arm64 (`payments-function.ts`). */
  lambdaRequest: { usd: 0.2 / 1e6, per: 'request', source: 'https://aws.amazon.com/lambda/pricing/' },
  /** arm64, first 7.5 billion GB-seconds a month (x86 is $0.0000166667). Billed by the millisecond. */
  lambdaGbSecond: { usd: 0.0000133334, per: 'GB-second (arm64)', source: 'https://aws.amazon.com/lambda/pricing/' },
  /** On-demand, Standard table class, from 1 November 2024 (was $1.25). */
  dynamoWriteUnit: {
    usd: 0.625 / 1e6,
    per: 'write request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  /** On-demand, Standard table class, from 1 November 2024 (was $0.25). */
  dynamoReadUnit: {
    usd: 0.125 / 1e6,
    per: 'read request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  /** Standard table class storage, a GB-month (the first 25 GB are free; ignored). */
  dynamoStorageGbMonth: { usd: 0.25, per: 'GB-month', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
  /** Continuous backups (point-in-time recovery, on in `payments-table.ts`), a GB-month of table size. */
  dynamoPitrGbMonth: { usd: 0.2, per: 'GB-month', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
  /** Standard queue; each 64 KB chunk of a request's payload is one request. */
  sqsRequest: { usd: 0.4 / 1e6, per: 'request (64 KB chunk)', source: 'https://aws.amazon.com/sqs/pricing/' },
  /** HTTP API, first 300 million a month; each 512 KB of a request is one request. */
  httpApiRequest: {
    usd: 1.0 / 1e6,
    per: 'HTTP API request',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  /** WebSocket API, first billion a month; sent and received, in 32 KB chunks. */
  websocketMessage: {
    usd: 1.0 / 1e6,
    per: 'WebSocket message (32 KB chunk)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  websocketConnectionMinute: {
    usd: 0.25 / 1e6,
    per: 'connection minute',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  /** Standard log class ingestion (Lambda's logs: the first 10 TB tier of vended logs, the same price). */
  logsIngestedGb: { usd: 0.5, per: 'GB ingested', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  /** EventBridge Scheduler, after 14 million free a month (ignored). */
  schedulerInvocation: {
    usd: 1.0 / 1e6,
    per: 'scheduled invocation',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
  secretMonth: { usd: 0.4, per: 'secret a month', source: 'https://aws.amazon.com/secrets-manager/pricing/' },
  secretsApiCall: { usd: 0.05 / 10_000, per: 'API call', source: 'https://aws.amazon.com/secrets-manager/pricing/' },
} as const satisfies Record<string, Price>;

/**
 * What the local stack cannot show and the model assumes instead. Each is named in the table where it counts.
 */
export const ASSUMPTIONS = {
  /**
   * How long a Lambda waits on one Stripe API request. The emulator answers in about a millisecond; Stripe's API
   * takes a few hundred, and a reader command (`process_payment_intent`) waits on the reader. A function waiting
   * is a function billed, so each Stripe request a function sends adds this much to its billed duration.
   */
  stripeRequestMs: 500,
  /**
   * The handlers' own time is taken as measured here. Two differences pull opposite ways: a DynamoDB Local request
   * takes a few ms here, about what DynamoDB takes in-region, but a Lambda has a share of a vCPU (a full one at
   * 1,769 MB, in proportion below it) where the handlers here have a whole core of this machine, shared with the
   * rest of the stack. The table shows what scaling every handler's time by 1,769 MB / its memory would add.
   */
  fullVcpuMemoryMb: 1769,
  /**
   * Lambda's own lines for each invocation, in the JSON log format the functions use (`payments-function.ts`, system
   * level INFO): `platform.start` and `platform.report` (its durations and memory), about 130 + 230 bytes.
   */
  platformLogBytesPerInvocation: 360,
  /**
   * One access log line per HTTP API request (`infra/constructs/pos-api.ts`: request id, route, status, latencies,
   * the caller's `sub`, source IP, user agent, time), about 400 bytes with a UUID `sub` and a short user agent.
   */
  httpAccessLogBytesPerRequest: 400,
  /** A month, for the per-minute and per-connection costs. */
  minutesPerMonth: 30 * 24 * 60,
  /** The reconciler runs once a minute (`reconcile-schedule.ts`). */
  reconcilerRunsPerMonth: 30 * 24 * 60,
  /**
   * Lambda's SQS event source mapping long-polls an idle queue with 5 pollers, each `ReceiveMessage` waiting up to
   * 20 s: about 15 empty receives a minute, whatever the traffic.
   */
  sqsIdleReceivesPerMinute: 15,
  /**
   * A connected POS: API Gateway closes a WebSocket connection after 2 hours (so it reconnects and subscribes 12 times
   * a day) and after 10 minutes without a message from it (so it pings, here every 5 minutes: `asyncapi.yaml`).
   */
  posReconnectEveryMinutes: 120,
  posPingEveryMinutes: 5,
  /** Secrets in Secrets Manager: the Stripe key and the webhook signing secret (`stripe-secrets.ts`). */
  secrets: 2,
  /** A warm execution environment reads its secrets again once they are 5 minutes old. */
  secretReadEveryMinutes: 5,
} as const;

/** Memory (MB) of every function, by its name in `shared/routes.ts`, from `infra/handler-profiles.ts`. */
export function memoryMbOf(functionName: string): number {
  const route = routeProfiles[functionName];
  if (route !== undefined) return route.memoryMb;
  for (const [key, fn] of Object.entries(backgroundFunctions)) {
    if (fn.name === functionName) return backgroundProfiles[key as keyof typeof backgroundFunctions].memoryMb;
  }
  for (const [key, fn] of Object.entries(liveFunctions)) {
    if (fn.name === functionName) return liveProfiles[key as keyof typeof liveFunctions].memoryMb;
  }
  throw new Error(`No profile for function ${functionName} in infra/handler-profiles.ts`);
}

/**
 * The duration AWS would bill for one invocation measured here: its time, plus the Stripe allowance for each Stripe
 * request it sent, rounded up to the millisecond.
 */
export function billedMs(localMs: number, stripeRequests: number): number {
  return Math.max(1, Math.ceil(localMs + stripeRequests * ASSUMPTIONS.stripeRequestMs));
}

/** How much slower a function's CPU work would be with its share of a vCPU than with a whole core. */
export function cpuScale(functionName: string): number {
  return Math.max(1, ASSUMPTIONS.fullVcpuMemoryMb / memoryMbOf(functionName));
}

/** GB-seconds of `ms` billed at the function's memory. */
export function gbSeconds(functionName: string, ms: number): number {
  return (memoryMbOf(functionName) / 1024) * (ms / 1000);
}

/** One function's share of a payment (means per payment over the payments measured). */
export interface FunctionUsage {
  name: string;
  memoryMb: number;
  invocations: number;
  /** Handler time measured here, all its invocations together. */
  localMs: number;
  stripeRequests: number;
  /** What AWS would bill (`billedMs`), all its invocations together. */
  billedMs: number;
  gbSeconds: number;
  readUnits: number;
  writeUnits: number;
  dynamoRequests: number;
  logBytes: number;
}

/** What one payment uses, by billing dimension. */
export interface PaymentUsage {
  functions: FunctionUsage[];
  /**
   * `indexWriteUnits`: of `writeUnits`, those writing the indexes, `transactionIndexWriteUnits` of them in
   * transactions; `refused`: conditional writes refused (a version conflict, resolved by reading again), counted in
   * `writeUnits`.
   */
  dynamo: {
    readUnits: number;
    writeUnits: number;
    requests: number;
    indexWriteUnits: number;
    transactionIndexWriteUnits: number;
    refused: number;
  };
  /** SQS requests in 64 KB chunks, by action (the receiver's sends; the event source mapping's receives and deletes). */
  sqs: { requests: number; byAction: Record<string, number> };
  /** HTTP API requests: the POS's calls and Stripe's webhook deliveries. */
  api: { pos: number; webhooks: number };
  /** WebSocket messages (32 KB chunks) the subscribed POS received. */
  websocketMessages: number;
  /** Bytes ingested by CloudWatch Logs. */
  logs: { application: number; metrics: number; platform: number; accessLog: number };
}

/** Dollars per 1,000 payments, by component. */
export interface CostBreakdown {
  lambdaRequests: number;
  lambdaDuration: number;
  dynamoWrites: number;
  dynamoReads: number;
  sqs: number;
  httpApi: number;
  websocket: number;
  logs: number;
  total: number;
}

export const COMPONENTS = [
  'lambdaRequests',
  'lambdaDuration',
  'dynamoWrites',
  'dynamoReads',
  'sqs',
  'httpApi',
  'websocket',
  'logs',
] as const satisfies readonly (keyof CostBreakdown)[];

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** Bytes in a GB as CloudWatch Logs bills them. */
const GB = 1024 ** 3;

/** Total log bytes of a payment. */
export function logBytes(usage: Pick<PaymentUsage, 'logs'>): number {
  const { application, metrics, platform, accessLog } = usage.logs;
  return application + metrics + platform + accessLog;
}

/** Price one payment's usage, per 1,000 payments. */
export function costPer1000(usage: PaymentUsage): CostBreakdown {
  const per1000 = (unitsPerPayment: number, price: Price) => unitsPerPayment * price.usd * 1000;
  const parts = {
    lambdaRequests: per1000(sum(usage.functions.map((fn) => fn.invocations)), PRICES.lambdaRequest),
    lambdaDuration: per1000(sum(usage.functions.map((fn) => fn.gbSeconds)), PRICES.lambdaGbSecond),
    dynamoWrites: per1000(usage.dynamo.writeUnits, PRICES.dynamoWriteUnit),
    dynamoReads: per1000(usage.dynamo.readUnits, PRICES.dynamoReadUnit),
    sqs: per1000(usage.sqs.requests, PRICES.sqsRequest),
    httpApi: per1000(usage.api.pos + usage.api.webhooks, PRICES.httpApiRequest),
    websocket: per1000(usage.websocketMessages, PRICES.websocketMessage),
    logs: per1000(logBytes(usage) / GB, PRICES.logsIngestedGb),
  };
  return { ...parts, total: sum(Object.values(parts)) };
}

/** What one run of something (a reconciler run, a ping, a reconnect) costs, from the same measurements. */
export interface RunUsage {
  functions: FunctionUsage[];
  dynamo: { readUnits: number; writeUnits: number };
  websocketMessages: number;
  logBytes: number;
}

/** Dollars of one run. */
export function costOfRun(run: RunUsage): number {
  return (
    sum(run.functions.map((fn) => fn.invocations)) * PRICES.lambdaRequest.usd +
    sum(run.functions.map((fn) => fn.gbSeconds)) * PRICES.lambdaGbSecond.usd +
    run.dynamo.readUnits * PRICES.dynamoReadUnit.usd +
    run.dynamo.writeUnits * PRICES.dynamoWriteUnit.usd +
    run.websocketMessages * PRICES.websocketMessage.usd +
    (run.logBytes / GB) * PRICES.logsIngestedGb.usd
  );
}

/** The monthly costs that do not depend on payments, in dollars. */
export interface FixedMonthly {
  /** The reconciler every minute: the Scheduler's invocations and each run's Lambda, DynamoDB and log cost. */
  reconciler: { usd: number; perRunUsd: number; schedulerUsd: number };
  /** The event source mapping's empty long polls. */
  sqsIdlePolling: { usd: number; receives: number };
  /** One POS connected all month: connection minutes, its pings and its reconnections every 2 hours. */
  perConnectedPos: { usd: number; connectionMinutesUsd: number; pingsUsd: number; reconnectsUsd: number };
  /** The two secrets, and a warm execution environment's re-reads of them. */
  secrets: { usd: number; perWarmEnvironmentUsd: number };
  /** Reconciler, idle polling and secrets (not the POS connections, which scale with the fleet). */
  total: number;
}

/** The fixed monthly costs from one measured reconciler run, POS reconnection and ping. */
export function fixedMonthly(measured: { reconcilerRun: RunUsage; reconnect: RunUsage; ping: RunUsage }): FixedMonthly {
  const a = ASSUMPTIONS;
  const perRunUsd = costOfRun(measured.reconcilerRun);
  const schedulerUsd = a.reconcilerRunsPerMonth * PRICES.schedulerInvocation.usd;
  const reconciler = { usd: a.reconcilerRunsPerMonth * perRunUsd + schedulerUsd, perRunUsd, schedulerUsd };
  const receives = a.sqsIdleReceivesPerMinute * a.minutesPerMonth;
  const sqsIdlePolling = { usd: receives * PRICES.sqsRequest.usd, receives };
  const connectionMinutesUsd = a.minutesPerMonth * PRICES.websocketConnectionMinute.usd;
  const pingsUsd = (a.minutesPerMonth / a.posPingEveryMinutes) * costOfRun(measured.ping);
  const reconnectsUsd = (a.minutesPerMonth / a.posReconnectEveryMinutes) * costOfRun(measured.reconnect);
  const perConnectedPos = {
    usd: connectionMinutesUsd + pingsUsd + reconnectsUsd,
    connectionMinutesUsd,
    pingsUsd,
    reconnectsUsd,
  };
  // Each secret read again every 5 minutes by each warm environment that uses it (the processor reads one, the
  // receiver the other): per environment, one secret.
  const perWarmEnvironmentUsd = (a.minutesPerMonth / a.secretReadEveryMinutes) * PRICES.secretsApiCall.usd;
  const secrets = { usd: a.secrets * PRICES.secretMonth.usd, perWarmEnvironmentUsd };
  return {
    reconciler,
    sqsIdlePolling,
    perConnectedPos,
    secrets,
    total: reconciler.usd + sqsIdlePolling.usd + secrets.usd,
  };
}

/**
 * An item's size as DynamoDB counts it for capacity: each attribute's name (UTF-8 bytes) plus its value: a string's
 * UTF-8 bytes, a number's significant digits / 2 + 1, a boolean or null 1, a list or map 3 + 1 per element plus the
 * elements (a map's keys counted like names).
 */
export function dynamoItemSize(item: Record<string, unknown>): number {
  return sum(Object.entries(item).map(([name, value]) => Buffer.byteLength(name) + valueSize(value)));
}

function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') {
    const digits = String(value).replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return sum([...value].map(valueSize));
  if (Array.isArray(value)) return 3 + sum(value.map((element) => 1 + valueSize(element)));
  if (typeof value === 'object') {
    return (
      3 +
      sum(
        Object.entries(value as Record<string, unknown>).map(
          ([key, element]) => 1 + Buffer.byteLength(key) + valueSize(element),
        ),
      )
    );
  }
  return Buffer.byteLength(String(value));
}

/** `$0.0123`, `$0.000410`: dollars to three significant digits (two decimals from $1 up). */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  const decimals = Math.min(8, Math.max(2, 2 - Math.floor(Math.log10(usd))));
  return `$${usd.toFixed(decimals)}`;
}

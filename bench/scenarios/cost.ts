/**
 * Cost per 1,000 payments on AWS (issue 17): typical payments on the local stack with every function metered
 * (`bench/meter.ts`), priced by `bench/cost.ts`.
 *
 * A payment: `POST /payments`, `POST /payments/{id}/process` on a reader, the customer's tap, every webhook event
 * through the receiver, SQS and the processor, its changes pushed to one POS subscribed to the location over the
 * WebSocket API (which polls nothing), `POST /payments/{id}/capture` for manual capture once the push says it is
 * authorized, then `GET /payments/{id}` and `GET /payments/{id}/receipt` (the POS confirms and prints). Each payment
 * runs alone and the stack settles after it, so everything metered from its first call to the quiet after it is its
 * own. One payment first warms every function up: cold starts are not part of the figure.
 *
 * Apart, as a fixed monthly cost: a reconciler run (after one that settles whatever earlier scenarios left), and the
 * POS's connection (connecting and subscribing, a ping, disconnecting).
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { WebSocket } from 'ws';
import { routes } from '../../shared/routes.ts';
import { ORDER_SORT_KEY, orderPk } from '../../shared/store/orders.ts';
import { PAYMENT_SORT_KEY, paymentPk } from '../../shared/store/payments.ts';
import { paymentsTable } from '../../shared/store/table.ts';
import {
  ASSUMPTIONS,
  billedMs,
  type CostBreakdown,
  costPer1000,
  dynamoItemSize,
  type FixedMonthly,
  type FunctionUsage,
  fixedMonthly,
  gbSeconds,
  memoryMbOf,
  type PaymentUsage,
  PRICES,
  type RunUsage,
} from '../cost.ts';
import { type Invocation, type InvocationMeter, invocationMeter, type MeterWindow } from '../meter.ts';
import {
  type CaptureMethod,
  capturePayment,
  createPayment,
  newOrderId,
  processPayment,
  recordedPayment,
  systemRequests,
} from '../payments.ts';
import type { BenchStack } from '../stack.ts';

/** The webhook receiver: a delivery it queues nothing for is of a type the deployed endpoint does not subscribe to. */
const RECEIVER = 'ReceiveStripeWebhook';

/** The POS's calls of a payment, by capture method. */
export const POS_CALLS: Record<CaptureMethod, readonly string[]> = {
  manual: [
    'POST /payments',
    'POST /payments/{id}/process',
    'POST /payments/{id}/capture',
    'GET /payments/{id}',
    'GET /payments/{id}/receipt',
  ],
  automatic: ['POST /payments', 'POST /payments/{id}/process', 'GET /payments/{id}', 'GET /payments/{id}/receipt'],
};

/** The functions every payment must have been seen to run (one missing means the meter missed it). */
const EXPECTED_FUNCTIONS = [
  'CreatePayment',
  'ProcessPayment',
  RECEIVER,
  'ProcessStripeEvents',
  'LiveNotify',
  'GetPayment',
  'GetReceipt',
];

/** One payment as measured. */
export interface MeasuredPayment {
  captureMethod: CaptureMethod;
  paymentId: string;
  usage: PaymentUsage;
  /**
   * Webhook deliveries of types the deployed endpoint does not subscribe to (the emulator's endpoint takes every
   * type; the deploy guide subscribes to the handled ones): the receiver acknowledges them and queues nothing. Left
   * out of `usage`.
   */
  ignoredDeliveries: number;
  /** Stripe requests of the payment, from the emulator's log (the meter's count is checked equal). */
  stripeRequests: number;
}

/** Per capture method: the usage of a payment (means) and its price per 1,000. */
export interface CostOfMethod {
  captureMethod: CaptureMethod;
  payments: number;
  posCalls: readonly string[];
  usage: PaymentUsage;
  per1000: CostBreakdown;
  ignoredDeliveries: number;
}

/** An item as stored: its DynamoDB size, its JSON size, and the indexes it is in. */
export interface StoredItem {
  bytes: number;
  jsonBytes: number;
  indexes: string[];
}

export interface CostResult {
  region: string;
  methods: CostOfMethod[];
  payments: MeasuredPayment[];
  /** One quiet reconciler run, with the readers Stripe holds (a list page per 100). */
  reconcilerRun: RunUsage & { readers: number; stripeRequests: number };
  /** A POS connecting, subscribing to its location and, 2 hours later, disconnecting. */
  reconnect: RunUsage;
  ping: RunUsage;
  fixedMonthly: FixedMonthly;
  /** The payment and its order claim after a manual payment, as stored; what 1,000 of them cost stored a month. */
  items: { payment: StoredItem; order: StoredItem; storagePer1000PerMonthUsd: number };
  prices: typeof PRICES;
  assumptions: typeof ASSUMPTIONS;
}

// biome-ignore lint/suspicious/noExplicitAny: messages are JSON read field by field
type Message = Record<string, any>;

/** WebSocket API messages are billed in 32 KB chunks. */
const WEBSOCKET_CHUNK_BYTES = 32 * 1024;

function chunks(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WEBSOCKET_CHUNK_BYTES));
}

/** The POS's WebSocket connection: every message it sends and receives, in billed chunks. */
class Pos {
  private readonly received: { message: Message; chunks: number }[] = [];
  private readonly waiters = new Set<() => void>();
  private sentChunks = 0;
  private receivedChunks = 0;

  private readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const text = data.toString();
      this.received.push({ message: JSON.parse(text) as Message, chunks: chunks(Buffer.byteLength(text)) });
      this.receivedChunks += chunks(Buffer.byteLength(text));
      for (const waiter of this.waiters) waiter();
    });
  }

  static async connect(bench: BenchStack, token: string): Promise<Pos> {
    const socket = new WebSocket(`${bench.stack.state.liveUrl}?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Pos(socket);
  }

  /** Resolves with the first message (from the last `take()` on) that `matches`. */
  waitFor(matches: (message: Message) => boolean, what: string, timeoutMs = 30_000): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find((entry) => matches(entry.message));
        if (found === undefined) return;
        cleanup();
        resolve(found.message);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`The POS received no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Send `message` and wait for the answer `matches`. */
  async request(message: object, matches: (message: Message) => boolean, what: string): Promise<Message> {
    const text = JSON.stringify(message);
    this.sentChunks += chunks(Buffer.byteLength(text));
    const answer = this.waitFor(matches, what);
    this.socket.send(text);
    return answer;
  }

  /** Messages (32 KB chunks) sent and received since the last `take()`, which starts counting anew. */
  take(): { sent: number; received: number } {
    const counts = { sent: this.sentChunks, received: this.receivedChunks };
    this.sentChunks = 0;
    this.receivedChunks = 0;
    this.received.length = 0;
    return counts;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** The POS routes' function names (every route but the webhook receiver's). */
const POS_FUNCTIONS = new Set(routes.filter((route) => route.name !== RECEIVER).map((route) => route.name));

/** Wait until nothing moves: no webhook, queue or DynamoDB activity, and no invocation for a while. */
async function settle(bench: BenchStack, meter: InvocationMeter): Promise<void> {
  await bench.quiesce();
  await meter.idle();
  await bench.quiesce();
}

export async function measureCost(bench: BenchStack, options: { paymentsPerMethod: number }): Promise<CostResult> {
  const meter = invocationMeter();
  if (meter === undefined) throw new Error('The invocation meter is not installed (BenchStack.start({ meter: true }))');
  const { location } = bench;
  // The readers' locations cached first, as after the first use of a reader.
  await bench.api('GET', '/readers', { token: location.token });
  await bench.quiesce();
  const detach = meter.attach({
    dynamo: [bench.stack.deps.store.db, bench.stack.liveDeps.store.db],
    sqs: bench.stack.sqs.client,
    stripeHost: new URL(bench.stack.emulator.url).host,
  });
  let pos: Pos | undefined;
  try {
    await settle(bench, meter);
    meter.begin();
    pos = await Pos.connect(bench, location.token);
    await pos.request({ action: 'subscribe', locationId: location.id }, (m) => m.type === 'subscribed', 'subscribed');
    await settle(bench, meter);
    const connected = { window: meter.end(), messages: pos.take() };

    meter.begin();
    await pos.request({ action: 'ping' }, (m) => m.type === 'pong', 'pong');
    await settle(bench, meter);
    const pinged = { window: meter.end(), messages: pos.take() };

    // One payment first: every function's first invocation (its clients, its caches) is not a payment's cost.
    await measurePayment(bench, meter, pos, 'automatic', location.readers[0] as string);
    const payments: MeasuredPayment[] = [];
    for (const captureMethod of ['manual', 'automatic'] as const) {
      for (let n = 0; n < options.paymentsPerMethod; n += 1) {
        const readerId = location.readers[n % location.readers.length] as string;
        payments.push(await measurePayment(bench, meter, pos, captureMethod, readerId));
      }
    }

    meter.begin();
    await pos.close();
    await settle(bench, meter);
    const disconnected = meter.end();

    const reconcilerRun = await measureReconcilerRun(bench, meter);
    const reconnect = runUsage([connected.window, disconnected], connected.messages.sent + connected.messages.received);
    const ping = runUsage([pinged.window], pinged.messages.sent + pinged.messages.received);
    const methods = (['manual', 'automatic'] as const).map((captureMethod): CostOfMethod => {
      const measured = payments.filter((payment) => payment.captureMethod === captureMethod);
      const usage = meanUsage(measured.map((payment) => payment.usage));
      return {
        captureMethod,
        payments: measured.length,
        posCalls: POS_CALLS[captureMethod],
        usage,
        per1000: costPer1000(usage),
        ignoredDeliveries: mean(measured.map((payment) => payment.ignoredDeliveries)),
      };
    });
    const manual = payments.find((payment) => payment.captureMethod === 'manual');
    return {
      region: 'us-east-1',
      methods,
      payments,
      reconcilerRun,
      reconnect,
      ping,
      fixedMonthly: fixedMonthly({ reconcilerRun, reconnect, ping }),
      items: await storedItems(bench, manual?.paymentId ?? ''),
      prices: PRICES,
      assumptions: ASSUMPTIONS,
    };
  } finally {
    detach();
    await pos?.close();
  }
}

async function measurePayment(
  bench: BenchStack,
  meter: InvocationMeter,
  pos: Pos,
  captureMethod: CaptureMethod,
  readerId: string,
): Promise<MeasuredPayment> {
  const { token } = bench.location;
  meter.begin();
  pos.take();
  const logStart = (await bench.stripeRequests()).length;
  const updated = (id: string, status: string) => (m: Message) =>
    m.type === 'payment.updated' && m.payment?.id === id && m.payment?.status === status;

  const payment = await createPayment(bench, { captureMethod, orderId: newOrderId('cost') });
  await processPayment(bench, payment.id, readerId);
  const authorized = captureMethod === 'manual' ? 'requires_capture' : 'succeeded';
  const pushed = pos.waitFor(updated(payment.id, authorized), `payment.updated ${authorized}`);
  await bench.tap(readerId);
  await pushed;
  if (captureMethod === 'manual') {
    const captured = pos.waitFor(updated(payment.id, 'succeeded'), 'payment.updated succeeded');
    await capturePayment(bench, payment.id);
    await captured;
  }
  await recordedPayment(bench, payment.id);
  const receipt = await bench.api('GET', `/payments/${payment.id}/receipt`, { token });
  if (receipt.status !== 200) throw new Error(`GET /payments/{id}/receipt: HTTP ${receipt.status}`);
  await settle(bench, meter);

  const window = meter.end();
  const messages = pos.take();
  const stripeRequests = systemRequests((await bench.stripeRequests()).slice(logStart)).length;
  check(window, captureMethod, stripeRequests);
  const ignored = window.invocations.filter(isIgnoredDelivery);
  return {
    captureMethod,
    paymentId: payment.id,
    usage: paymentUsage(
      { ...window, invocations: window.invocations.filter((invocation) => !isIgnoredDelivery(invocation)) },
      messages.received,
    ),
    ignoredDeliveries: ignored.length,
    stripeRequests,
  };
}

/** Whether what the meter saw of a payment is whole: every function it must run, every Stripe request attributed. */
function check(window: MeterWindow, captureMethod: CaptureMethod, stripeRequests: number): void {
  const seen = new Set(window.invocations.map((invocation) => invocation.fn));
  const expected = [...EXPECTED_FUNCTIONS, ...(captureMethod === 'manual' ? ['CapturePayment'] : [])];
  const missing = expected.filter((name) => !seen.has(name));
  if (missing.length > 0) throw new Error(`The meter saw no invocation of ${missing.join(', ')} in a payment`);
  const posInvocations = window.invocations.filter((invocation) => POS_FUNCTIONS.has(invocation.fn)).length;
  if (posInvocations !== POS_CALLS[captureMethod].length) {
    throw new Error(`${posInvocations} POS route invocations metered for ${POS_CALLS[captureMethod].length} calls`);
  }
  const metered =
    sum(window.invocations.map((invocation) => invocation.stripeRequests)) + window.outside.stripeRequests;
  if (metered !== stripeRequests) {
    throw new Error(`Stripe requests: the emulator logged ${stripeRequests}, the meter attributed ${metered}`);
  }
  if (window.outside.dynamo.requests > 0) {
    throw new Error(`${window.outside.dynamo.requests} DynamoDB request(s) outside any invocation`);
  }
  const failed = window.invocations.filter((invocation) => invocation.failed);
  if (failed.length > 0)
    throw new Error(`Failed in a payment: ${failed.map((invocation) => invocation.fn).join(', ')}`);
}

function isIgnoredDelivery(invocation: Invocation): boolean {
  return invocation.fn === RECEIVER && !invocation.failed && (invocation.sqs.byAction.SendMessage ?? 0) === 0;
}

/** What `invocations` used, by function, with the duration AWS would bill. */
function byFunction(invocations: readonly Invocation[]): FunctionUsage[] {
  const functions = new Map<string, FunctionUsage>();
  for (const invocation of invocations) {
    const name = invocation.fn;
    const usage = functions.get(name) ?? {
      name,
      memoryMb: memoryMbOf(name),
      invocations: 0,
      localMs: 0,
      stripeRequests: 0,
      billedMs: 0,
      gbSeconds: 0,
      readUnits: 0,
      writeUnits: 0,
      dynamoRequests: 0,
      logBytes: 0,
    };
    const billed = billedMs(invocation.durationMs, invocation.stripeRequests);
    usage.invocations += 1;
    usage.localMs += invocation.durationMs;
    usage.stripeRequests += invocation.stripeRequests;
    usage.billedMs += billed;
    usage.gbSeconds += gbSeconds(name, billed);
    usage.readUnits += invocation.dynamo.readUnits;
    usage.writeUnits += invocation.dynamo.writeUnits;
    usage.dynamoRequests += invocation.dynamo.requests;
    usage.logBytes += invocation.logBytes + invocation.metricBytes + ASSUMPTIONS.platformLogBytesPerInvocation;
    functions.set(name, usage);
  }
  return [...functions.values()].sort((a, b) => b.gbSeconds - a.gbSeconds);
}

/** A payment's usage from what the meter saw of it, and the WebSocket messages its POS received. */
function paymentUsage(window: MeterWindow, websocketMessages: number): PaymentUsage {
  const { invocations, outside } = window;
  const sqsByAction: Record<string, number> = { ...outside.sqs.byAction };
  for (const invocation of invocations) {
    for (const [action, n] of Object.entries(invocation.sqs.byAction))
      sqsByAction[action] = (sqsByAction[action] ?? 0) + n;
  }
  const pos = invocations.filter((invocation) => POS_FUNCTIONS.has(invocation.fn)).length;
  const webhooks = invocations.filter((invocation) => invocation.fn === RECEIVER).length;
  return {
    functions: byFunction(invocations),
    dynamo: {
      readUnits: sum(invocations.map((i) => i.dynamo.readUnits)) + outside.dynamo.readUnits,
      writeUnits: sum(invocations.map((i) => i.dynamo.writeUnits)) + outside.dynamo.writeUnits,
      requests: sum(invocations.map((i) => i.dynamo.requests)) + outside.dynamo.requests,
      indexWriteUnits: sum(invocations.map((i) => i.dynamo.indexWriteUnits)) + outside.dynamo.indexWriteUnits,
      transactionIndexWriteUnits:
        sum(invocations.map((i) => i.dynamo.transactionIndexWriteUnits)) + outside.dynamo.transactionIndexWriteUnits,
      refused: sum([...invocations.map((i) => i.dynamo), outside.dynamo].map((d) => sum(Object.values(d.refused)))),
    },
    sqs: { requests: sum(Object.values(sqsByAction)), byAction: sqsByAction },
    api: { pos, webhooks },
    websocketMessages,
    logs: {
      application: sum(invocations.map((i) => i.logBytes)),
      metrics: sum(invocations.map((i) => i.metricBytes)),
      platform: invocations.length * ASSUMPTIONS.platformLogBytesPerInvocation,
      accessLog: (pos + webhooks) * ASSUMPTIONS.httpAccessLogBytesPerRequest,
    },
  };
}

/** What the invocations of `windows` used together, as one run. */
function runUsage(windows: readonly MeterWindow[], websocketMessages: number): RunUsage {
  const invocations = windows.flatMap((window) => window.invocations);
  const outside = windows.map((window) => window.outside.dynamo);
  const functions = byFunction(invocations);
  return {
    functions,
    dynamo: {
      readUnits: sum(functions.map((fn) => fn.readUnits)) + sum(outside.map((d) => d.readUnits)),
      writeUnits: sum(functions.map((fn) => fn.writeUnits)) + sum(outside.map((d) => d.writeUnits)),
    },
    websocketMessages,
    logBytes: sum(functions.map((fn) => fn.logBytes)),
  };
}

/** The mean of `usages`, field by field (a function missing from a payment counts 0 there). */
function meanUsage(usages: readonly PaymentUsage[]): PaymentUsage {
  const n = usages.length;
  const avg = (pick: (usage: PaymentUsage) => number) => sum(usages.map(pick)) / n;
  const names = [...new Set(usages.flatMap((usage) => usage.functions.map((fn) => fn.name)))];
  const functions = names.map((name): FunctionUsage => {
    const of = (usage: PaymentUsage) => usage.functions.find((fn) => fn.name === name);
    const field = (key: Exclude<keyof FunctionUsage, 'name' | 'memoryMb'>) => avg((usage) => of(usage)?.[key] ?? 0);
    return {
      name,
      memoryMb: memoryMbOf(name),
      invocations: field('invocations'),
      localMs: field('localMs'),
      stripeRequests: field('stripeRequests'),
      billedMs: field('billedMs'),
      gbSeconds: field('gbSeconds'),
      readUnits: field('readUnits'),
      writeUnits: field('writeUnits'),
      dynamoRequests: field('dynamoRequests'),
      logBytes: field('logBytes'),
    };
  });
  const actions = [...new Set(usages.flatMap((usage) => Object.keys(usage.sqs.byAction)))];
  return {
    functions: functions.sort((a, b) => b.gbSeconds - a.gbSeconds),
    dynamo: {
      readUnits: avg((u) => u.dynamo.readUnits),
      writeUnits: avg((u) => u.dynamo.writeUnits),
      requests: avg((u) => u.dynamo.requests),
      indexWriteUnits: avg((u) => u.dynamo.indexWriteUnits),
      transactionIndexWriteUnits: avg((u) => u.dynamo.transactionIndexWriteUnits),
      refused: avg((u) => u.dynamo.refused),
    },
    sqs: {
      requests: avg((u) => u.sqs.requests),
      byAction: Object.fromEntries(actions.map((action) => [action, avg((u) => u.sqs.byAction[action] ?? 0)])),
    },
    api: { pos: avg((u) => u.api.pos), webhooks: avg((u) => u.api.webhooks) },
    websocketMessages: avg((u) => u.websocketMessages),
    logs: {
      application: avg((u) => u.logs.application),
      metrics: avg((u) => u.logs.metrics),
      platform: avg((u) => u.logs.platform),
      accessLog: avg((u) => u.logs.accessLog),
    },
  };
}

/** One reconciler run with nothing to do, after a run that settles what earlier scenarios left. */
async function measureReconcilerRun(
  bench: BenchStack,
  meter: InvocationMeter,
): Promise<RunUsage & { readers: number; stripeRequests: number }> {
  await bench.stack.scheduler.runNow();
  await settle(bench, meter);
  meter.begin();
  const outcome = await bench.stack.scheduler.runNow();
  await settle(bench, meter);
  const window = meter.end();
  if (outcome?.error) throw new Error(`The reconciler run failed: ${outcome.error.message}`);
  const readers = await countReaders(bench);
  return {
    ...runUsage([window], 0),
    readers,
    stripeRequests: sum(window.invocations.map((invocation) => invocation.stripeRequests)),
  };
}

async function countReaders(bench: BenchStack): Promise<number> {
  let count = 0;
  for (let after: string | undefined; ; ) {
    const page = await bench.stripeApi<{ data: { id: string }[]; has_more: boolean }>(
      'GET',
      `/v1/terminal/readers?limit=100${after === undefined ? '' : `&starting_after=${after}`}`,
    );
    count += page.data.length;
    after = page.data.at(-1)?.id;
    if (!page.has_more || after === undefined) return count;
  }
}

/**
 * The payment and its order claim as stored once the payment is done, and what storing 1,000 payments costs a
 * month: each item and each index copy of it (every index projects all attributes), with DynamoDB's 100 bytes of
 * overhead an item, at the storage price, and the items themselves at the point-in-time recovery price. The event
 * dedupe items expire after 7 days and are left out.
 */
async function storedItems(bench: BenchStack, paymentId: string): Promise<CostResult['items']> {
  const table = bench.stack.dynamodb.tableName;
  const read = async (pk: string, sk: string) =>
    (await bench.table.send(new GetCommand({ TableName: table, Key: { pk, sk } }))).Item ?? {};
  const payment = await read(paymentPk(paymentId), PAYMENT_SORT_KEY);
  const order = await read(
    orderPk(String(payment.locationId ?? bench.location.id), String(payment.orderId ?? '')),
    ORDER_SORT_KEY,
  );
  const stored = (item: Record<string, unknown>): StoredItem => ({
    bytes: dynamoItemSize(item),
    jsonBytes: Buffer.byteLength(JSON.stringify(item)),
    indexes: Object.values(paymentsTable.indexes)
      .filter((index) => item[index.partitionKey.name] !== undefined && item[index.sortKey.name] !== undefined)
      .map((index) => index.indexName),
  });
  const items = { payment: stored(payment), order: stored(order) };
  const perThousandGb = (bytes: number) => (bytes * 1000) / 1024 ** 3;
  const [base, withIndexes] = [items.payment, items.order].reduce(
    ([baseBytes, allBytes], item) => [
      baseBytes + item.bytes + 100,
      allBytes + (item.bytes + 100) * (1 + item.indexes.length),
    ],
    [0, 0],
  );
  return {
    ...items,
    storagePer1000PerMonthUsd:
      perThousandGb(withIndexes) * PRICES.dynamoStorageGbMonth.usd + perThousandGb(base) * PRICES.dynamoPitrGbMonth.usd,
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}

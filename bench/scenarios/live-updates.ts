/**
 * Live updates against polling, side by side on the same payments, and the notifier's fan-out.
 *
 * Push vs polling: each payment is created on a reader (automatic capture) and, from then on, followed two ways at
 * once: by a WebSocket client subscribed to the location, and by a POS polling `GET /payments/{id}` every 2 s
 * (the field's usual interval), whose next poll after the tap falls anywhere in the interval, as a real tap falls
 * anywhere between two polls. Each figure is tap → `succeeded` seen. Payments run in lanes, one per reader (extra
 * simulated readers are registered for it), so the run takes about a minute.
 *
 * Fan-out: `clients` connections subscribed to one location, then `payments` payments; every client must get every
 * payment's final state; each delivery is timed from the tap.
 */
import { WebSocket } from 'ws';
import { createPayment } from '../payments.ts';
import { type BenchStack, sleep } from '../stack.ts';
import { percentile } from '../stats.ts';

export interface LatencyFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface PushVsPollResult {
  payments: number;
  lanes: number;
  pollIntervalMs: number;
  pushMs: LatencyFigures;
  pollMs: LatencyFigures;
  /**
   * HTTP requests per payment: the create (with the reader) and, for the polling POS, every GET from the tap until
   * the outcome (a POS also polls while the customer reaches for the card: one more GET per interval of that).
   */
  httpRequestsPerPayment: { polling: number; subscribed: number };
  /** WebSocket messages the subscribed POS received per payment (each a change it could see). */
  messagesPerPayment: number;
}

export interface FanOutResult {
  clients: number;
  payments: number;
  /** Final states expected (clients × payments) and received. */
  expected: number;
  received: number;
  /** Clients that missed at least one final state. */
  clientsMissing: number;
  deliveryMs: LatencyFigures;
  /** Messages every client received, in total. */
  messages: number;
  durationMs: number;
}

export interface LiveUpdatesResult {
  pushVsPoll?: PushVsPollResult;
  fanOut?: FanOutResult;
}

// biome-ignore lint/suspicious/noExplicitAny: messages are JSON read field by field
type Message = Record<string, any>;

interface Subscriber {
  socket: WebSocket;
  /** When each payment's `succeeded` arrived (performance.now()). */
  succeededAt: Map<string, number>;
  messages: number;
  /** Calls `onSucceeded` listeners. */
  listeners: Set<(paymentId: string, at: number) => void>;
}

async function subscribe(bench: BenchStack, locationId: string, token: string): Promise<Subscriber> {
  const socket = new WebSocket(`${bench.stack.state.liveUrl}?token=${encodeURIComponent(token)}`);
  const subscriber: Subscriber = { socket, succeededAt: new Map(), messages: 0, listeners: new Set() };
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const subscribed = new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const at = performance.now();
      const message = JSON.parse(data.toString()) as Message;
      subscriber.messages += 1;
      if (message.type === 'subscribed') resolve();
      if (message.type === 'error') reject(new Error(`live: ${message.code} ${message.message}`));
      if (message.type === 'payment.updated' && message.payment.status === 'succeeded') {
        const id = message.payment.id as string;
        if (!subscriber.succeededAt.has(id)) {
          subscriber.succeededAt.set(id, at);
          for (const listener of subscriber.listeners) listener(id, at);
        }
      }
    });
  });
  socket.send(JSON.stringify({ action: 'subscribe', locationId }));
  await subscribed;
  return subscriber;
}

function close(subscriber: Subscriber): Promise<void> {
  return new Promise((resolve) => {
    if (subscriber.socket.readyState === WebSocket.CLOSED) return resolve();
    subscriber.socket.once('close', () => resolve());
    subscriber.socket.close();
  });
}

/** When `subscriber` sees payment `id` succeed. */
function succeeded(subscriber: Subscriber, id: string, timeoutMs = 30_000): Promise<number> {
  const seen = subscriber.succeededAt.get(id);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscriber.listeners.delete(listener);
      reject(new Error(`payment ${id}: no succeeded update within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (paymentId: string, at: number) => {
      if (paymentId !== id) return;
      clearTimeout(timer);
      subscriber.listeners.delete(listener);
      resolve(at);
    };
    subscriber.listeners.add(listener);
  });
}

function figures(samples: number[]): LatencyFigures {
  return {
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: Math.max(...samples),
  };
}

/** Readers of the bench's location, registering simulated ones until there are `count`. */
async function laneReaders(bench: BenchStack, count: number): Promise<string[]> {
  const readers = [...bench.location.readers];
  while (readers.length < count) {
    const reader = await bench.stripeApi<{ id: string }>('POST', '/v1/terminal/readers', {
      registration_code: 'simulated-wpe',
      location: bench.location.id,
      label: `Bench lane ${readers.length + 1}`,
    });
    readers.push(reader.id);
  }
  return readers.slice(0, count);
}

export async function measurePushVsPoll(
  bench: BenchStack,
  options: { payments: number; lanes: number; pollIntervalMs: number },
): Promise<PushVsPollResult> {
  const readers = await laneReaders(bench, options.lanes);
  const subscriber = await subscribe(bench, bench.location.id, bench.location.token);
  const messagesBefore = subscriber.messages;
  const push: number[] = [];
  const poll: number[] = [];
  let gets = 0;
  let creates = 0;
  let next = 0;
  try {
    await Promise.all(
      readers.map(async (readerId) => {
        while (next < options.payments) {
          next += 1;
          const payment = await createPayment(bench, { captureMethod: 'automatic', readerId });
          creates += 1;
          const pushed = succeeded(subscriber, payment.id);
          // The polling POS polls every interval; the tap falls anywhere between two of its polls.
          const tapped = performance.now();
          await bench.tap(readerId);
          const firstPoll = tapped + Math.random() * options.pollIntervalMs;
          const polled = (async () => {
            for (let n = 0; ; n += 1) {
              await sleep(Math.max(0, firstPoll + n * options.pollIntervalMs - performance.now()));
              gets += 1;
              const read = await bench.api<{ payment: { status: string } }>('GET', `/payments/${payment.id}`, {
                token: bench.location.token,
              });
              if (read.body.payment.status === 'succeeded') return performance.now();
              if (n > 30) throw new Error(`payment ${payment.id}: not succeeded after ${n} polls`);
            }
          })();
          const [pushedAt, polledAt] = await Promise.all([pushed, polled]);
          push.push(pushedAt - tapped);
          poll.push(polledAt - tapped);
        }
      }),
    );
  } finally {
    await close(subscriber);
  }
  const payments = push.length;
  return {
    payments,
    lanes: readers.length,
    pollIntervalMs: options.pollIntervalMs,
    pushMs: figures(push),
    pollMs: figures(poll),
    httpRequestsPerPayment: { polling: (creates + gets) / payments, subscribed: creates / payments },
    messagesPerPayment: (subscriber.messages - messagesBefore) / payments,
  };
}

export async function measureFanOut(
  bench: BenchStack,
  options: { clients: number; payments: number; lanes: number },
): Promise<FanOutResult> {
  const started = performance.now();
  const subscribers: Subscriber[] = [];
  // Connected a few at a time, as registers come online over a morning.
  for (let n = 0; n < options.clients; n += 25) {
    const batch = Math.min(25, options.clients - n);
    subscribers.push(
      ...(await Promise.all(
        Array.from({ length: batch }, () => subscribe(bench, bench.location.id, bench.location.token)),
      )),
    );
  }
  const readers = await laneReaders(bench, options.lanes);
  const tappedAt = new Map<string, number>();
  const deliveries: Promise<void>[] = [];
  const delays: number[] = [];
  let next = 0;
  try {
    await Promise.all(
      readers.map(async (readerId) => {
        while (next < options.payments) {
          next += 1;
          const payment = await createPayment(bench, { captureMethod: 'automatic', readerId });
          tappedAt.set(payment.id, performance.now());
          await bench.tap(readerId);
          for (const subscriber of subscribers) {
            deliveries.push(
              succeeded(subscriber, payment.id, 120_000).then(
                (at) => {
                  delays.push(at - (tappedAt.get(payment.id) as number));
                },
                () => undefined,
              ),
            );
          }
          // The lane's next payment starts once this one's final state reached the first client.
          await succeeded(subscribers[0] as Subscriber, payment.id, 120_000);
        }
      }),
    );
    await Promise.all(deliveries);
  } finally {
    await Promise.all(subscribers.map(close));
  }
  const expected = options.clients * tappedAt.size;
  const clientsMissing = subscribers.filter((subscriber) =>
    [...tappedAt.keys()].some((id) => !subscriber.succeededAt.has(id)),
  ).length;
  return {
    clients: options.clients,
    payments: tappedAt.size,
    expected,
    received: delays.length,
    clientsMissing,
    deliveryMs: figures(delays),
    messages: subscribers.reduce((sum, subscriber) => sum + subscriber.messages, 0),
    durationMs: performance.now() - started,
  };
}

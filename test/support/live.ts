/**
 * A live-updates client for tests: connects to a stack's WebSocket API with a token, keeps every message it gets,
 * and waits for the one a test expects. Every message is checked against `asyncapi.yaml` as it arrives.
 */
import { WebSocket } from 'ws';
import { liveMessageProblems } from './asyncapi.ts';

// biome-ignore lint/suspicious/noExplicitAny: messages are JSON a test reads field by field
export type LiveMessage = Record<string, any>;

export interface LiveClient {
  socket: WebSocket;
  /** Every message received so far, oldest first. */
  messages: LiveMessage[];
  /** Messages that do not match `asyncapi.yaml`, with why. */
  problems: string[];
  send(message: unknown): void;
  sendRaw(data: string): void;
  /** The first message (received or still to come) after `from` that passes `check`. */
  next(check: (message: LiveMessage) => boolean, options?: { timeoutMs?: number; from?: number }): Promise<LiveMessage>;
  /** Send and wait for the answer: the first message after sending that passes `check` (by default: not an update). */
  request(message: unknown, check?: (message: LiveMessage) => boolean): Promise<LiveMessage>;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** Open a connection; rejects with the refused upgrade's status (`Unexpected server response: 401`). */
export function connectLive(url: string, token: string | undefined): Promise<LiveClient> {
  const socket = new WebSocket(token === undefined ? url : `${url}?token=${encodeURIComponent(token)}`);
  const messages: LiveMessage[] = [];
  const problems: string[] = [];
  const waiters: { check: (message: LiveMessage) => boolean; from: number; resolve: (m: LiveMessage) => void }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as LiveMessage;
    messages.push(message);
    problems.push(...liveMessageProblems(message));
    for (const waiter of [...waiters]) {
      if (messages.length - 1 >= waiter.from && waiter.check(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  const client: LiveClient = {
    socket,
    messages,
    problems,
    send: (message) => socket.send(JSON.stringify(message)),
    sendRaw: (data) => socket.send(data),
    next(check, options = {}) {
      const from = options.from ?? 0;
      const found = messages.slice(from).find(check);
      if (found !== undefined) return Promise.resolve(found);
      const timeoutMs = options.timeoutMs ?? 15_000;
      return new Promise((resolve, reject) => {
        const waiter = {
          check,
          from,
          resolve: (message: LiveMessage) => {
            clearTimeout(timer);
            resolve(message);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`No such live message within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(from))}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    request(message, check = (answer) => answer.type !== 'payment.updated' && answer.type !== 'reader.updated') {
      const from = messages.length;
      client.send(message);
      return client.next(check, { from });
    },
    closed,
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('error', reject);
  });
}

/** The messages about one payment, highest version last, as a client that keeps the highest version sees them. */
export function latestPayment(messages: readonly LiveMessage[], paymentId: string): LiveMessage | undefined {
  let latest: LiveMessage | undefined;
  for (const message of messages) {
    const payment = message.type === 'payment.updated' || message.type === 'subscribed' ? message.payment : undefined;
    if (payment?.id !== paymentId) continue;
    if (latest === undefined || message.version > latest.version) latest = message;
  }
  return latest;
}

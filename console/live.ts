/**
 * Live updates over the WebSocket API (live-updates.md): subscribes to what a screen shows, reconnects with a growing
 * pause after a drop and subscribes again, which answers with the current state, so nothing is missed. Messages can
 * be duplicated or reordered: the highest `version` seen per record wins.
 */
import type { Payment, Reader } from './types.ts';

export type LiveState = 'connecting' | 'live' | 'offline';
export type Subject = { locationId: string } | { paymentId: string };

export interface LiveHandlers {
  payment(payment: Payment): void;
  reader(reader: Reader): void;
  readerRemoved(readerId: string): void;
  state(state: LiveState): void;
}

/** API Gateway closes a connection idle for 10 minutes; a ping well before keeps it. */
const KEEPALIVE_MS = 5 * 60_000;
const MAX_PAUSE_MS = 15_000;

export class LiveUpdates {
  #socket: WebSocket | undefined;
  #subjects = new Map<string, Subject>();
  #counts = new Map<string, number>();
  #versions = new Map<string, number>();
  #listeners = new Set<LiveHandlers>();
  #pauseMs = 500;
  #closed = false;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  readonly #url: string;
  readonly #token: () => string;
  state: LiveState = 'connecting';

  /** `token()`: the account's current token, read at each connection. */
  constructor(url: string, token: () => string) {
    this.#url = url;
    this.#token = token;
    this.#connect();
  }

  /** Receive every update; returns the function that stops it. */
  listen(handlers: LiveHandlers): () => void {
    this.#listeners.add(handlers);
    handlers.state(this.state);
    return () => this.#listeners.delete(handlers);
  }

  /** Counted: a subject stays subscribed until every screen that subscribed to it has unsubscribed. */
  subscribe(subject: Subject): void {
    const key = JSON.stringify(subject);
    const count = this.#counts.get(key) ?? 0;
    this.#counts.set(key, count + 1);
    if (this.#subjects.has(key)) return;
    this.#subjects.set(key, subject);
    this.#send({ action: 'subscribe', ...subject });
  }

  unsubscribe(subject: Subject): void {
    const key = JSON.stringify(subject);
    const count = (this.#counts.get(key) ?? 0) - 1;
    if (count > 0) {
      this.#counts.set(key, count);
      return;
    }
    this.#counts.delete(key);
    // Later, not now: the next screen often subscribes to the same subject at once, and the service may handle an
    // unsubscribe and a subscribe sent back to back in either order, which could leave it unsubscribed.
    setTimeout(() => {
      if (this.#counts.has(key) || !this.#subjects.delete(key)) return;
      this.#send({ action: 'unsubscribe', ...subject });
    }, 1_000);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#keepalive);
    this.#socket?.close();
  }

  #connect(): void {
    this.#setState('connecting');
    const socket = new WebSocket(`${this.#url}?token=${encodeURIComponent(this.#token())}`);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#pauseMs = 500;
      this.#setState('live');
      for (const subject of this.#subjects.values()) this.#send({ action: 'subscribe', ...subject });
      this.#keepalive = setInterval(() => this.#send({ action: 'ping' }), KEEPALIVE_MS);
    });
    socket.addEventListener('message', (event) => this.#receive(String(event.data)));
    socket.addEventListener('close', () => {
      clearInterval(this.#keepalive);
      if (this.#socket !== socket || this.#closed) return;
      this.#setState('offline');
      this.#retry = setTimeout(() => this.#connect(), this.#pauseMs);
      this.#pauseMs = Math.min(this.#pauseMs * 2, MAX_PAUSE_MS);
    });
  }

  #send(message: object): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #receive(data: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    const version = typeof message.version === 'number' ? message.version : 0;
    switch (message.type) {
      case 'subscribed':
        if (message.payment) this.#payment(message.payment as Payment, version);
        for (const entry of (message.readers ?? []) as { reader: Reader; version: number }[]) {
          this.#reader(entry.reader, entry.version);
        }
        break;
      case 'payment.updated':
        this.#payment(message.payment as Payment, version);
        break;
      case 'reader.updated':
        this.#reader(message.reader as Reader, version);
        break;
      case 'reader.removed':
        if (this.#isNewest(`reader:${message.readerId}`, version)) {
          for (const listener of this.#listeners) listener.readerRemoved(String(message.readerId));
        }
        break;
    }
  }

  #payment(payment: Payment, version: number): void {
    if (!this.#isNewest(`payment:${payment.id}`, version)) return;
    for (const listener of this.#listeners) listener.payment(payment);
  }

  #reader(reader: Reader, version: number): void {
    if (!this.#isNewest(`reader:${reader.id}`, version)) return;
    for (const listener of this.#listeners) listener.reader(reader);
  }

  #isNewest(key: string, version: number): boolean {
    if (version < (this.#versions.get(key) ?? 0)) return false;
    this.#versions.set(key, version);
    return true;
  }

  #setState(state: LiveState): void {
    this.state = state;
    for (const listener of this.#listeners) listener.state(state);
  }
}

/**
 * Stripe's idempotent requests: a POST carrying an `Idempotency-Key` seen before with the same parameters gets
 * the first response again (errors and 5xx included, header `Idempotent-Replayed: true`); with other parameters
 * it is a 400 `idempotency_error`; while the first is still running a 409 `idempotency_key_in_use`. Only
 * requests that began executing are kept, for 24 hours of the emulator's clock.
 */
import type { Clock } from './clock.ts';
import { errors } from './errors.ts';

const KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 255;

/** A response as first sent, to be replayed. */
export interface StoredResponse {
  status: number;
  body: string;
  requestId: string;
  headers: Record<string, string>;
}

interface Entry {
  fingerprint: string;
  createdAt: number;
  response: StoredResponse | null;
}

/** A key whose request completed, as saved to a file. */
export interface SavedKey {
  key: string;
  fingerprint: string;
  createdAt: number;
  response: StoredResponse;
}

/** The outcome of presenting a key: run the request, or replay what the first one answered. */
export type Admission = { kind: 'run' } | { kind: 'replay'; response: StoredResponse };

/** A canonical form of a request: method, path and parameters with sorted keys. */
export function fingerprintOf(method: string, path: string, params: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(canonical);
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  };
  return `${method} ${path} ${JSON.stringify(canonical(params))}`;
}

/** Idempotency keys and the responses stored under them. */
export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Claim `key` for a request, or learn that it must be replayed; throws mismatch / in-use errors. */
  admit(key: string, fingerprint: string): Admission {
    if (key.length > MAX_KEY_LENGTH) throw errors.idempotencyKeyTooLong();
    const now = this.clock.now();
    this.prune(now);
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.entries.set(key, { fingerprint, createdAt: now, response: null });
      return { kind: 'run' };
    }
    if (entry.fingerprint !== fingerprint) throw errors.idempotencyMismatch(key);
    if (entry.response === null) throw errors.idempotencyKeyInUse(key);
    return { kind: 'replay', response: entry.response };
  }

  /** Keep the response of a request that began executing. */
  complete(key: string, response: StoredResponse): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.response = response;
  }

  /** Release a key whose request was rejected before it began executing (validation, missing object). */
  release(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.response === null) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** The keys whose requests completed, oldest first; a request still running dies with the process. */
  saved(): SavedKey[] {
    return [...this.entries].flatMap(([key, entry]) =>
      entry.response === null
        ? []
        : [{ key, fingerprint: entry.fingerprint, createdAt: entry.createdAt, response: entry.response }],
    );
  }

  /** Take back keys saved by an earlier run. */
  restore(keys: SavedKey[]): void {
    for (const { key, fingerprint, createdAt, response } of keys) {
      this.entries.set(key, { fingerprint, createdAt, response });
    }
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.createdAt < KEY_LIFETIME_MS) break;
      if (entry.response !== null) this.entries.delete(key);
    }
  }
}

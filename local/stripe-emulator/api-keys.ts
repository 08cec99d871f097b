/**
 * Rolled API keys (`POST /_emulator/keys/roll`), as the Dashboard's "Roll key…" does at Stripe: the rolled key gets
 * a successor and keeps working until its expiry (now, or in the time chosen), then every request made with it is
 * refused (401 `api_key_expired`). Any other test key works as before, the successor among them.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';
import { errors } from './errors.ts';
import { unixSeconds } from './ids.ts';

/** A key rolled, as the control answers and lists it. */
export interface RolledKey {
  /** The key that was rolled, redacted (`sk_test_…wxyz`). */
  rolledKey: string;
  /** Unix seconds on the emulator's clock from which the rolled key is refused. */
  expiresAt: number;
}

/** A secret key's form as logs show it: its prefix and last four characters. */
export function redactKey(key: string): string {
  const prefix = /^(sk|rk)_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}…${key.slice(-4)}`;
}

export class ApiKeys {
  private readonly clock: Clock;
  /** Rolled key → epoch ms (emulator clock) from which it is refused. */
  private readonly expiries = new Map<string, number>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Roll `key`: a new secret key, and `key` refused from `expireAfterSeconds` on. */
  roll(key: string, expireAfterSeconds: number): RolledKey & { secretKey: string } {
    if (this.expiries.has(key)) throw new RolledAlreadyError(redactKey(key));
    const expiresAtMs = this.clock.now() + expireAfterSeconds * 1000;
    this.expiries.set(key, expiresAtMs);
    return {
      secretKey: `sk_test_${randomBytes(24).toString('hex')}`,
      rolledKey: redactKey(key),
      expiresAt: unixSeconds(expiresAtMs),
    };
  }

  /** Throws Stripe's 401 for a rolled key whose expiry has come. */
  check(key: string): void {
    const expiresAtMs = this.expiries.get(key);
    if (expiresAtMs !== undefined && this.clock.now() >= expiresAtMs) throw errors.expiredApiKey(key);
  }

  list(): RolledKey[] {
    return [...this.expiries].map(([key, expiresAtMs]) => ({
      rolledKey: redactKey(key),
      expiresAt: unixSeconds(expiresAtMs),
    }));
  }

  clear(): void {
    this.expiries.clear();
  }
}

/** The key was rolled before: its successor is the one to roll. */
export class RolledAlreadyError extends Error {
  constructor(redacted: string) {
    super(`${redacted} was rolled already: roll the key that replaced it`);
    this.name = 'RolledAlreadyError';
  }
}

/** Stripe-shaped object ids: a prefix and random base62 characters, as `pi_3NtEKRLkdIwHu7ix3crEirSx`. */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i % bytes.length] ?? 0) % ALPHABET.length];
  return out;
}

/** A new random id, e.g. `newId('pi')`; readers and locations use Stripe's shorter 14-character form. */
export function newId(prefix: string, length = 24): string {
  return `${prefix}_${base62(randomBytes(length), length)}`;
}

/** A stable id derived from `seed`, so seeded readers keep their ids across restarts and resets. */
export function stableId(prefix: string, seed: string, length = 14): string {
  return `${prefix}_${base62(createHash('sha256').update(seed).digest(), length)}`;
}

/** Request ids look like `req_8VwAkRdDqYNzUh`. */
export function newRequestId(): string {
  return newId('req', 14);
}

/** Seconds since the epoch of `ms` (epoch ms on the emulator's clock), the unit of Stripe's `created` fields. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

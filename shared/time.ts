/** Time, in one place: the clock every operation reads, and the units (Stripe speaks in unix seconds, JavaScript in ms). */

/**
 * The clock operations read and wait on. On AWS it is the system clock; locally and in tests it is the Stripe
 * emulator's virtual clock, so moving the emulator's time moves the handlers' time with it.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves once `ms` of this clock's time has passed. */
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** The whole unix second `ms` falls in (Stripe's `created`, a DynamoDB TTL). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * A run's time: when it must stop taking new work, and the spacing of its Stripe calls so that a run over many
 * candidates stays well under Stripe's rate limit (25 requests/s in test mode, 100/s live, shared with the API).
 */

import type { Clock } from '../time.ts';

/** Hands out turns for Stripe calls, at least `intervalMs` apart (in the order they are asked for). */
export interface StripeCallPacer {
  /** Resolves when the next call may start. */
  turn(): Promise<void>;
  /** Turns handed out so far. */
  readonly calls: number;
}

/** A pacer whose first call goes out at once and every later one `intervalMs` after the one before. */
export function createStripeCallPacer(intervalMs: number, clock: Clock): StripeCallPacer {
  let nextAt = Number.NEGATIVE_INFINITY;
  let calls = 0;
  return {
    async turn() {
      // The slot is claimed before waiting, so calls asked for together still go out one interval apart.
      const at = Math.max(clock.now(), nextAt);
      nextAt = at + intervalMs;
      calls += 1;
      const wait = at - clock.now();
      if (wait > 0) await clock.sleep(wait);
    },
    get calls() {
      return calls;
    },
  };
}

/** Whether the run may still start work on another candidate. */
export interface RunBudget {
  hasTime(): boolean;
  readonly deadlineMs: number;
}

/** A budget that has time while the clock is before `deadlineMs`. */
export function createRunBudget(deadlineMs: number, clock: Clock): RunBudget {
  return {
    hasTime: () => clock.now() < deadlineMs,
    deadlineMs,
  };
}

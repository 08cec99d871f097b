/**
 * Timers the emulator owns (authorizations, card reads, capture expiry, webhook delays and retries, reader command
 * latency), on the virtual clock: advancing the clock runs the ones it passes. Cleared together on reset and close.
 */
import type { ClockTimer, EmulatorClock } from '../clock.ts';

/** A set of timers on the clock that can all be cancelled at once; none keeps the process alive. */
export class Timers {
  private readonly clock: EmulatorClock;
  private readonly pending = new Set<ClockTimer>();
  private readonly sleepers = new Set<() => void>();

  constructor(clock: EmulatorClock) {
    this.clock = clock;
  }

  /** Run `task` once `delayMs` of the clock's time has passed. */
  after(delayMs: number, task: () => void): ClockTimer {
    return this.at(this.clock.now() + Math.max(0, delayMs), task);
  }

  /** Run `task` at `dueMs` (epoch ms on the clock); at once when that has passed. */
  at(dueMs: number, task: () => void): ClockTimer {
    const timer = this.clock.at(dueMs, () => {
      this.pending.delete(timer);
      task();
    });
    this.pending.add(timer);
    return timer;
  }

  /** A promise resolved after `delayMs` of the clock's time, or at once on `clearAll` so no request waits forever. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.sleepers.delete(wake);
        resolve();
      };
      this.sleepers.add(wake);
      this.after(delayMs, wake);
    });
  }

  cancel(timer: ClockTimer | undefined): void {
    if (timer === undefined) return;
    this.clock.cancel(timer);
    this.pending.delete(timer);
  }

  clearAll(): void {
    for (const timer of this.pending) this.clock.cancel(timer);
    this.pending.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}

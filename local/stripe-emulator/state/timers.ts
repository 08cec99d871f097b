/** Timers the emulator owns (authorizations, capture expiry, webhook retries), cleared together on reset and close. */

/** Node's longest timer; a longer wait (a capture window of weeks) is re-checked on each request instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A set of unref'd timers that can all be cancelled at once. */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();

  /** Run `task` after `delayMs`; the timer never keeps the process alive on its own. */
  after(delayMs: number, task: () => void): NodeJS.Timeout {
    const handle = setTimeout(
      () => {
        this.pending.delete(handle);
        task();
      },
      Math.min(Math.max(0, delayMs), MAX_TIMER_MS),
    );
    handle.unref();
    this.pending.add(handle);
    return handle;
  }

  /** A promise resolved after `delayMs`, or at once on `clearAll` so no request waits forever. */
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

  cancel(handle: NodeJS.Timeout | undefined): void {
    if (handle === undefined) return;
    clearTimeout(handle);
    this.pending.delete(handle);
  }

  clearAll(): void {
    for (const handle of this.pending) clearTimeout(handle);
    this.pending.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}

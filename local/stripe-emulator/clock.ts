/**
 * The emulator's virtual clock: wall time plus an offset that only grows, so time passes on its own and can also
 * be moved forward (`POST /_emulator/clock/advance`) to reach a capture window's end or a webhook retry without
 * waiting for it. Every time the emulator reads or waits for goes through it: `created` of objects and events,
 * authorization delays, capture expiry, webhook backoff and signatures, `last_seen_at`, idempotency key retention.
 *
 * Tasks scheduled on the clock run at their virtual due time: advancing runs at once, in due order, every task
 * that falls due; the others still fire by wall time when their virtual due time comes. The clock satisfies
 * `Clock` (`{ now(): number }`), so one object can be handed to the emulator and to the Lambda handlers of an
 * in-process stack, which then move together.
 */

/** What reads the time: epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** A task scheduled on the clock; pass it to `cancel` to drop it. */
export interface ClockTimer {
  /** When it is due, in the clock's epoch milliseconds. */
  readonly dueMs: number;
}

/** What `GET /_emulator/clock` answers. */
export interface ClockState {
  /** The clock's time in unix seconds, as Stripe's `created` fields show it. */
  now: number;
  /** The clock's time in epoch milliseconds. */
  nowMs: number;
  /** How far the clock has been moved ahead of wall time in all, in seconds. */
  advancedSeconds: number;
}

/** The clock as the state file keeps it, so a restarted emulator does not go back in time. */
export interface SavedClock {
  offsetMs: number;
  /** The clock's time when saved: a later run never starts before it, even if the wall clock went back. */
  nowMs: number;
}

interface Scheduled extends ClockTimer {
  readonly order: number;
  readonly task: () => void;
}

/** Node's longest timer; a later due time is looked at again when it runs out. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Wall time plus a forward offset, with tasks scheduled in virtual time. */
export class EmulatorClock implements Clock {
  private offsetMs = 0;
  /** Scheduled tasks by due time, then by scheduling order. */
  private readonly queue: Scheduled[] = [];
  private scheduled = 0;
  /** The one wall timer, set for the first task in the queue; unref'd, so it never keeps the process alive. */
  private wake: NodeJS.Timeout | null = null;

  /** The clock's time, in epoch milliseconds. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** How far the clock is ahead of wall time, in milliseconds. */
  get offset(): number {
    return this.offsetMs;
  }

  /** The clock as `GET /_emulator/clock` shows it. */
  state(): ClockState {
    const nowMs = this.now();
    return { now: Math.floor(nowMs / 1000), nowMs, advancedSeconds: this.offsetMs / 1000 };
  }

  /**
   * Move the clock `seconds` forward (a finite number ≥ 0; fractions to the millisecond) and run every task due
   * by then, in due order. Each task sees the clock at its own due time, so what it creates is dated when it was
   * due, and a task it schedules within the advanced span runs too.
   */
  advance(seconds: number): ClockState {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError(`the clock moves forward only: seconds must be a finite number ≥ 0, got ${seconds}`);
    }
    this.moveTo(this.offsetMs + Math.round(seconds * 1000));
    return this.state();
  }

  /** Run `task` at `dueMs` (epoch ms on this clock); at once, through the wall timer, when that has passed. */
  at(dueMs: number, task: () => void): ClockTimer {
    const timer: Scheduled = { dueMs, order: this.scheduled++, task };
    // After every task due at the same time or earlier: equal due times run in scheduling order.
    let low = 0;
    let high = this.queue.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.queue[middle]?.dueMs ?? 0) <= dueMs) low = middle + 1;
      else high = middle;
    }
    this.queue.splice(low, 0, timer);
    if (low === 0) this.arm();
    return timer;
  }

  /** Run `task` once `delayMs` of the clock's time has passed. */
  after(delayMs: number, task: () => void): ClockTimer {
    return this.at(this.now() + Math.max(0, delayMs), task);
  }

  /** Drop a scheduled task; nothing happens when it already ran or was dropped. */
  cancel(timer: ClockTimer): void {
    const index = this.queue.indexOf(timer as Scheduled);
    if (index === -1) return;
    this.queue.splice(index, 1);
    if (index === 0) this.arm();
  }

  /** The clock to save in the state file. */
  saved(): SavedClock {
    return { offsetMs: this.offsetMs, nowMs: this.now() };
  }

  /** Go on from a clock an earlier run saved: never earlier than it was then, nor than this clock is now. */
  restore(saved: SavedClock): void {
    this.moveTo(Math.max(saved.offsetMs, Math.ceil(saved.nowMs - Date.now())));
  }

  /** Move the offset forward to `offsetMs` (never back), running the tasks that fall due on the way. */
  private moveTo(offsetMs: number): void {
    try {
      for (;;) {
        const next = this.queue[0];
        if (next === undefined || next.dueMs > Date.now() + offsetMs) break;
        this.queue.shift();
        this.offsetMs = Math.max(this.offsetMs, next.dueMs - Date.now());
        next.task();
      }
    } finally {
      this.offsetMs = Math.max(this.offsetMs, offsetMs);
      this.arm();
    }
  }

  /** Run the tasks due by wall time; those they schedule for now wait for the next turn, as `setTimeout`'s do. */
  private runDue(): void {
    this.wake = null;
    const now = this.now();
    const scheduledBefore = this.scheduled;
    try {
      for (;;) {
        const next = this.queue[0];
        if (next === undefined || next.dueMs > now || next.order >= scheduledBefore) break;
        this.queue.shift();
        next.task();
      }
    } finally {
      this.arm();
    }
  }

  /** Set the wall timer for the first task in the queue. */
  private arm(): void {
    if (this.wake !== null) clearTimeout(this.wake);
    this.wake = null;
    const next = this.queue[0];
    if (next === undefined) return;
    this.wake = setTimeout(() => this.runDue(), Math.min(Math.max(0, next.dueMs - this.now()), MAX_TIMER_MS));
    this.wake.unref();
  }
}

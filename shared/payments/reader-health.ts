/**
 * A reader's health as the POS and the fleet view see it: whether it can take a payment now. Pure: the store
 * passes in since when the reader has been offline or busy with its action, and the clock.
 */
import type { ReaderActionSnapshot, ReaderHealth, ReaderSnapshot } from './types.ts';

/** Since when (ISO times, our clock) a reader has been in its current state, as the table keeps it. */
export interface ReaderSince {
  /** When its current action was first seen `in_progress`; null without an action in progress. */
  actionSince: string | null;
  /** When it was first seen offline; null while online. */
  offlineSince: string | null;
}

/** What tells one action in progress from the next: Stripe's action has no id of its own. */
function runningAction(action: ReaderActionSnapshot | null): string | null {
  if (action === null || action.status !== 'in_progress') return null;
  return JSON.stringify([action.type, action.paymentIntentId, action.refundKey ?? null]);
}

/**
 * Since when the reader has been offline and busy with its action: the stored times are carried while the status
 * and the running action are the ones stored, and start at `now` when they change.
 */
export function readerSince(
  reader: Pick<ReaderSnapshot, 'status' | 'action'>,
  stored: (ReaderSince & Pick<ReaderSnapshot, 'status' | 'action'>) | undefined,
  now: Date,
): ReaderSince {
  const running = runningAction(reader.action);
  const sameAction = running !== null && stored !== undefined && runningAction(stored.action) === running;
  const stillOffline = reader.status === 'offline' && stored?.status === 'offline';
  return {
    actionSince: running === null ? null : sameAction ? (stored.actionSince ?? now.toISOString()) : now.toISOString(),
    offlineSince:
      reader.status !== 'offline'
        ? null
        : stillOffline
          ? (stored.offlineSince ?? now.toISOString())
          : now.toISOString(),
  };
}

/**
 * `offline` when Stripe says so; `stuck` when its action has been `in_progress` longer than `stuckAfterMs`
 * (`STUCK_ACTION_AFTER_SECONDS`); `busy` while an action is in progress; else `ready`. Without `actionSince` (a
 * reader just read from Stripe, not stored) an action in progress is `busy`.
 */
export function readerHealth(
  reader: Pick<ReaderSnapshot, 'status' | 'action'>,
  actionSince: string | null,
  nowMs: number,
  stuckAfterMs: number,
): ReaderHealth {
  if (reader.status === 'offline') return 'offline';
  if (reader.action?.status !== 'in_progress') return 'ready';
  if (actionSince !== null && nowMs - Date.parse(actionSince) > stuckAfterMs) return 'stuck';
  return 'busy';
}

/** `STUCK_ACTION_AFTER_SECONDS` in milliseconds. */
export function stuckAfterMs(settings: { STUCK_ACTION_AFTER_SECONDS: number }): number {
  return Math.round(settings.STUCK_ACTION_AFTER_SECONDS * 1000);
}

/** The health a read alone shows, not knowing since when its action has run: `busy`, never `stuck`. */
export function healthAsRead(reader: Pick<ReaderSnapshot, 'status' | 'action'>): ReaderHealth {
  return readerHealth(reader, null, 0, 0);
}

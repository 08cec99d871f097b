/**
 * The reconciler's thresholds, turned from the environment's units (seconds, hours) into milliseconds once,
 * and the index cutoffs they give at a moment. Pure: the run passes in `config()` and the clock.
 */
import type { Config } from '../config.ts';

export type StaleAuthorizationAction = Config['STALE_AUTHORIZATION_ACTION'];

export interface ReconcileSettings {
  /** A reader action `in_progress` longer than this is looked at (`STUCK_ACTION_AFTER_SECONDS`). */
  stuckAfterMs: number;
  /** A reader offline longer than this is counted in `ReadersOffline` (`READER_OFFLINE_ALERT_AFTER_SECONDS`). */
  readerOfflineAlertAfterMs: number;
  /** A stuck action older than this is cancelled on the reader; null: never (`AUTO_CANCEL_STUCK_AFTER_SECONDS`). */
  autoCancelAfterMs: number | null;
  /** An authorization older than this is flagged `capture_deadline_approaching` (`CAPTURE_WARNING_AFTER_HOURS`). */
  captureWarningAfterMs: number;
  /** What to do with an authorization past the warning age (`STALE_AUTHORIZATION_ACTION`). */
  staleAuthorizationAction: StaleAuthorizationAction;
  /** Minimum spacing of the run's Stripe calls (`RECONCILE_STRIPE_CALL_INTERVAL_MS`). */
  stripeCallIntervalMs: number;
  /** Time a run may spend taking new work (`RECONCILE_TIME_BUDGET_MS`). */
  timeBudgetMs: number;
  /** Longest a single Stripe call can take (`STRIPE_TIMEOUT_MS`): a run keeps that much room before its timeout. */
  stripeTimeoutMs: number;
}

type ReconcileConfig = Pick<
  Config,
  | 'STUCK_ACTION_AFTER_SECONDS'
  | 'READER_OFFLINE_ALERT_AFTER_SECONDS'
  | 'AUTO_CANCEL_STUCK_AFTER_SECONDS'
  | 'CAPTURE_WARNING_AFTER_HOURS'
  | 'STALE_AUTHORIZATION_ACTION'
  | 'RECONCILE_STRIPE_CALL_INTERVAL_MS'
  | 'RECONCILE_TIME_BUDGET_MS'
  | 'STRIPE_TIMEOUT_MS'
>;

/** The reconciler's settings from the process configuration (fractions allowed, so tests can use seconds). */
export function reconcileSettings(config: ReconcileConfig): ReconcileSettings {
  const ms = (seconds: number) => Math.round(seconds * 1000);
  return {
    stuckAfterMs: ms(config.STUCK_ACTION_AFTER_SECONDS),
    readerOfflineAlertAfterMs: ms(config.READER_OFFLINE_ALERT_AFTER_SECONDS),
    autoCancelAfterMs:
      config.AUTO_CANCEL_STUCK_AFTER_SECONDS === undefined ? null : ms(config.AUTO_CANCEL_STUCK_AFTER_SECONDS),
    captureWarningAfterMs: ms(config.CAPTURE_WARNING_AFTER_HOURS * 60 * 60),
    staleAuthorizationAction: config.STALE_AUTHORIZATION_ACTION,
    stripeCallIntervalMs: config.RECONCILE_STRIPE_CALL_INTERVAL_MS,
    timeBudgetMs: config.RECONCILE_TIME_BUDGET_MS,
    stripeTimeoutMs: config.STRIPE_TIMEOUT_MS,
  };
}

/** Upper bounds (inclusive, ISO times) of the sort keys of each sparse index's candidates at `nowMs`. */
export interface CandidateCutoffs {
  /** `activeReaderActions.actionStartedAt`: actions started at or before this are stuck. */
  actionStartedBy: string;
  /** `awaitingCaptureByAge.authorizedAt`: authorizations made at or before this need a warning. */
  authorizedBy: string;
  /** `awaitingCaptureByDeadline.captureBefore`: deadlines at or before this have passed. */
  captureDeadlineBy: string;
  /** `unsettledRefunds.refundCheckAt`: payments whose next look at their refunds is due. */
  refundCheckBy: string;
}

/** The cutoffs of a run that starts at `nowMs`. */
export function candidateCutoffs(nowMs: number, settings: ReconcileSettings): CandidateCutoffs {
  return {
    actionStartedBy: new Date(nowMs - settings.stuckAfterMs).toISOString(),
    authorizedBy: new Date(nowMs - settings.captureWarningAfterMs).toISOString(),
    captureDeadlineBy: new Date(nowMs).toISOString(),
    refundCheckBy: new Date(nowMs).toISOString(),
  };
}

/**
 * When a run stops taking new work: at the end of its time budget, and in any case one Stripe timeout before the
 * Lambda's own timeout, so the call in flight and the write that records it still finish.
 */
export function runDeadline(input: {
  startedAtMs: number;
  remainingMs: number;
  settings: Pick<ReconcileSettings, 'timeBudgetMs' | 'stripeTimeoutMs'>;
}): number {
  const { startedAtMs, remainingMs, settings } = input;
  return startedAtMs + Math.min(settings.timeBudgetMs, remainingMs - settings.stripeTimeoutMs);
}

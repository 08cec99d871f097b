/**
 * Flag changes and the metrics they count. A flag change is reported by the one write that made it (its
 * version-conditional write succeeded), so each set or clear is logged and counted once, even when two runs race.
 */
import { paymentRiskMetrics } from '../metrics-names.ts';
import type { PaymentFlag } from '../payments/types.ts';
import { PAYMENT_FLAGS } from '../payments/types.ts';

export interface FlagChange {
  flag: PaymentFlag;
  change: 'set' | 'cleared';
}

/** The flags raised and cleared between two versions of a payment, in `PAYMENT_FLAGS` order. */
export function flagChanges(before: readonly PaymentFlag[], after: readonly PaymentFlag[]): FlagChange[] {
  const changes: FlagChange[] = [];
  for (const flag of PAYMENT_FLAGS) {
    const was = before.includes(flag);
    const is = after.includes(flag);
    if (!was && is) changes.push({ flag, change: 'set' });
    if (was && !is) changes.push({ flag, change: 'cleared' });
  }
  return changes;
}

/** Raising a flag counts under the payment-risk metric the CDK app alarms on. */
export const flagSetMetrics = {
  reader_stuck: paymentRiskMetrics.stuckReaders,
  capture_deadline_approaching: paymentRiskMetrics.captureDeadlineApproaching,
  authorization_expired: paymentRiskMetrics.authorizationsExpired,
} as const satisfies Record<PaymentFlag, string>;

/** Clearing a flag counts under the same name with `Cleared` appended (no alarm: the risk went away). */
export const flagClearedMetrics = {
  reader_stuck: `${paymentRiskMetrics.stuckReaders}Cleared`,
  capture_deadline_approaching: `${paymentRiskMetrics.captureDeadlineApproaching}Cleared`,
  authorization_expired: `${paymentRiskMetrics.authorizationsExpired}Cleared`,
} as const satisfies Record<PaymentFlag, string>;

/** The reconciler's other counts, published once per run. */
export const reconcileMetrics = {
  /** Stripe outcomes the record lacked (a lost or late webhook), recorded from a read. */
  reconciledOutcomes: 'ReconciledOutcomes',
  /** Stuck reader actions the reconciler cancelled (`AUTO_CANCEL_STUCK_AFTER_SECONDS`). */
  stuckActionsCanceled: 'StuckActionsCanceled',
  /** Aging authorizations captured or cancelled by `STALE_AUTHORIZATION_ACTION`. */
  staleAuthorizationsCaptured: 'StaleAuthorizationsCaptured',
  staleAuthorizationsCanceled: 'StaleAuthorizationsCanceled',
  /** Payments whose reconciliation failed this run (retried on the next). */
  reconcileFailures: 'ReconcileFailures',
  /** Refunds left unsettled (events late or lost, requests cut short) that a run found settled. */
  refundsSettled: 'ReconciledRefunds',
  /** Candidates read from the sparse indexes. */
  reconcileCandidates: 'ReconcileCandidates',
  /** Runs that stopped at their time budget with candidates left for the next run. */
  reconcileRunsCutShort: 'ReconcileRunsCutShort',
} as const;

/** Every flag at zero: a run publishes each risk metric, so its graph shows quiet runs too. */
export function noFlagCounts(): Record<PaymentFlag, number> {
  return Object.fromEntries(PAYMENT_FLAGS.map((flag) => [flag, 0])) as Record<PaymentFlag, number>;
}

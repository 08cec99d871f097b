/**
 * Names of the custom CloudWatch metrics the payment path emits (Powertools Metrics, EMF), defined once:
 * the reconciler publishes them and the CDK app alarms on them, so a rename cannot silently break an alarm.
 */

/** Default `POWERTOOLS_METRICS_NAMESPACE`: the namespace every custom metric of this service lives in. */
export const METRICS_NAMESPACE = 'TerminalPayments';

/** Custom metrics that mean money or a checkout is at risk; each one has an alarm. */
export const paymentRiskMetrics = {
  /** Readers whose action stayed `in_progress` past `STUCK_ACTION_AFTER_SECONDS` (a cashier is waiting). */
  stuckReaders: 'StuckReaders',
  /** Authorized payments past `CAPTURE_WARNING_AFTER_HOURS`: capture them before Stripe releases the funds. */
  captureDeadlineApproaching: 'CaptureDeadlineApproaching',
  /** Authorizations that passed `captureBefore` uncaptured: the funds went back to the customer. */
  authorizationsExpired: 'AuthorizationsExpired',
  /** Refunds that failed at Stripe (or that Stripe refused to make): the customer's money did not go back. */
  refundsFailed: 'RefundsFailed',
} as const;

/**
 * How many payments carry each money-at-risk flag now, counted by the reconciler at the end of every run: the alarms
 * watch these gauges, so an alarm stays raised while the money is still at risk (the `paymentRiskMetrics` of the
 * flags count only the run that raised them).
 */
export const paymentRiskGauges = {
  stuckReaders: 'PaymentsStuckOnReader',
  captureDeadlineApproaching: 'PaymentsNearCaptureDeadline',
  authorizationsExpired: 'PaymentsAuthorizationExpired',
} as const;

/** One per reconciler run, whatever it found: the heartbeat its alarm watches (no data means no run). */
export const RECONCILER_HEARTBEAT_METRIC = 'ReconcileRuns';

/** The dimension every custom metric carries: the stage, so two stages in one account never share an alarm. */
export const STAGE_DIMENSION = 'stage';

/** The reader fleet's health, as the reconciler finds it once per run. */
export const readerFleetMetrics = {
  /** Readers offline longer than `READER_OFFLINE_ALERT_AFTER_SECONDS`. */
  readersOffline: 'ReadersOffline',
  /** Readers whose action has been `in_progress` longer than `STUCK_ACTION_AFTER_SECONDS`. */
  readersStuck: 'ReadersStuck',
} as const;

export type PaymentRiskMetric = (typeof paymentRiskMetrics)[keyof typeof paymentRiskMetrics];

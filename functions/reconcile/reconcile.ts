/**
 * EventBridge Scheduler, every minute (locally the scheduler timer) → the reconciler: the reader fleet's health,
 * stuck reader actions, missed webhooks, authorizations nearing or past their capture deadline. Each run reads only
 * the sparse indexes' candidates, spaces its Stripe calls, stops taking new work before its time is up, and publishes what it did as
 * metrics (EMF): the flags it raised and cleared under the names the alarms watch, and the outcomes it recorded.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { Dependencies } from '../../shared/dependencies.ts';
import { environmentDependencies } from '../../shared/environment.ts';
import { injectable } from '../../shared/injectable.ts';
import { serviceMetrics } from '../../shared/metrics.ts';
import {
  paymentRiskGauges,
  paymentRiskMetrics,
  RECONCILER_HEARTBEAT_METRIC,
  readerFleetMetrics,
} from '../../shared/metrics-names.ts';
import { reconcile } from '../../shared/operations/reconcile.ts';
import type { PaymentFlag } from '../../shared/payments/types.ts';
import { flagClearedMetrics, flagSetMetrics, reconcileMetrics } from '../../shared/reconcile/flags.ts';
import type { ReconcileSummary } from '../../shared/reconcile/run-context.ts';
import { reconcileSettings, runDeadline } from '../../shared/reconcile/settings.ts';

const logger = new Logger({ serviceName: 'reconciler' });
const metrics = serviceMetrics('reconciler');

export const handler = injectable(
  (deps: () => Dependencies) => (_event: ScheduledEvent, context: Context) => run(deps(), context),
  environmentDependencies,
);

async function run(deps: Dependencies, context: Context): Promise<ReconcileSummary> {
  logger.addContext(context);
  const settings = reconcileSettings(deps.settings);
  const deadlineMs = runDeadline({
    startedAtMs: deps.clock.now(),
    remainingMs: context.getRemainingTimeInMillis(),
    settings,
  });
  const summary = await reconcile(deps, { logger, settings, deadlineMs });
  publish(summary);
  // A run that found nothing is the normal case: keep it out of the INFO log (it runs every minute).
  const quiet = Object.values(summary.candidates).every((count) => count === 0) && summary.failures === 0;
  if (quiet) logger.debug('Reconcile run finished', { summary });
  else logger.info('Reconcile run finished', { summary });
  return summary;
}

/** One EMF document per run; every metric is published, zeros included, so quiet runs show on the graphs. */
function publish(summary: ReconcileSummary): void {
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  for (const flag of Object.keys(flagSetMetrics) as PaymentFlag[]) {
    count(flagSetMetrics[flag], summary.flagsSet[flag]);
    count(flagClearedMetrics[flag], summary.flagsCleared[flag]);
  }
  count(reconcileMetrics.reconciledOutcomes, summary.outcomesRecorded);
  count(reconcileMetrics.stuckActionsCanceled, summary.actionsCanceled);
  count(reconcileMetrics.staleAuthorizationsCaptured, summary.authorizationsCaptured);
  count(reconcileMetrics.staleAuthorizationsCanceled, summary.authorizationsCanceled);
  count(reconcileMetrics.reconcileFailures, summary.failures);
  count(reconcileMetrics.refundsSettled, summary.refundsSettled);
  count(paymentRiskMetrics.refundsFailed, summary.refundsFailed);
  count(
    reconcileMetrics.reconcileCandidates,
    Object.values(summary.candidates).reduce((sum, n) => sum + n, 0),
  );
  count(reconcileMetrics.reconcileRunsCutShort, summary.cutShort ? 1 : 0);
  count(readerFleetMetrics.readersOffline, summary.readersOfflineAlerting);
  count(readerFleetMetrics.readersStuck, summary.readersStuck);
  count(paymentRiskGauges.stuckReaders, summary.flaggedNow.reader_stuck);
  count(paymentRiskGauges.captureDeadlineApproaching, summary.flaggedNow.capture_deadline_approaching);
  count(paymentRiskGauges.authorizationsExpired, summary.flaggedNow.authorization_expired);
  count(RECONCILER_HEARTBEAT_METRIC, 1);
  metrics.publishStoredMetrics();
}

/**
 * The custom metrics of one function (Powertools Metrics, EMF): the service's namespace, and the stage as a
 * dimension of every metric, so two stages sharing an account and region never feed each other's alarms.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, STAGE_DIMENSION } from './metrics-names.ts';

export function serviceMetrics(serviceName: string): Metrics {
  return new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName,
    defaultDimensions: { [STAGE_DIMENSION]: process.env.STAGE || 'local' },
  });
}

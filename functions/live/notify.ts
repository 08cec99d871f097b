/**
 * The table's change stream (event source mapping with a filter: payment and reader items only;
 * ReportBatchItemFailures, bisect on error) → `payment.updated` / `reader.updated` to every subscribed connection.
 *
 * Records are published in stream order. A connection that is gone is removed; one that fails is counted and
 * skipped; neither fails the batch. A record whose subscribers cannot be read fails, and the stream delivers it
 * and those after it again: clients may then get a message twice, which its `version` makes harmless.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../../shared/http/logger.ts';
import { injectable } from '../../shared/injectable.ts';
import { liveLimits } from '../../shared/live/definition.ts';
import { type LiveDependencies, liveStoreOnlyDependencies } from '../../shared/live/dependencies.ts';
import { serviceMetrics } from '../../shared/metrics.ts';
import { type ItemChange, publicationOf, publish } from '../../shared/operations/publish-change.ts';

const metrics = serviceMetrics('live-notifier');

export const handler = injectable(
  (deps: () => LiveDependencies) =>
    async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
      logger.addContext(context);
      const live = deps();
      const totals = { sent: 0, gone: 0, failed: 0 };
      try {
        for (const record of event.Records) {
          const change = changeOf(record);
          const publication = change === undefined ? undefined : publicationOf(change);
          if (publication === undefined) continue;
          try {
            const delivery = await publish(live, publication, {
              concurrency: liveLimits.fanOutConcurrency,
              onFailure: (connectionId, error) =>
                logger.warn('Live update not delivered', { connectionId, error: error as Error }),
            });
            totals.sent += delivery.sent;
            totals.gone += delivery.gone;
            totals.failed += delivery.failed;
          } catch (error) {
            logger.error('Live update not published; the stream delivers it again', {
              sequenceNumber: record.dynamodb?.SequenceNumber,
              error: error as Error,
            });
            return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
          }
        }
        return { batchItemFailures: [] };
      } finally {
        metrics.addMetric('LiveMessagesSent', MetricUnit.Count, totals.sent);
        metrics.addMetric('LiveConnectionsGone', MetricUnit.Count, totals.gone);
        metrics.addMetric('LiveDeliveryFailures', MetricUnit.Count, totals.failed);
        metrics.publishStoredMetrics();
      }
    },
  liveStoreOnlyDependencies,
);

function changeOf(record: DynamoDBRecord): ItemChange | undefined {
  const { NewImage, OldImage } = record.dynamodb ?? {};
  if (NewImage === undefined) return undefined;
  return {
    newItem: unmarshall(NewImage as Record<string, AttributeValue>),
    ...(OldImage === undefined ? {} : { oldItem: unmarshall(OldImage as Record<string, AttributeValue>) }),
  };
}

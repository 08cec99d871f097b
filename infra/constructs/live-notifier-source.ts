/**
 * The notifier reads the table's change stream with the settings of `shared/live/definition.ts` `notifierStream`
 * (the local stack's stream poller reads DynamoDB Local's with the same ones): only payment and reader items wake
 * it, failed records are reported one by one, a failing batch is split until the record at fault is alone, and a
 * batch that still fails after its retries, or grew too old, is described in a dead-letter queue (alarmed).
 *
 * The event source mapping reads the stream and writes to that queue with the notifier's role: those grants are
 * the Lambda service's, not the function code's. It invokes the notifier's `live` alias.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { notifierStream } from '../../shared/live/definition.ts';
import type { StageSettings } from '../settings.ts';
import { failureDestinationQueue } from './failure-destination-queue.ts';

export class LiveNotifierSource extends Construct {
  /** Where a stream batch the notifier could not handle is described (shard, sequence numbers), not its records. */
  readonly deadLetterQueue: Queue;
  readonly eventSource: DynamoEventSource;

  /** `notifier`: the notifier's `live` alias. */
  constructor(scope: Construct, id: string, props: { table: ITableV2; notifier: IFunction; settings: StageSettings }) {
    super(scope, id);
    this.deadLetterQueue = failureDestinationQueue(this, 'DeadLetters', {
      removalPolicy: props.settings.removalPolicy,
      receives: "the stream event source mapping's on-failure destination (DestinationConfig.OnFailure)",
    });

    this.eventSource = new DynamoEventSource(props.table, {
      startingPosition: StartingPosition[notifierStream.startingPosition],
      batchSize: notifierStream.batchSize,
      ...(notifierStream.maxBatchingWindowSeconds > 0
        ? { maxBatchingWindow: Duration.seconds(notifierStream.maxBatchingWindowSeconds) }
        : {}),
      bisectBatchOnError: notifierStream.bisectBatchOnError,
      retryAttempts: notifierStream.retryAttempts,
      maxRecordAge: Duration.seconds(notifierStream.maxRecordAgeSeconds),
      reportBatchItemFailures: notifierStream.reportBatchItemFailures,
      parallelizationFactor: notifierStream.parallelizationFactor,
      filters: notifierStream.filterPatterns.map((pattern) => FilterCriteria.filter(pattern)),
      onFailure: new SqsDlq(this.deadLetterQueue),
    });
    props.notifier.addEventSource(this.eventSource);
  }
}

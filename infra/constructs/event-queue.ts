/**
 * The queue between the webhook receiver and the event processor, from `shared/queue/definition.ts` (the
 * local stack builds its queue from the same numbers). A record the processor fails `maxReceiveCount` times
 * moves to the dead-letter queue, where an alarm and the runbook pick it up.
 */
import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { eventQueue } from '../../shared/queue/definition.ts';
import type { StageSettings } from '../settings.ts';

export class EventQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: { settings: StageSettings }) {
    super(scope, id);
    const { settings } = props;
    // AWS advises a visibility timeout of at least 6× the function timeout for an SQS event source,
    // or a record still being processed is delivered again to a second invocation.
    if (eventQueue.visibilityTimeoutSeconds < 6 * eventQueue.processorTimeoutSeconds) {
      throw new Error(
        'shared/queue/definition.ts: visibilityTimeoutSeconds must be at least 6× processorTimeoutSeconds',
      );
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(eventQueue.dlqRetentionSeconds),
      removalPolicy: settings.removalPolicy,
    });
    this.queue = new Queue(this, 'Queue', {
      // SQS-managed keys: encrypted at rest with no key policy for every producer and consumer to share.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(eventQueue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(eventQueue.messageRetentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: eventQueue.maxReceiveCount },
      removalPolicy: settings.removalPolicy,
    });
  }
}

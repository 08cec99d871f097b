/**
 * A queue that receives what a service could not deliver (a schedule's failed invocations, a stream mapping's
 * skipped batches): encrypted, TLS only, kept 14 days. It is not an SQS redrive target, so cdk-nag's dead-letter
 * rule (AwsSolutions-SQS3) does not recognise it as one; an alarm fires on its first message.
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export function failureDestinationQueue(
  scope: Construct,
  id: string,
  props: { removalPolicy: RemovalPolicy; receives: string },
): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: props.removalPolicy,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is ${props.receives}, not an SQS redrive target, so cdk-nag does not recognise it as a dead-letter queue; an alarm fires on its first message.`,
  });
  return queue;
}

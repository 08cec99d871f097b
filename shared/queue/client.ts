/**
 * The SQS client of the event queue's users (the webhook receiver and the event processor): the local SQS server
 * (`SQS_ENDPOINT`) or AWS.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import { tracedClient } from '../tracing.ts';

export function createQueueClient(settings: Pick<Config, 'AWS_REGION' | 'SQS_ENDPOINT'>): SQSClient {
  return tracedClient(
    new SQSClient({
      region: settings.AWS_REGION,
      ...(settings.SQS_ENDPOINT ? { endpoint: settings.SQS_ENDPOINT } : {}),
    }),
  );
}

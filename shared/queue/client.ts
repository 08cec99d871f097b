/**
 * The SQS client, created once per process (endpoint from config: the local SQS server, or AWS).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { config } from '../config.ts';

let client: SQSClient | undefined;

export function sqs(): SQSClient {
  client ??= new SQSClient({
    region: config().AWS_REGION,
    ...(config().SQS_ENDPOINT ? { endpoint: config().SQS_ENDPOINT } : {}),
  });
  return client;
}

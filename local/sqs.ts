/**
 * The SQS-compatible server (`fauxqs`) with the webhook event queue and its DLQ, created with the attributes
 * of `shared/queue/definition.ts` so the redrive behaviour is the one deployed on AWS.
 */
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { eventQueue } from '../shared/queue/definition.ts';
import { PortInUseError } from './ports.ts';

export interface SqsOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  region?: string;
  queueName?: string;
  /** Overrides of the shared definition, for tests that need redelivery within seconds. */
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
}

export interface LocalSqs {
  endpoint: string;
  port: number;
  region: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  client: SQSClient;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Start the SQS server on `host` and create the event queue and its dead-letter queue. */
export async function startSqs(options: SqsOptions): Promise<LocalSqs> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  // `startFauxqs` always binds 0.0.0.0; the same app from `buildApp` can listen on loopback only.
  const app = buildApp({ logger: false, defaultRegion: region });
  let port: number;
  try {
    await app.listen({ port: options.port, host });
    port = (app.server.address() as AddressInfo).port;
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(options.port, 'SQS_PORT');
    throw error;
  }

  const endpoint = `http://${host}:${port}`;
  const client = new SQSClient({ endpoint, region, credentials });
  const stop = async () => {
    client.destroy();
    await app.close();
  };
  try {
    const queueName = options.queueName ?? 'stripe-events';
    const dlq = await createQueue(client, `${queueName}-dlq`, {
      MessageRetentionPeriod: String(eventQueue.dlqRetentionSeconds),
    });
    const queue = await createQueue(client, queueName, {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? eventQueue.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(eventQueue.messageRetentionSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: options.maxReceiveCount ?? eventQueue.maxReceiveCount,
      }),
    });
    return {
      endpoint,
      port,
      region,
      queueUrl: queue.url,
      queueArn: queue.arn,
      dlqUrl: dlq.url,
      dlqArn: dlq.arn,
      client,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function createQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`The SQS server returned no URL for queue ${name}`);
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  if (!Attributes?.QueueArn) throw new Error(`The SQS server returned no ARN for queue ${name}`);
  return { url: QueueUrl, arn: Attributes.QueueArn };
}

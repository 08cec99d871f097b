/**
 * POST /webhooks/stripe — Stripe's event deliveries (no JWT).
 *
 * Verifies the signature over the exact raw body, queues the events the system acts on, and answers 200
 * only once SQS has accepted the message, so an event answered 200 is never lost. It does nothing else:
 * no DynamoDB, no Stripe API calls; the processor applies the event.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type Config, config } from '../../shared/config.ts';
import { injectable } from '../../shared/injectable.ts';
import { createQueueClient } from '../../shared/queue/client.ts';
import { stripeWebhookSecret } from '../../shared/secrets.ts';
import { isHandledEventType } from '../../shared/stripe/event-types.ts';
import { verifyStripeEvent } from '../../shared/stripe/webhook-signature.ts';
import { type Clock, systemClock } from '../../shared/time.ts';

/** The statuses and error codes this route answers with (`openapi.yaml` is checked against them). */
export const responses = {
  200: [],
  400: ['invalid_payload', 'invalid_signature'],
  500: ['queue_unavailable'],
} as const satisfies Readonly<Record<number, readonly ErrorCode[]>>;

type ErrorCode = 'invalid_signature' | 'invalid_payload' | 'queue_unavailable';

const logger = new Logger({ serviceName: 'webhook-receiver' });

/** The receiver's dependencies: its settings (queue URL, signing secrets), the queue client and the clock. */
export interface ReceiverDependencies {
  settings: Config;
  queue: SQSClient;
  /** Signatures older than five minutes by this clock are refused; the signing secret is read again by it. */
  clock: Clock;
}

let fromEnvironment: ReceiverDependencies | undefined;

function environment(): ReceiverDependencies {
  fromEnvironment ??= { settings: config(), queue: createQueueClient(config()), clock: systemClock };
  return fromEnvironment;
}

export const handler = injectable(
  (deps: () => ReceiverDependencies) => (event: APIGatewayProxyEventV2, context: Context) =>
    receive(deps(), event, context),
  environment,
);

async function receive(
  deps: ReceiverDependencies,
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  const requestId = context.awsRequestId;
  logger.appendKeys({ requestId });
  try {
    const rawBody = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    const secrets = (await stripeWebhookSecret(deps)).split(',').map((secret) => secret.trim());
    const verified = verifyStripeEvent(rawBody, header(event, 'stripe-signature'), secrets, deps.clock.now());
    if (!verified.ok) {
      // Never log the body: it is unverified input.
      logger.warn('Rejected webhook delivery', { code: verified.code, reason: verified.reason, bytes: rawBody.length });
      return error(400, verified.code, messages[verified.code], false, requestId);
    }

    const stripeEvent = verified.event;
    const objectId = (stripeEvent.data.object as { id?: unknown }).id;
    if (!isHandledEventType(stripeEvent.type)) {
      logger.info('Ignored webhook event type', { eventId: stripeEvent.id, eventType: stripeEvent.type });
      return json(200, { received: true }, requestId);
    }

    await deps.queue.send(
      new SendMessageCommand({
        QueueUrl: deps.settings.EVENT_QUEUE_URL,
        MessageBody: rawBody.toString('utf8'),
        MessageAttributes: {
          eventId: { DataType: 'String', StringValue: stripeEvent.id },
          eventType: { DataType: 'String', StringValue: stripeEvent.type },
          ...(typeof objectId === 'string' ? { objectId: { DataType: 'String', StringValue: objectId } } : {}),
        },
      }),
    );
    logger.info('Queued webhook event', { eventId: stripeEvent.id, eventType: stripeEvent.type, objectId });
    return json(200, { received: true }, requestId);
  } catch (cause) {
    // A 5xx makes Stripe deliver the event again later.
    logger.error('Could not queue webhook event', { error: cause as Error });
    return error(500, 'queue_unavailable', messages.queue_unavailable, true, requestId);
  }
}

const messages = {
  invalid_signature: 'The Stripe-Signature header is missing, stale or does not match the body.',
  invalid_payload: 'The signed body is not a Stripe event.',
  queue_unavailable: 'The event could not be queued; Stripe will deliver it again.',
} as const;

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

function json(statusCode: number, body: unknown, requestId: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify(body),
  };
}

function error(
  statusCode: 400 | 500,
  code: (typeof responses)[typeof statusCode][number],
  message: string,
  retryable: boolean,
  requestId: string,
): APIGatewayProxyStructuredResultV2 {
  return json(statusCode, { error: { code, message, retryable, requestId } }, requestId);
}

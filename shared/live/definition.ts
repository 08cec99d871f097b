/**
 * The live-updates WebSocket API (`asyncapi.yaml`), defined once for the CDK app and the local stack: its routes,
 * its limits, and how the notifier reads the table's change stream.
 */

/** API Gateway picks a message's route by its `action` field; anything else goes to `$default`. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

/** Route keys of the messages a client sends, all served by the message function. */
export const MESSAGE_ROUTES = ['subscribe', 'unsubscribe', 'ping', '$default'] as const;

export const liveLimits = {
  /** A client message larger than this is answered `message_too_large` (API Gateway's own frame limit is 32 KB). */
  maxMessageBytes: 4096,
  /** API Gateway closes a connection after 2 hours, or after 10 minutes without a message. */
  maxConnectionSeconds: 2 * 60 * 60,
  idleTimeoutSeconds: 10 * 60,
  /** Connections posted to at once by the notifier, per change. */
  fanOutConcurrency: 32,
} as const;

/**
 * The notifier's event source mapping on the table's stream. Only payment and reader items wake it: the event
 * dedupe items, order claims and the connections' own items change nothing a client sees.
 */
export const notifierStream = {
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  /** A failing batch is split in two until the record at fault is alone, retried, then sent to the DLQ. */
  bisectBatchOnError: true,
  retryAttempts: 5,
  maxRecordAgeSeconds: 60 * 60,
  reportBatchItemFailures: true,
  startingPosition: 'LATEST',
  parallelizationFactor: 1,
  /** EventBridge-style patterns, as Lambda's `FilterCriteria` takes them. */
  filterPatterns: [
    { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { entity: { S: ['payment', 'reader'] } } } },
  ],
} as const;

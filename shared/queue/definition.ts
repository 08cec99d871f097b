/**
 * The webhook event queue, defined once for the CDK app and the local stack.
 */
export const eventQueue = {
  /** The processor Lambda's timeout; the queue's visibility timeout is 6× this, as AWS advises. */
  processorTimeoutSeconds: 30,
  visibilityTimeoutSeconds: 180,
  /** A record that fails this many times moves to the DLQ. */
  maxReceiveCount: 5,
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  /** Upper bound of concurrent processor invocations (SQS event source `maximumConcurrency`). */
  maxConcurrency: 5,
  messageRetentionSeconds: 4 * 24 * 60 * 60,
  dlqRetentionSeconds: 14 * 24 * 60 * 60,
} as const;

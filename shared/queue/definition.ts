/**
 * The webhook event queue, defined once for the CDK app and the local stack.
 */
export const eventQueue = {
  /** The processor Lambda's timeout; the queue's visibility timeout is 6× this, as AWS advises. */
  processorTimeoutSeconds: 30,
  /**
   * Stripe calls one event record can need, at most: a PaymentIntent, its refunds and its reader read; or a reader
   * read, its action cancelled and the PaymentIntent read. The timeout must leave room for all of them
   * (`checkTimeouts` in infra/handler-profiles.ts, at synth).
   */
  stripeCallsPerRecord: 3,
  /**
   * Kept back at the end of an invocation for the records' writes and the answer: every Stripe call of a record ends
   * by then (a record out of time fails alone and comes back), so a slow Stripe never times out a whole batch.
   */
  recordMarginMs: 3_000,
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

/**
 * The local stack as the chaos run needs it: the processor behind the fault hook, redelivery within seconds,
 * short thresholds, the reconciler's timer every few seconds, and the handlers logging at INFO (what is scanned
 * for secrets).
 */
import type { LocalStack, StackOptions } from '../../support/stack.ts';
import { startTestStack } from '../../support/stack.ts';

/** Seconds before SQS hands a failed record out again. */
export const CHAOS_VISIBILITY_TIMEOUT_SECONDS = 2;

export function startChaosStack(options: {
  log: (line: string) => void;
  overrides?: StackOptions;
}): Promise<LocalStack> {
  return startTestStack({
    processEventsEntry: 'test/reliability/fixtures/flaky-process-events.ts',
    reconcileIntervalSeconds: 3,
    queue: { visibilityTimeoutSeconds: CHAOS_VISIBILITY_TIMEOUT_SECONDS, waitTimeSeconds: 1 },
    emulator: { authorizationDelayMs: 60, webhookRetries: 3, webhookRetryBaseMs: 100 },
    env: {
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_METRICS_DISABLED: 'true',
      READER_TIMEOUT_RETRY_DELAY_MS: '100',
      STUCK_ACTION_AFTER_SECONDS: '4',
      RELIABILITY_FAIL_EVERY: '8',
      RELIABILITY_FAIL_BATCH_EVERY: '25',
    },
    log: options.log,
    ...options.overrides,
  });
}

/**
 * The local stack as the chaos run needs it: the processor behind the fault hook, redelivery within seconds,
 * short thresholds, the reconciler's timer every few seconds, and the handlers logging at INFO (what is scanned
 * for secrets).
 */
import type { LocalStack, StackOptions } from '../../support/stack.ts';
import { startTestStack } from '../../support/stack.ts';
import type { ProcessorFaultRates } from '../fixtures/flaky-process-events.ts';

/** Seconds before SQS hands a failed record out again. */
export const CHAOS_VISIBILITY_TIMEOUT_SECONDS = 2;

export function startChaosStack(options: {
  log: (line: string) => void;
  overrides?: StackOptions;
}): Promise<LocalStack> {
  // The fault hook's rates: about one record in 8, one batch in 25.
  (globalThis as { reliabilityFaults?: ProcessorFaultRates }).reliabilityFaults = { failEvery: 8, failBatchEvery: 25 };
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
    },
    log: options.log,
    ...options.overrides,
  });
}

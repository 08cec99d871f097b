/**
 * The reconciler's supporting rules (pure): settings and index cutoffs, the run deadline, Stripe call pacing,
 * flag changes and their metric names, and which reader cache entries a run writes.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config.ts';
import { paymentRiskMetrics } from '../../../shared/metrics-names.ts';
import type { PaymentFlag } from '../../../shared/payments/types.ts';
import { flagChanges, flagClearedMetrics, flagSetMetrics } from '../../../shared/reconcile/flags.ts';
import { createRunBudget, createStripeCallPacer } from '../../../shared/reconcile/pacing.ts';
import { isReplayedAnswer } from '../../../shared/reconcile/run-context.ts';
import { candidateCutoffs, reconcileSettings, runDeadline } from '../../../shared/reconcile/settings.ts';
import type { Clock } from '../../../shared/time.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

/** A clock that moves only when someone sleeps; it records every sleep. */
function fakeClock(start = NOW): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('reconcileSettings', () => {
  it('uses the documented defaults', () => {
    // Act
    const settings = reconcileSettings(parseConfig({ TABLE_NAME: 'payments' }));

    // Assess
    expect(settings).toEqual({
      stuckAfterMs: 120_000,
      readerOfflineAlertAfterMs: 600_000,
      autoCancelAfterMs: null,
      captureWarningAfterMs: 36 * 60 * 60 * 1000,
      staleAuthorizationAction: 'none',
      stripeCallIntervalMs: 50,
      timeBudgetMs: 45_000,
      stripeTimeoutMs: 8_000,
    });
  });

  it('takes fractions, so a local stack can use seconds', () => {
    // Act
    const settings = reconcileSettings(
      parseConfig({
        TABLE_NAME: 'payments',
        STUCK_ACTION_AFTER_SECONDS: '2.5',
        AUTO_CANCEL_STUCK_AFTER_SECONDS: '0',
        CAPTURE_WARNING_AFTER_HOURS: '0.0005',
        STALE_AUTHORIZATION_ACTION: 'capture',
      }),
    );

    // Assess
    expect(settings).toMatchObject({
      stuckAfterMs: 2_500,
      autoCancelAfterMs: 0,
      captureWarningAfterMs: 1_800,
      staleAuthorizationAction: 'capture',
    });
  });
});

describe('candidateCutoffs', () => {
  it("bounds each index's sort key: action start, authorization time, capture deadline", () => {
    // Prepare
    const settings = reconcileSettings(
      parseConfig({ TABLE_NAME: 'payments', STUCK_ACTION_AFTER_SECONDS: '90', CAPTURE_WARNING_AFTER_HOURS: '1.5' }),
    );

    // Act
    const cutoffs = candidateCutoffs(NOW, settings);

    // Assess
    expect(cutoffs).toEqual({
      actionStartedBy: '2026-11-26T11:58:30.000Z',
      authorizedBy: '2026-11-26T10:30:00.000Z',
      captureDeadlineBy: '2026-11-26T12:00:00.000Z',
      refundCheckBy: '2026-11-26T12:00:00.000Z',
    });
  });
});

describe('runDeadline', () => {
  const settings = { timeBudgetMs: 45_000, stripeTimeoutMs: 8_000 };

  it.each([
    ['the time budget, on a fresh 60 s invocation', 60_000, NOW + 45_000],
    ['one Stripe timeout before the Lambda timeout, when that comes first', 30_000, NOW + 22_000],
    ['already passed, when less than one Stripe call fits', 7_000, NOW - 1_000],
  ])('is %s', (_case, remainingMs, expected) => {
    // Act
    const deadline = runDeadline({ startedAtMs: NOW, remainingMs, settings });

    // Assess
    expect(deadline).toBe(expected);
  });
});

describe('createStripeCallPacer', () => {
  it('spaces calls at least the interval apart, also when asked for at once', async () => {
    // Prepare: a clock that stands still, so each wait shows when its call was let out
    const sleeps: number[] = [];
    const clock: Clock = { now: () => NOW, sleep: async (ms) => void sleeps.push(ms) };
    const pacer = createStripeCallPacer(50, clock);

    // Act
    await Promise.all([1, 2, 3].map(() => pacer.turn()));
    await pacer.turn();

    // Assess
    expect(pacer.calls).toBe(4);
    expect(sleeps).toEqual([50, 100, 150]);
  });

  it('does not wait when the previous call was long enough ago', async () => {
    // Prepare
    const clock = fakeClock();
    const pacer = createStripeCallPacer(50, clock);
    await pacer.turn();
    await clock.sleep(80);
    clock.sleeps.length = 0;

    // Act
    await pacer.turn();

    // Assess
    expect(clock.sleeps).toEqual([]);
  });
});

describe('createRunBudget', () => {
  it('has time until the deadline, not at it', async () => {
    // Prepare
    const clock = fakeClock();
    const budget = createRunBudget(NOW + 100, clock);

    // Act
    const before = budget.hasTime();
    await clock.sleep(100);
    const at = budget.hasTime();

    // Assess
    expect([before, at]).toEqual([true, false]);
  });
});

describe('flagChanges', () => {
  it.each<[PaymentFlag[], PaymentFlag[], ReturnType<typeof flagChanges>]>([
    [[], ['reader_stuck'], [{ flag: 'reader_stuck', change: 'set' }]],
    [['reader_stuck'], [], [{ flag: 'reader_stuck', change: 'cleared' }]],
    [
      ['capture_deadline_approaching'],
      ['authorization_expired'],
      [
        { flag: 'capture_deadline_approaching', change: 'cleared' },
        { flag: 'authorization_expired', change: 'set' },
      ],
    ],
    [['reader_stuck'], ['reader_stuck'], []],
  ])('%j → %j', (before, after, expected) => {
    // Act
    const changes = flagChanges(before, after);

    // Assess
    expect(changes).toEqual(expected);
  });

  it('counts each raised flag under the metric the alarms watch, and clears under a name of its own', () => {
    // Assess
    // Every risk metric but failed refunds (counted as they happen, not as a flag) is a flag's.
    const flagRisks = Object.values(paymentRiskMetrics).filter((name) => name !== paymentRiskMetrics.refundsFailed);
    expect(Object.values(flagSetMetrics).sort()).toEqual(flagRisks.sort());
    expect(flagClearedMetrics).toEqual({
      reader_stuck: 'StuckReadersCleared',
      capture_deadline_approaching: 'CaptureDeadlineApproachingCleared',
      authorization_expired: 'AuthorizationsExpiredCleared',
    });
  });
});

describe('isReplayedAnswer', () => {
  it.each([
    [{ id: 'pi_1', lastResponse: { headers: { 'idempotent-replayed': 'true' } } }, true],
    [{ id: 'pi_1', lastResponse: { headers: { 'request-id': 'req_1' } } }, false],
    [{ id: 'pi_1' }, false],
    [undefined, false],
  ])('%j → %s', (answer, expected) => {
    // Act
    const replayed = isReplayedAnswer(answer);

    // Assess
    expect(replayed).toBe(expected);
  });
});

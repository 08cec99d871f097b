/**
 * The chaos run, bounded for `npm test`: tens of payments on every seeded reader while the emulator injects every
 * fault it has and the processor fails some records; afterwards every payment is recorded as Stripe holds it, no
 * PaymentIntent was captured twice, no order has two live PaymentIntents, the DLQ holds only the poison messages,
 * and no log line holds a secret or a card number. `npm run test:chaos` runs the full one.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, runChaos } from './chaos/run.ts';

describe('the chaos run (smoke)', () => {
  it('loses nothing, charges nothing twice and leaks nothing under every fault', async () => {
    // Prepare
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);

    // Act
    const report = await runChaos({ payments: 20, seed, faultIntervalMs: [80, 220], poisonEvery: 10 });
    console.log(formatReport(report));

    // Assess
    expect(report.problems).toEqual([]);
    const v = report.verification;
    expect(v.paymentIntents).toBeGreaterThanOrEqual(20);
    expect(v.matchedAfterRefresh).toBe(v.records);
    expect(v.mostCapturesOfOnePaymentIntent).toBeLessThanOrEqual(1);
    expect(v.mostLivePaymentIntentsOfOneOrder).toBeLessThanOrEqual(1);
    expect(v.deadLetters - v.deadLetterCopies).toBe(report.poisonSent);
    expect(report.leaks).toEqual([]);
    // The faults really happened.
    expect(report.poisonSent).toBeGreaterThan(0);
    expect(report.faults.size).toBeGreaterThanOrEqual(8);
    expect(
      report.processorFaults.failedBeforeProcessing + report.processorFaults.failedAfterProcessing,
    ).toBeGreaterThan(0);
  }, 120_000);
});

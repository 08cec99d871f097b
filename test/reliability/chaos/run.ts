/**
 * One chaos run: the whole local stack, cashiers on every seeded reader, every emulator fault and a processor
 * that fails some records, then the checks of `verify.ts`, a scan of every log line for secrets, and the counts.
 * `npm run test:chaos` runs a full one (`chaos-run.ts`); `chaos-smoke.test.ts` a bounded one inside `npm test`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { BatchOutcome } from '../../../local/queue-poller.ts';
import { ORDER_CLAIM_GRACE_MS } from '../../../shared/operations/create-payment.ts';
import { reconcile } from '../../../shared/operations/reconcile.ts';
import { REFUND_FIRST_CHECK_AFTER_MS } from '../../../shared/payments/refunds.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import type { LocalStack } from '../../support/stack.ts';
import type { ProcessorFaultCounts } from '../fixtures/flaky-process-events.ts';
import { captureOutput, findLeaks, type Leak, TEST_CARDS } from '../support/log-capture.ts';
import { webhookAttempts } from '../support/probes.ts';
import { type Register, Workload, type WorkloadStats } from './cashiers.ts';
import { FaultInjector } from './faults.ts';
import { FleetAdmin, type FleetStats, fleetProblems } from './fleet.ts';
import { liveProblems, liveSettled, watchLocation } from './live.ts';
import { seededRandom } from './random.ts';
import { startChaosStack } from './stack.ts';
import { settle, type Verification, verify } from './verify.ts';

/**
 * A create that failed and was never retried (the intruder walks away) leaves its order claim: the reconciler
 * settles it once it is older than any request can run. One run with its clock past that point stands in for it.
 */
async function settleAbandonedOrders(stack: LocalStack): Promise<void> {
  // Also past the first look at refunds left unsettled (an online refund whose answer was lost and never asked again).
  const later = stack.deps.clock.now() + Math.max(ORDER_CLAIM_GRACE_MS, REFUND_FIRST_CHECK_AFTER_MS) + 1_000;
  const logger = new Logger({ serviceName: 'chaos-reconciler', logLevel: 'SILENT' });
  const clock = { now: () => later, sleep: async () => {} };
  await reconcile({ ...stack.deps, clock }, { logger, deadlineMs: later + 20_000 });
}

export interface ChaosOptions {
  /** Payments the cashiers take, spread over every reader (the intruder's come on top). */
  payments: number;
  seed: number;
  /** Pause between two faults, ms. */
  faultIntervalMs: [number, number];
  /** Every n-th fault is a poison message on the queue. */
  poisonEvery: number;
  /** Let the handlers' log lines through to the terminal as well. */
  echo?: boolean;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  readers: number;
  workload: WorkloadStats;
  /** The shop admin's acts on the reader fleet during the run. */
  fleet: FleetStats;
  faults: Map<string, number>;
  poisonSent: number;
  processorFaults: ProcessorFaultCounts;
  batches: { invocations: number; records: number; failedRecords: number; failedInvocations: number };
  webhooks: { deliveries: number; events: number; failedDeliveries: number };
  reconciler: { runs: number; outcomesRecorded: number; actionsCanceled: number; failures: number };
  /** Seconds spent starting the stack, under load, settling and checking. */
  phases: { start: number; load: number; settle: number; verify: number };
  verification: Verification;
  /** Messages the location's live subscribers received. */
  liveMessages: number;
  logLines: number;
  leaks: Leak[];
  /** Everything that went wrong; a good run has none. */
  problems: string[];
}

/** Nothing waiting or in flight for this long: a failed record would still count as in flight until it is back. */
const QUIET_MS = 1_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const output = captureOutput({ echo: options.echo ?? false });
  // The fault hook counts into this object (the stack loads it in this process).
  const faultCounts: ProcessorFaultCounts = {
    records: 0,
    batches: 0,
    failedBeforeProcessing: 0,
    failedAfterProcessing: 0,
    batchesFailedAfterProcessing: 0,
  };
  (globalThis as { reliabilityProcessorFaults?: ProcessorFaultCounts }).reliabilityProcessorFaults = faultCounts;
  const stack = await startChaosStack({ log: (line) => output.add(line) });
  const phase = { at: Date.now(), start: (Date.now() - started) / 1000, load: 0, settle: 0, verify: 0 };
  const lap = () => {
    const seconds = (Date.now() - phase.at) / 1000;
    phase.at = Date.now();
    return seconds;
  };
  try {
    const stripe = createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
    // The first location offers tips on its readers (a customer there may add one); the others do not.
    const tipping = await stripe.terminal.configurations.create({
      tipping: { usd: { fixed_amounts: [100, 200, 300] } },
    });
    await stripe.terminal.locations.update(stack.state.locations[0]!.id, { configuration_overrides: tipping.id });
    const batches: BatchOutcome[] = [];
    stack.poller.onBatch((outcome) => batches.push(outcome));
    const reconciler = { runs: 0, outcomesRecorded: 0, actionsCanceled: 0, failures: 0 };
    stack.scheduler.onRun((outcome) => {
      const summary = outcome.result as Partial<typeof reconciler> | undefined;
      reconciler.runs += 1;
      reconciler.outcomesRecorded += summary?.outcomesRecorded ?? 0;
      reconciler.actionsCanceled += summary?.actionsCanceled ?? 0;
      reconciler.failures += (summary?.failures ?? 0) + (outcome.error === undefined ? 0 : 1);
    });

    // A POS per location follows everything live from the start.
    const watchers = await Promise.all(stack.state.locations.map((location) => watchLocation(stack, location)));
    const registers: Register[] = stack.state.locations.flatMap((location) =>
      location.readers.map((readerId) => ({ locationId: location.id, token: location.token, readerId })),
    );
    const runId = `chaos-${randomBytes(3).toString('hex')}`;
    const workload = new Workload(stack, stripe, seededRandom(options.seed), runId);
    const faults = new FaultInjector(
      stack,
      stripe,
      seededRandom(options.seed + 1),
      registers.map((register) => register.readerId),
    );
    const injecting = faults.run({ intervalMs: options.faultIntervalMs, poisonEvery: options.poisonEvery });
    const intruding = workload.intruder(registers);
    const admin = new FleetAdmin(stack, stripe, seededRandom(options.seed + 2));
    const administering = admin.run([150, 450]);
    await Promise.all(
      registers.map((register, index) =>
        workload.cashier(register, Math.floor((options.payments + index) / registers.length)),
      ),
    );
    workload.stop();
    admin.stop();
    await faults.stop();
    await Promise.all([injecting, intruding, administering]);
    await admin.settle();
    phase.load = lap();

    await settle(stack, QUIET_MS);
    if ((await stack.scheduler.runNow()) !== undefined) await settle(stack, QUIET_MS);
    await settleAbandonedOrders(stack);
    await settle(stack, QUIET_MS);
    phase.settle = lap();
    const verification = await verify(stack, stripe, { poisonSent: faults.poisonSent, quietMs: QUIET_MS });
    // The stored fleet after one more reconciler run, with every reader back online: Stripe's.
    await stack.scheduler.runNow();
    const fleet = [...admin.stats.problems, ...(await fleetProblems(stack, stripe))];
    const deliveries = await webhookAttempts(stack);
    await liveSettled(stack, QUIET_MS);
    const live = {
      messages: watchers.reduce((total, watcher) => total + watcher.messages, 0),
      problems: await liveProblems(stack, watchers),
    };
    await Promise.all(watchers.map((watcher) => watcher.close()));
    phase.verify = lap();

    const lines = output.lines();
    const leaks = findLeaks(lines, {
      secrets: [stack.state.stripe.secretKey, stack.state.stripe.webhookSecret],
      tokens: [stack.state.adminToken, ...stack.state.locations.map((location) => location.token)],
      cardNumbers: Object.values(TEST_CARDS),
    });
    const problems = [
      ...workload.stats.problems,
      ...verification.problems,
      ...fleet,
      ...live.problems,
      ...leaks.map((leak) => `${leak.kind} in a log line: ${leak.line.slice(0, 200)}`),
    ];
    // What the handlers and the stack logged, for whoever looks into a problem (the seed alone replays the
    // workload, not its timing).
    if (problems.length > 0) {
      mkdirSync(PROBLEM_LOG_DIRECTORY, { recursive: true });
      writeFileSync(
        join(PROBLEM_LOG_DIRECTORY, `chaos-${options.seed}.log`),
        `${[...problems.map((problem) => `PROBLEM ${problem}`), ...lines].join('\n')}\n`,
      );
    }
    return {
      seed: options.seed,
      durationMs: Date.now() - started,
      readers: registers.length,
      workload: workload.stats,
      fleet: admin.stats,
      faults: faults.injected,
      poisonSent: faults.poisonSent.length,
      processorFaults: { ...faultCounts },
      batches: {
        invocations: batches.length,
        records: batches.reduce((sum, batch) => sum + batch.received, 0),
        failedRecords: batches.reduce((sum, batch) => sum + batch.failed, 0),
        failedInvocations: batches.filter((batch) => batch.error !== undefined).length,
      },
      webhooks: {
        deliveries: deliveries.length,
        events: new Set(deliveries.map((delivery) => delivery.eventId)).size,
        failedDeliveries: deliveries.filter((delivery) => delivery.status !== 200).length,
      },
      reconciler,
      liveMessages: live.messages,
      phases: { start: phase.start, load: phase.load, settle: phase.settle, verify: phase.verify },
      verification,
      logLines: lines.length,
      leaks,
      problems,
    };
  } finally {
    // Batches still in flight log while the stack stops: they are captured too.
    await stack.stop();
    output.stop();
  }
}

/** Where a run with problems leaves its captured log lines. */
const PROBLEM_LOG_DIRECTORY = join(import.meta.dirname, '../../../.test-output');

const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

/** The counts, as lines for a terminal or a test's output. */
export function formatReport(report: ChaosReport): string {
  const { workload, verification: v } = report;
  const byCashier = workload.payments.filter((payment) => payment.by === 'cashier').length;
  const faults = [...report.faults].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ${count}`);
  const refusals = [...workload.answers]
    .filter(([key]) => / [45]\d\d/.test(key))
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => `${key}: ${count}`);
  const p = report.processorFaults;
  return [
    `chaos run (seed ${report.seed}) in ${(report.durationMs / 1000).toFixed(1)} s on ${report.readers} readers ` +
      `(start ${report.phases.start.toFixed(1)} s, load ${report.phases.load.toFixed(1)} s, settle ${report.phases.settle.toFixed(1)} s, checks ${report.phases.verify.toFixed(1)} s)`,
    `  payments: ${v.paymentIntents} PaymentIntents (${byCashier} by cashiers, ${workload.payments.length - byCashier} by the intruder); ` +
      `final ${Object.entries(v.byStatus)
        .map(([status, count]) => `${status} ${count}`)
        .join(', ')}`,
    `  workload: ${workload.apiCalls} API calls, ${v.processAttempts} process attempts, ${workload.taps} card taps ` +
      `(${workload.tapsRefused} refused), ${workload.customerCancels} customer cancels, ${workload.stuckReadersFreed} stuck readers freed, ` +
      `${workload.walkedAway} payments left after the tap, ${workload.readersReset} busy readers reset`,
    `  fleet: ${report.fleet.registered} spare readers registered (each request sent twice under one Idempotency-Key), ` +
      `${report.fleet.relabelled} relabelled, ${report.fleet.deletedByApi} deleted by the API, ${report.fleet.deletedAtStripe} at Stripe, ` +
      `${report.fleet.busyRefused} deletes of a busy reader refused; the stored fleet checked against Stripe's`,
    `  faults injected: ${sum(report.faults.values())} (${faults.join(', ')})`,
    `  webhooks: ${report.webhooks.events} events, ${report.webhooks.deliveries} deliveries (${report.webhooks.failedDeliveries} failed and retried)`,
    `  processor: ${report.batches.invocations} batches, ${report.batches.records} records; made to fail: ` +
      `${p.failedBeforeProcessing} records before and ${p.failedAfterProcessing} after processing, ${p.batchesFailedAfterProcessing} whole batches; ` +
      `${report.poisonSent} poison messages`,
    `  reconciler: ${report.reconciler.runs} runs, ${report.reconciler.outcomesRecorded} outcomes recorded, ` +
      `${report.reconciler.actionsCanceled} stuck actions cancelled, ${report.reconciler.failures} failures`,
    `  tips: ${v.tipped} payments with a tip chosen on the reader, each recorded once as tipAmount`,
    `  recorded = Stripe: ${v.matchedBeforeRefresh}/${v.records} from events and the reconciler alone, ${v.matchedAfterRefresh}/${v.records} after a refresh`,
    ...v.behindBeforeRefresh.map((line) => `    behind before the refresh: ${line}`),
    `  refunds: ${workload.refundsAsked} requests, ${workload.refundsStarted} made or started, ${workload.refundsRefused} refused for the balance; ` +
      `${v.refundsMatched}/${v.refunds} Stripe refunds recorded as Stripe holds them`,
    `  captured ${v.captured} PaymentIntents, at most ${v.mostCapturesOfOnePaymentIntent} capture each; ` +
      `at most ${v.mostLivePaymentIntentsOfOneOrder} live PaymentIntent per order`,
    `  live updates: ${report.liveMessages} messages to the locations' subscribers, each ending on every payment as stored`,
    `  DLQ: ${v.deadLetters} messages, all of them the ${report.poisonSent} poisoned on purpose (${v.deadLetterCopies} sent twice after a failed record)`,
    `  logs: ${report.logLines} lines scanned, ${report.leaks.length} with a secret or card number`,
    `  refusals: ${refusals.join('; ') || 'none'}`,
    `  problems: ${report.problems.length === 0 ? 'none' : `\n    ${report.problems.join('\n    ')}`}`,
  ].join('\n');
}

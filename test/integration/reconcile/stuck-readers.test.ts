/**
 * Stuck reader actions on the local stack: the emulator's `disconnect` fault leaves a reader's action
 * `in_progress` with no webhook, as a reader that drops off mid-payment does. The reconciler flags the payment,
 * resets the reader once `AUTO_CANCEL_STUCK_AFTER_SECONDS` has passed, and records how each action ended, so no
 * payment is read again and again. Thresholds are shortened through the stack's environment.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, paymentRiskMetrics } from '../../../shared/metrics-names.ts';
import { reconcileStuckAction } from '../../../shared/operations/reconcile-stuck-action.ts';
import type { PaymentResource, ReaderResource } from '../../../shared/payments/resource.ts';
import { createReconcileRun } from '../../../shared/reconcile/run-context.ts';
import { reconcileSettings } from '../../../shared/reconcile/settings.ts';
import { api, type LocalStack } from '../../support/stack.ts';
import {
  advance,
  directRun,
  emulator,
  emulatorRequests,
  flaggedIds,
  meetAtStripeCall,
  paymentView as paymentViewOf,
  type ReconcileSummary,
  scheduledRun,
  startPayment,
  startReconcileStack,
  stored,
  stripeFor,
  tap,
  waitFor,
} from './support.ts';

const STUCK_AFTER_SECONDS = 1;
const AUTO_CANCEL_AFTER_SECONDS = 5;

let stack: LocalStack;
let stripe: Stripe;
const logLines: string[] = [];

beforeAll(async () => {
  stack = await startReconcileStack({
    STUCK_ACTION_AFTER_SECONDS: String(STUCK_AFTER_SECONDS),
    AUTO_CANCEL_STUCK_AFTER_SECONDS: String(AUTO_CANCEL_AFTER_SECONDS),
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // The reconciler's metrics are kept too: one EMF document per run.
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  stripe = stripeFor(stack);
  // The handlers' structured logs are kept for the assertions instead of being printed.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logLines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.stop();
});

afterEach(async () => {
  await emulator(stack, 'webhooks', {});
  await emulator(stack, 'config', { authorizationDelayMs: 50 });
});

/** The reconciler's structured log entries with `message` about `paymentId`. */
function logsAbout(paymentId: string, message: string): Record<string, unknown>[] {
  return logLines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.message === message && entry.paymentId === paymentId);
}

/** The reconciler's EMF documents (CloudWatch embedded metric format) written since `since` log lines. */
function metricDocuments(since: number): Record<string, unknown>[] {
  return logLines
    .slice(since)
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((document) => document.service === 'reconciler');
}

/** A payment whose reader dropped off after the card was presented: its action stays `in_progress`. */
async function disconnectedPayment(readerId: string): Promise<PaymentResource> {
  await emulator(stack, `readers/${readerId}/next-authorization`, { fault: 'disconnect' });
  const payment = await startPayment(stack, readerId);
  await tap(stack, readerId);
  return payment;
}

function paymentView(id: string): Promise<PaymentResource> {
  return paymentViewOf(stack, id);
}

async function readerView(readerId: string): Promise<ReaderResource> {
  const response = await api<{ reader: ReaderResource }>(stack, 'GET', `/readers/${readerId}`, {
    token: stack.state.adminToken,
  });
  expect(response.status).toBe(200);
  return response.body.reader;
}

async function cancelActionRequests(readerId: string) {
  const requests = await emulatorRequests(stack);
  return requests.filter((r) => r.method === 'POST' && r.path === `/v1/terminal/readers/${readerId}/cancel_action`);
}

async function ageAtLeast(payment: PaymentResource, seconds: number): Promise<void> {
  const record = await stored(stack, payment.id);
  const startedAtMs = record.attemptLog.at(-1)!.startedAtMs;
  await advance(stack, startedAtMs + seconds * 1000 + 50 - stack.deps.clock.now());
}

const total = (summaries: ReconcileSummary[], pick: (summary: ReconcileSummary) => number) =>
  summaries.reduce((sum, summary) => sum + pick(summary), 0);

describe('a reader that dropped off mid-payment', () => {
  it('is flagged reader_stuck once, then reset after AUTO_CANCEL_STUCK_AFTER_SECONDS, and never read again', async () => {
    // Prepare
    const readerId = stack.state.locations[0]!.readers[0]!;
    const payment = await disconnectedPayment(readerId);
    await ageAtLeast(payment, STUCK_AFTER_SECONDS);

    const linesBefore = logLines.length;

    // Act
    const flagging = await scheduledRun(stack);
    const flaggingMetrics = metricDocuments(linesBefore);
    const flagged = await paymentView(payment.id);
    const again = await scheduledRun(stack);
    await ageAtLeast(payment, AUTO_CANCEL_AFTER_SECONDS);
    const resetting = await scheduledRun(stack);
    const after = await scheduledRun(stack);

    // Assess
    expect(flagging).toMatchObject({ flagsSet: { reader_stuck: 1 }, actionsCanceled: 0, failures: 0 });
    expect(flaggingMetrics).toEqual([
      expect.objectContaining({
        _aws: expect.objectContaining({
          CloudWatchMetrics: [
            expect.objectContaining({
              Namespace: METRICS_NAMESPACE,
              Metrics: expect.arrayContaining(
                Object.values(paymentRiskMetrics).map((name) => ({ Name: name, Unit: 'Count' })),
              ),
            }),
          ],
        }),
        [paymentRiskMetrics.stuckReaders]: 1,
        [paymentRiskMetrics.captureDeadlineApproaching]: 0,
        ReconciledOutcomes: 0,
      }),
    ]);
    expect(flagged).toMatchObject({ flags: ['reader_stuck'], readerAction: { status: 'in_progress' } });
    expect(again).toMatchObject({ flagsSet: { reader_stuck: 0 }, candidates: { activeReaderActions: 1 } });
    // On a slow machine the second run may already be past the auto-cancel age: one of the two resets it.
    const later = [again, resetting];
    expect(total(later, (run) => run.actionsCanceled)).toBe(1);
    expect(total(later, (run) => run.flagsCleared.reader_stuck)).toBe(1);
    expect(total(later, (run) => run.failures)).toBe(0);
    expect(after.candidates.activeReaderActions).toBe(0);
    expect(await paymentView(payment.id)).toMatchObject({
      status: 'requires_payment_method',
      flags: [],
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect((await readerView(readerId)).action).toBeNull();
    expect(await cancelActionRequests(readerId)).toHaveLength(1);
    expect(logsAbout(payment.id, 'Payment flag set')).toEqual([
      expect.objectContaining({ flag: 'reader_stuck', change: 'set', why: 'in_progress', readerId }),
    ]);
    expect(logsAbout(payment.id, 'Payment flag cleared')).toEqual([
      expect.objectContaining({ flag: 'reader_stuck', change: 'cleared' }),
    ]);
  });

  it('is listed by GET /payments?flag=reader_stuck while it is flagged', async () => {
    // Prepare
    const readerId = stack.state.locations[1]!.readers[0]!;
    const payment = await disconnectedPayment(readerId);
    await ageAtLeast(payment, STUCK_AFTER_SECONDS);

    // Act
    await scheduledRun(stack);
    const whileStuck = await flaggedIds(stack, 'reader_stuck');
    await ageAtLeast(payment, AUTO_CANCEL_AFTER_SECONDS);
    await scheduledRun(stack);
    const afterReset = await flaggedIds(stack, 'reader_stuck');

    // Assess
    expect(whileStuck).toContain(payment.id);
    expect(afterReset).not.toContain(payment.id);
  });

  it('is cancelled once when two runs overlap, each flag change logged and counted once', async () => {
    // Prepare
    const readerId = stack.state.locations[0]!.readers[1]!;
    const payment = await disconnectedPayment(readerId);
    await ageAtLeast(payment, AUTO_CANCEL_AFTER_SECONDS);

    // Act
    const runs = await Promise.all([directRun(stack), directRun(stack)]);

    // Assess
    const cancels = await cancelActionRequests(readerId);
    expect(cancels.filter((request) => request.status === 200 && !request.replayed)).toHaveLength(1);
    expect(total(runs, (run) => run.actionsCanceled)).toBe(1);
    expect(total(runs, (run) => run.flagsSet.reader_stuck)).toBe(1);
    expect(total(runs, (run) => run.flagsCleared.reader_stuck)).toBe(1);
    expect(logsAbout(payment.id, 'Payment flag set')).toHaveLength(1);
    expect(logsAbout(payment.id, 'Payment flag cleared')).toHaveLength(1);
    expect(await paymentView(payment.id)).toMatchObject({
      flags: [],
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect((await readerView(readerId)).action).toBeNull();
  });

  it('is cancelled once when two reconcilers act on the same candidate at the same moment', async () => {
    // Prepare: both hold the candidate as the index showed it, and send their cancel_action together
    const readerId = stack.state.locations[0]!.readers[1]!;
    const payment = await disconnectedPayment(readerId);
    await ageAtLeast(payment, AUTO_CANCEL_AFTER_SECONDS);
    const candidate = await stored(stack, payment.id);
    const settings = reconcileSettings(stack.deps.settings);
    const logger = new Logger({ serviceName: 'reconciler-test', logLevel: 'SILENT' });
    const runs = [1, 2].map(() => createReconcileRun({ deps: stack.deps, settings, logger }));
    // Each run's fourth Stripe call is its cancel_action (after reading the reader and the PaymentIntent, and the
    // reader once more).
    meetAtStripeCall(runs, 4);
    const cancelsBefore = (await cancelActionRequests(readerId)).length;

    // Act
    await Promise.all(runs.map((run) => reconcileStuckAction(candidate, run)));

    // Assess
    const cancels = (await cancelActionRequests(readerId)).slice(cancelsBefore);
    expect(cancels).toHaveLength(2);
    expect(cancels.filter((request) => request.status === 200 && !request.replayed)).toHaveLength(1);
    expect(new Set(cancels.map((request) => request.idempotencyKey))).toEqual(
      new Set([`cancel-action:${readerId}:${payment.id}:1:0`]),
    );
    expect(runs.map((run) => run.summary.actionsCanceled).sort()).toEqual([0, 1]);
    expect(await paymentView(payment.id)).toMatchObject({
      flags: [],
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
  });
});

describe('a reader that moves on while the reconciler decides', () => {
  it('is not reset when another payment started on it after the reconciler read it', async () => {
    // Prepare: a stuck payment past AUTO_CANCEL; after the reconciler's reads, a cashier resets the reader and
    // starts the next customer's payment on it
    const readerId = stack.state.locations[0]!.readers[1]!;
    const stuck = await disconnectedPayment(readerId);
    await ageAtLeast(stuck, AUTO_CANCEL_AFTER_SECONDS);
    const candidate = await stored(stack, stuck.id);
    const logger = new Logger({ serviceName: 'reconciler-test', logLevel: 'SILENT' });
    const run = createReconcileRun({ deps: stack.deps, settings: reconcileSettings(stack.deps.settings), logger });
    const send = run.stripe.bind(run);
    let calls = 0;
    let next: PaymentResource | undefined;
    run.stripe = async (call) => {
      calls += 1;
      if (calls === 3) {
        await stripe.terminal.readers.cancelAction(readerId);
        next = await startPayment(stack, readerId);
      }
      return send(call);
    };

    // Act
    await reconcileStuckAction(candidate, run);

    // Assess: the next customer's payment still runs on the reader
    expect(next).toBeDefined();
    const reader = await readerView(readerId);
    expect(reader.action).toMatchObject({ status: 'in_progress', paymentIntentId: next?.id });
    expect(run.summary.actionsCanceled).toBe(0);
    expect((await paymentView(next!.id)).readerAction).toMatchObject({ status: 'in_progress' });
    for (const id of [stuck.id, next!.id]) {
      const canceled = await api(stack, 'POST', `/payments/${id}/cancel`, { token: stack.state.locations[0]!.token });
      expect(canceled.status).toBe(200);
    }
  });
});

describe('a reader that is no longer on the payment', () => {
  it('records the action ended when the reader is idle, without touching the reader', async () => {
    // Prepare: the reader was reset behind the backend's back (no webhook for cancel_action)
    const readerId = stack.state.locations[1]!.readers[1]!;
    const payment = await startPayment(stack, readerId);
    await stripe.terminal.readers.cancelAction(readerId);
    await ageAtLeast(payment, STUCK_AFTER_SECONDS);
    const cancelsBefore = (await cancelActionRequests(readerId)).length;

    // Act
    const summary = await scheduledRun(stack);

    // Assess
    expect(summary).toMatchObject({ outcomesRecorded: 1, flagsSet: { reader_stuck: 0 }, actionsCanceled: 0 });
    expect(await paymentView(payment.id)).toMatchObject({
      flags: [],
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect(await cancelActionRequests(readerId)).toHaveLength(cancelsBefore);
    expect((await scheduledRun(stack)).candidates.activeReaderActions).toBe(0);
  });

  it("records the action ended when the reader is on another payment, and leaves that payment's action alone", async () => {
    // Prepare: the reader was reset behind the backend's back, then took another payment, which is paid
    const readerId = stack.state.locations[1]!.readers[1]!;
    const first = await startPayment(stack, readerId);
    await stripe.terminal.readers.cancelAction(readerId);
    const second = await startPayment(stack, readerId);
    await tap(stack, readerId);
    await waitFor(
      () => paymentView(second.id),
      (p) => p.status === 'succeeded',
    );
    await ageAtLeast(first, STUCK_AFTER_SECONDS);
    const cancelsBefore = (await cancelActionRequests(readerId)).length;

    // Act
    await scheduledRun(stack);

    // Assess
    expect(await paymentView(first.id)).toMatchObject({
      status: 'requires_payment_method',
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect(await paymentView(second.id)).toMatchObject({ status: 'succeeded', readerAction: { status: 'succeeded' } });
    expect(await cancelActionRequests(readerId)).toHaveLength(cancelsBefore);
  });
});

describe('a reader that is offline', () => {
  it('is flagged but not cancelled; once back online and idle its action is recorded ended', async () => {
    // Prepare
    const readerId = stack.state.locations[0]!.readers[0]!;
    const payment = await startPayment(stack, readerId);
    await emulator(stack, `readers/${readerId}/offline`);
    await ageAtLeast(payment, AUTO_CANCEL_AFTER_SECONDS);

    // Act
    const whileOffline = await scheduledRun(stack);
    const flagged = await paymentView(payment.id);
    await emulator(stack, `readers/${readerId}/online`);
    await stripe.terminal.readers.cancelAction(readerId);
    const backOnline = await scheduledRun(stack);

    // Assess
    expect(whileOffline).toMatchObject({ flagsSet: { reader_stuck: 1 }, actionsCanceled: 0, failures: 0 });
    expect(flagged).toMatchObject({ flags: ['reader_stuck'], readerAction: { status: 'in_progress' } });
    expect(backOnline).toMatchObject({ flagsCleared: { reader_stuck: 1 } });
    expect(await paymentView(payment.id)).toMatchObject({
      flags: [],
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
  });
});

describe('a card being authorized when the action is old enough to cancel', () => {
  it('is left for the next run on terminal_reader_busy, which records the outcome', async () => {
    // Prepare: a slow authorization, with every webhook lost
    const readerId = stack.state.locations[1]!.readers[0]!;
    await emulator(stack, 'config', { authorizationDelayMs: 8_000 });
    await emulator(stack, 'webhooks', { mode: 'drop' });
    const payment = await startPayment(stack, readerId);
    await tap(stack, readerId);
    await ageAtLeast(payment, AUTO_CANCEL_AFTER_SECONDS);

    // Act
    const busy = await scheduledRun(stack);
    const during = await paymentView(payment.id);
    // The authorization finishes once its delay has passed.
    await advance(stack, 8_000);
    await waitFor(
      () => stripe.paymentIntents.retrieve(payment.id),
      (intent) => intent.status === 'succeeded',
    );
    const settled = await scheduledRun(stack);

    // Assess
    expect(busy).toMatchObject({ flagsSet: { reader_stuck: 1 }, actionsCanceled: 0, failures: 0 });
    expect(during).toMatchObject({ flags: ['reader_stuck'], readerAction: { status: 'in_progress' } });
    const busyAnswers = (await cancelActionRequests(readerId)).filter((request) => request.status !== 200);
    expect(busyAnswers.length).toBeGreaterThanOrEqual(1);
    expect(settled).toMatchObject({ outcomesRecorded: 1, flagsCleared: { reader_stuck: 1 } });
    expect(await paymentView(payment.id)).toMatchObject({
      status: 'succeeded',
      flags: [],
      readerAction: { status: 'succeeded' },
      card: { last4: '4242' },
    });
  });
});

/**
 * Authorizations left uncaptured, on the local stack with `CAPTURE_WARNING_AFTER_HOURS` shortened to under two
 * seconds and the emulator's capture window to a few: the reconciler flags the payment while the deadline
 * approaches, records it expired once Stripe released it, and with `STALE_AUTHORIZATION_ACTION` captures or
 * cancels it exactly once, even when two runs overlap.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reconcileAgingAuthorization } from '../../../shared/operations/reconcile-authorization.ts';
import { DEFAULT_AUTHORIZATION_WINDOW_MS } from '../../../shared/payments/record.ts';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import { createReconcileRun } from '../../../shared/reconcile/run-context.ts';
import { reconcileSettings } from '../../../shared/reconcile/settings.ts';
import { savePayment } from '../../../shared/store/payments.ts';
import type { LocalStack } from '../../support/stack.ts';
import {
  advance,
  directRun,
  emulator,
  emulatorRequests,
  flaggedIds,
  meetAtStripeCall,
  paymentView,
  type ReconcileSummary,
  scheduledRun,
  startPayment,
  startReconcileStack,
  stored,
  stripeFor,
  tap,
  waitFor,
} from './support.ts';

/** 1.8 seconds. */
const WARNING_AFTER_HOURS = 0.0005;
const WARNING_AFTER_MS = WARNING_AFTER_HOURS * 60 * 60 * 1000;

const quietLogger = new Logger({ serviceName: 'reconciler-test', logLevel: 'SILENT' });

let stack: LocalStack;
let stripe: Stripe;

beforeAll(async () => {
  stack = await startReconcileStack({ CAPTURE_WARNING_AFTER_HOURS: String(WARNING_AFTER_HOURS) });
  stripe = stripeFor(stack);
});

afterAll(async () => {
  await stack?.stop();
});

afterEach(async () => {
  await emulator(stack, 'webhooks', {});
  await emulator(stack, 'config', { captureWindowSeconds: 2 * 24 * 60 * 60 });
  stack.configure({ STALE_AUTHORIZATION_ACTION: undefined });
});

/** A manual-capture payment authorized on a reader, its events delivered and applied. */
async function authorizedPayment(readerId: string): Promise<PaymentResource> {
  const payment = await startPayment(stack, readerId, { captureMethod: 'manual' });
  await tap(stack, readerId);
  return waitFor(
    () => paymentView(stack, payment.id),
    (view) => view.status === 'requires_capture' && view.captureBefore !== null && view.card !== null,
  );
}

async function untilAged(payment: PaymentResource, ms: number): Promise<void> {
  const { authorizedAt } = await stored(stack, payment.id);
  await advance(stack, Date.parse(authorizedAt!) + ms + 50 - stack.deps.clock.now());
}

async function paymentIntentReads(id: string): Promise<number> {
  const requests = await emulatorRequests(stack);
  return requests.filter((r) => r.method === 'GET' && r.path === `/v1/payment_intents/${id}`).length;
}

/** The policy the next runs apply (`STALE_AUTHORIZATION_ACTION`, read from the handler's settings). */
function setPolicy(policy: 'capture' | 'cancel'): void {
  stack.configure({ STALE_AUTHORIZATION_ACTION: policy });
}

const total = (summaries: ReconcileSummary[], pick: (summary: ReconcileSummary) => number) =>
  summaries.reduce((sum, summary) => sum + pick(summary), 0);

describe('an authorization left uncaptured', () => {
  it('is flagged capture_deadline_approaching after one read, then recorded expired past capture_before', async () => {
    // Prepare: the webhooks carried no charge, so the record only assumes the two-day deadline
    await emulator(stack, 'config', { captureWindowSeconds: 10 });
    const payment = await authorizedPayment(stack.state.locations[0]!.readers[0]!);
    const realDeadline = payment.captureBefore!;
    const record = await stored(stack, payment.id);
    const assumed = new Date(Date.parse(record.authorizedAt!) + DEFAULT_AUTHORIZATION_WINDOW_MS).toISOString();
    await savePayment(stack.deps.store, { ...record, captureBefore: assumed });
    await emulator(stack, 'webhooks', { mode: 'drop' });
    await untilAged(payment, WARNING_AFTER_MS);

    // Act
    const flagging = await scheduledRun(stack);
    const flagged = await paymentView(stack, payment.id);
    const listedApproaching = await flaggedIds(stack, 'capture_deadline_approaching');
    const readsAfterFlagging = await paymentIntentReads(payment.id);
    const quiet = await scheduledRun(stack);
    const readsAfterQuietRun = await paymentIntentReads(payment.id);
    // Stripe releases the hold only after the charge's capture_before (ten seconds after the authorization): move
    // the clock past it, then wait for Stripe to show the authorization expired.
    await advance(stack, Date.parse(realDeadline) - stack.deps.clock.now() + 1_000);
    const released = await waitFor(
      () => stripe.paymentIntents.retrieve(payment.id),
      (intent) => intent.status === 'canceled',
    );
    const expiring = await scheduledRun(stack);
    const last = await scheduledRun(stack);

    // Assess
    expect(flagging).toMatchObject({ flagsSet: { capture_deadline_approaching: 1 }, failures: 0 });
    // The gauge the alarm watches: raised while the authorization awaits capture, on every run, not only the first.
    expect(flagging.flaggedNow.capture_deadline_approaching).toBe(1);
    expect(quiet.flaggedNow.capture_deadline_approaching).toBe(1);
    expect(expiring.flaggedNow).toMatchObject({ capture_deadline_approaching: 0, authorization_expired: 0 });
    expect(flagged).toMatchObject({
      status: 'requires_capture',
      flags: ['capture_deadline_approaching'],
      captureBefore: realDeadline,
    });
    expect(listedApproaching).toContain(payment.id);
    expect(quiet.flagsSet.capture_deadline_approaching).toBe(0);
    expect(readsAfterQuietRun).toBe(readsAfterFlagging);
    expect(released).toMatchObject({ status: 'canceled', cancellation_reason: 'expired' });
    expect(expiring).toMatchObject({
      outcomesRecorded: 1,
      flagsSet: { authorization_expired: 1 },
      flagsCleared: { capture_deadline_approaching: 1 },
    });
    expect(await paymentView(stack, payment.id)).toMatchObject({
      status: 'canceled',
      amountCapturable: 0,
      flags: ['authorization_expired'],
    });
    expect((await stored(stack, payment.id)).cancellationReason).toBe('expired');
    expect(await flaggedIds(stack, 'authorization_expired')).toContain(payment.id);
    expect(last.candidates).toMatchObject({ awaitingCaptureByAge: 0, awaitingCaptureByDeadline: 0 });
  });
});

describe('STALE_AUTHORIZATION_ACTION', () => {
  it('captures an aging authorization once when two runs overlap', async () => {
    // Prepare
    const payment = await authorizedPayment(stack.state.locations[0]!.readers[1]!);
    await untilAged(payment, WARNING_AFTER_MS);
    setPolicy('capture');

    // Act
    const runs = await Promise.all([directRun(stack), directRun(stack)]);

    // Assess
    const captures = (await emulatorRequests(stack)).filter(
      (r) => r.method === 'POST' && r.path === `/v1/payment_intents/${payment.id}/capture`,
    );
    expect(captures.filter((request) => request.status === 200 && !request.replayed)).toHaveLength(1);
    expect(captures.every((request) => request.idempotencyKey === `capture:${payment.id}:0`)).toBe(true);
    expect(total(runs, (run) => run.authorizationsCaptured)).toBe(1);
    expect(total(runs, (run) => run.flagsSet.capture_deadline_approaching)).toBe(1);
    expect(total(runs, (run) => run.failures)).toBe(0);
    expect(await paymentView(stack, payment.id)).toMatchObject({
      status: 'succeeded',
      amountReceived: 1500,
      amountCapturable: 0,
      flags: [],
    });
  });

  it('captures once when two reconcilers act on the same candidate at the same moment', async () => {
    // Prepare: both hold the candidate as the index showed it, and send their capture together
    const payment = await authorizedPayment(stack.state.locations[1]!.readers[1]!);
    await untilAged(payment, WARNING_AFTER_MS);
    const candidate = await stored(stack, payment.id);
    const settings = { ...reconcileSettings(stack.deps.settings), staleAuthorizationAction: 'capture' as const };
    const runs = [1, 2].map(() => createReconcileRun({ deps: stack.deps, settings, logger: quietLogger }));
    // Each run's second Stripe call is its capture (the first reads the PaymentIntent).
    meetAtStripeCall(runs, 2);

    // Act
    await Promise.all(runs.map((run) => reconcileAgingAuthorization(candidate, run)));

    // Assess
    const captures = (await emulatorRequests(stack)).filter(
      (r) => r.method === 'POST' && r.path === `/v1/payment_intents/${payment.id}/capture`,
    );
    expect(captures).toHaveLength(2);
    expect(captures.filter((request) => request.status === 200 && !request.replayed)).toHaveLength(1);
    expect(runs.map((run) => run.summary.authorizationsCaptured).sort()).toEqual([0, 1]);
    expect(runs.map((run) => run.summary.flagsSet.capture_deadline_approaching).sort()).toEqual([0, 1]);
    expect(await paymentView(stack, payment.id)).toMatchObject({
      status: 'succeeded',
      amountReceived: 1500,
      flags: [],
    });
  });

  it('cancels an aging authorization, releasing the hold', async () => {
    // Prepare
    const payment = await authorizedPayment(stack.state.locations[1]!.readers[0]!);
    await untilAged(payment, WARNING_AFTER_MS);
    setPolicy('cancel');

    // Act
    const summary = await scheduledRun(stack);

    // Assess
    expect(summary).toMatchObject({ authorizationsCanceled: 1, failures: 0 });
    expect(await paymentView(stack, payment.id)).toMatchObject({ status: 'canceled', amountCapturable: 0, flags: [] });
    expect((await stripe.paymentIntents.retrieve(payment.id)).cancellation_reason).toBe('abandoned');
  });
});

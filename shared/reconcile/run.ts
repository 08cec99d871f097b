/**
 * One reconciler run: refresh the reader cache, then page through each sparse index's candidates, oldest first,
 * until they are done or the run's time is up; the next run continues where this one stopped. A payment that
 * fails is logged and counted, and the run goes on with the others.
 */
import { config } from '../config.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { listPendingOrders, setAsideRefusedClaim } from '../store/orders.ts';
import {
  type CandidateIndex,
  type IndexPosition,
  queryCandidates,
  type ReconcileCursor,
  readReconcileCursor,
  saveReconcileCursor,
} from '../store/reconcile-queries.ts';
import { ORDER_CLAIM_GRACE_MS, settleOrderClaim } from '../stripe/payment-commands.ts';
import { reconcileAgingAuthorization, reconcileExpiredAuthorization } from './authorizations.ts';
import { type Clock, createRunBudget, type RunBudget, systemClock } from './pacing.ts';
import { refreshReaderCache } from './reader-cache.ts';
import { createReconcileRun, type ReconcileLogger, type ReconcileRun, type ReconcileSummary } from './run-context.ts';
import { type CandidateCutoffs, candidateCutoffs, type ReconcileSettings, reconcileSettings } from './settings.ts';
import { reconcileStuckAction } from './stuck-actions.ts';

/** Candidates per index query: small pages, so a run that stops early has read little it did not use. */
export const CANDIDATE_PAGE_SIZE = 25;

interface Pass {
  index: CandidateIndex;
  upTo: (cutoffs: CandidateCutoffs) => string;
  reconcile: (payment: PaymentRecord, run: ReconcileRun) => Promise<void>;
}

/**
 * In order of urgency: a cashier waits on a stuck reader; an expired authorization is money already released;
 * an aging one can still be saved. Deadlines come before ages, so a payment in both is read once, as expired.
 */
const PASSES: readonly Pass[] = [
  { index: 'activeReaderActions', upTo: (c) => c.actionStartedBy, reconcile: reconcileStuckAction },
  { index: 'awaitingCaptureByDeadline', upTo: (c) => c.captureDeadlineBy, reconcile: reconcileExpiredAuthorization },
  { index: 'awaitingCaptureByAge', upTo: (c) => c.authorizedBy, reconcile: reconcileAgingAuthorization },
];

export interface ReconcileOptions {
  logger: ReconcileLogger;
  /** Epoch ms after which no new candidate is started (see `runDeadline`). */
  deadlineMs: number;
  settings?: ReconcileSettings;
  clock?: Clock;
}

/** Run the reconciler once. Throws only when the indexes cannot be read at all. */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const clock = options.clock ?? systemClock;
  const startedAtMs = clock.now();
  const settings = options.settings ?? reconcileSettings(config());
  const { logger } = options;
  const run = createReconcileRun({ settings, clock, logger });

  if (clock.now() < options.deadlineMs) {
    try {
      run.summary.readersCached = await refreshReaderCache(run);
    } catch (error) {
      // A stale cache only costs the API a Stripe call; the payments matter more.
      logger.warn('Reader cache not refreshed', { error: error as Error });
    }
  }

  const cutoffs = candidateCutoffs(startedAtMs, settings);
  const previous = await readReconcileCursor();
  const cursor: ReconcileCursor = { ...previous };
  const seen = new Set<string>();
  for (const [i, pass] of PASSES.entries()) {
    // Each pass may use an equal share of the time left, so a long pass never starves the later ones.
    const share = (options.deadlineMs - clock.now()) / (PASSES.length - i);
    const budget = createRunBudget(clock.now() + share, clock);
    const stoppedAt = await runPass(pass, pass.upTo(cutoffs), previous[pass.index], { run, budget, seen });
    if (stoppedAt === undefined) delete cursor[pass.index];
    else cursor[pass.index] = stoppedAt;
  }
  if (clock.now() < options.deadlineMs) await settlePendingOrders(run, new Date(startedAtMs));
  await saveReconcileCursor(cursor, previous, new Date(clock.now()));
  run.summary.durationMs = clock.now() - startedAtMs;
  return run.summary;
}

/**
 * Page through one index from `start`; returns where to continue next run, or undefined when the index was read
 * to its end (the next run starts again at its oldest candidate).
 */
async function runPass(
  pass: Pass,
  upTo: string,
  start: IndexPosition | undefined,
  state: { run: ReconcileRun; budget: RunBudget; seen: Set<string> },
): Promise<IndexPosition | undefined> {
  const { run, budget, seen } = state;
  let after = start;
  for (;;) {
    if (!budget.hasTime()) return cutShort(run, after);
    let page: Awaited<ReturnType<typeof queryCandidates>>;
    try {
      page = await queryCandidates(pass.index, upTo, { limit: CANDIDATE_PAGE_SIZE, ...(after ? { after } : {}) });
    } catch (error) {
      // A stored position the index no longer accepts (its cutoff moved back with a new setting): start over.
      if (after === undefined || after !== start || (error as Error).name !== 'ValidationException') throw error;
      run.logger.warn('Stored reconcile position rejected; starting the index over', { index: pass.index });
      after = undefined;
      continue;
    }
    run.summary.indexQueries += 1;
    run.summary.indexItemsRead += page.itemsRead;
    run.summary.indexCapacityUnits += page.capacityUnits;
    run.summary.candidates[pass.index] += page.candidates.length;

    for (const { payment, position } of page.candidates) {
      if (!budget.hasTime()) return cutShort(run, after);
      after = position;
      if (seen.has(payment.id)) continue;
      seen.add(payment.id);
      try {
        await pass.reconcile(payment, run);
      } catch (error) {
        run.summary.failures += 1;
        run.logger.error('Payment not reconciled; retried next run', {
          paymentId: payment.id,
          index: pass.index,
          error: error as Error,
        });
      }
    }
    if (page.next === undefined) return undefined;
    after = page.next;
  }
}

/**
 * Order claims whose create failed half-way (no PaymentIntent recorded after longer than any request runs): send
 * each claim's own request again under its key, so Stripe says what it did, and record the PaymentIntent as the
 * order's payment; a claim Stripe refused leaves the index. Oldest first, one page a run.
 */
async function settlePendingOrders(run: ReconcileRun, startedAt: Date): Promise<void> {
  const claimedBy = new Date(startedAt.getTime() - ORDER_CLAIM_GRACE_MS).toISOString();
  const orders = await listPendingOrders(claimedBy, CANDIDATE_PAGE_SIZE);
  run.summary.indexQueries += 1;
  run.summary.indexItemsRead += orders.length;
  for (const order of orders) {
    if (order.request === null) continue;
    const { request } = order;
    try {
      const settled = await run.stripe(() => settleOrderClaim(order, request, new Date(run.clock.now())));
      if (settled.result.kind === 'refused') await setAsideRefusedClaim(order);
      else run.summary.ordersSettled += 1;
      run.logger.info('Order claim settled', {
        locationId: order.locationId,
        orderId: order.orderId,
        generation: order.generation,
        ...(settled.result.kind === 'payment' ? { paymentId: settled.result.payment.id } : { outcome: 'refused' }),
      });
    } catch (error) {
      run.summary.failures += 1;
      run.logger.error('Order claim not settled; retried next run', { orderId: order.orderId, error: error as Error });
    }
  }
}

function cutShort(run: ReconcileRun, position: IndexPosition | undefined): IndexPosition | undefined {
  run.summary.cutShort = true;
  return position;
}

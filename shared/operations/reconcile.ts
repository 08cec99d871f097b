/**
 * One reconciler run: refresh the reader cache, then page through each sparse index's candidates, oldest first,
 * until they are done or the run's time is up; the next run continues where this one stopped. A payment that
 * fails is logged and counted, and the run goes on with the others.
 */
import type { Dependencies } from '../dependencies.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { createRunBudget, type RunBudget } from '../reconcile/pacing.ts';
import {
  createReconcileRun,
  type ReconcileLogger,
  type ReconcileRun,
  type ReconcileSummary,
} from '../reconcile/run-context.ts';
import {
  type CandidateCutoffs,
  candidateCutoffs,
  type ReconcileSettings,
  reconcileSettings,
} from '../reconcile/settings.ts';
import {
  type CandidateIndex,
  countFlaggedPayments,
  type IndexPosition,
  queryCandidates,
  type ReconcileCursor,
  readReconcileCursor,
  saveReconcileCursor,
} from '../store/reconcile-queries.ts';
import { reconcileAgingAuthorization, reconcileExpiredAuthorization } from './reconcile-authorization.ts';
import { reconcileUnsettledRefunds } from './reconcile-refunds.ts';
import { reconcileStuckAction } from './reconcile-stuck-action.ts';
import { refreshReaderCache } from './refresh-reader-cache.ts';
import { CANDIDATE_PAGE_SIZE, settlePendingOrders } from './settle-pending-orders.ts';

export { CANDIDATE_PAGE_SIZE };

interface Pass {
  index: CandidateIndex;
  upTo: (cutoffs: CandidateCutoffs) => string;
  reconcile: (payment: PaymentRecord, run: ReconcileRun) => Promise<void>;
}

/**
 * In order of urgency: a cashier waits on a stuck reader; an expired authorization is money already released;
 * an aging one can still be saved; a refund left unsettled is money already sent (or promised) back. Deadlines come
 * before ages, so a payment in both is read once, as expired.
 */
const PASSES: readonly Pass[] = [
  { index: 'activeReaderActions', upTo: (c) => c.actionStartedBy, reconcile: reconcileStuckAction },
  { index: 'awaitingCaptureByDeadline', upTo: (c) => c.captureDeadlineBy, reconcile: reconcileExpiredAuthorization },
  { index: 'awaitingCaptureByAge', upTo: (c) => c.authorizedBy, reconcile: reconcileAgingAuthorization },
  { index: 'unsettledRefunds', upTo: (c) => c.refundCheckBy, reconcile: reconcileUnsettledRefunds },
];

export interface ReconcileOptions {
  logger: ReconcileLogger;
  /** Epoch ms after which no new candidate is started (see `runDeadline`). */
  deadlineMs: number;
  /** The run's thresholds; from `deps.settings` by default. */
  settings?: ReconcileSettings;
}

/** Run the reconciler once. Throws only when the indexes cannot be read at all. */
export async function reconcile(deps: Dependencies, options: ReconcileOptions): Promise<ReconcileSummary> {
  const { clock } = deps;
  const startedAtMs = clock.now();
  const settings = options.settings ?? reconcileSettings(deps.settings);
  const { logger } = options;
  const run = createReconcileRun({ deps, settings, logger });

  if (clock.now() < options.deadlineMs) {
    try {
      await refreshReaderCache(run);
    } catch (error) {
      // A stale cache only costs the API a Stripe call; the payments matter more.
      logger.warn('Reader cache not refreshed', { error: error as Error });
    }
  }

  const cutoffs = candidateCutoffs(startedAtMs, settings);
  const previous = await readReconcileCursor(deps.store);
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
  await saveReconcileCursor(deps.store, cursor, previous, new Date(clock.now()));
  run.summary.flaggedNow = await countFlaggedPayments(deps.store);
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
      page = await queryCandidates(run.deps.store, pass.index, upTo, {
        limit: CANDIDATE_PAGE_SIZE,
        ...(after ? { after } : {}),
      });
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

function cutShort(run: ReconcileRun, position: IndexPosition | undefined): IndexPosition | undefined {
  run.summary.cutShort = true;
  return position;
}

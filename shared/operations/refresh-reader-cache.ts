/**
 * Keeps the stored readers (which the API uses to authorize reader commands without a Stripe call, `GET /readers`
 * lists, and the live updates publish) in step with Stripe: one list of the readers per run, and a write only for
 * readers that changed, their health included, so a reader going offline, coming back or getting stuck is
 * stored (and published) within one run.
 */
import type { ReconcileRun } from '../reconcile/run-context.ts';
import { recordReaders } from '../store/readers.ts';
import { listReaders } from '../stripe/calls.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';

/** List the readers once, store the ones that changed, and count them and the unhealthy ones in the summary. */
export async function refreshReaderCache(run: ReconcileRun): Promise<void> {
  const listed = await run.stripe(() => listReaders(run.deps));
  const nowMs = run.clock.now();
  const recorded = await recordReaders(
    run.deps.store,
    listed.result.map(readerSnapshot),
    new Date(nowMs),
    run.settings.stuckAfterMs,
  );
  const offlineAlertBy = nowMs - run.settings.readerOfflineAlertAfterMs;
  const summary = run.summary;
  summary.readersCached = recorded.filter((reader) => reader.changed).length;
  summary.readersStuck = recorded.filter(({ reader }) => reader.health === 'stuck').length;
  const offline = recorded.filter(({ reader }) => reader.health === 'offline');
  summary.readersOffline = offline.length;
  summary.readersOfflineAlerting = offline.filter(
    ({ offlineSince }) => offlineSince !== null && Date.parse(offlineSince) < offlineAlertBy,
  ).length;
}

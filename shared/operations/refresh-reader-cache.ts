/**
 * Keeps the stored readers (which the API uses to authorize reader commands without a Stripe call, `GET /readers`
 * lists, and the live updates publish) in step with Stripe: one list of the readers per run, compared with one
 * query of the stored fleet, and a write only for readers that changed, their health included, so a reader going
 * offline, coming back or getting stuck is stored (and published) within one run. A stored reader the list left
 * out is read on its own, and forgotten when Stripe has it no more.
 */
import type { ReconcileRun } from '../reconcile/run-context.ts';
import { listStoredFleet, markFleetSynced } from '../store/readers.ts';
import { listReaders } from '../stripe/calls.ts';
import { syncStoredReaders } from './read-readers.ts';

/** List the readers once, store the ones that changed, and count them and the unhealthy ones in the summary. */
export async function refreshReaderCache(run: ReconcileRun): Promise<void> {
  const [listed, fleet] = await Promise.all([run.stripe(() => listReaders(run.deps)), listStoredFleet(run.deps.store)]);
  const { recorded, forgotten } = await syncStoredReaders(run.deps, listed.result, fleet.readers, {
    paced: async (call) => (await run.stripe(call)).result,
    stuckAfterMs: run.settings.stuckAfterMs,
  });
  // Once: from then on `GET /readers` answers a caller of every location from the table.
  if (!fleet.synced) await markFleetSynced(run.deps.store, new Date(run.clock.now()));
  const offlineAlertBy = run.clock.now() - run.settings.readerOfflineAlertAfterMs;
  const summary = run.summary;
  summary.readersCached = recorded.filter((reader) => reader.changed).length + forgotten.length;
  summary.readersForgotten = forgotten.length;
  summary.readersStuck = recorded.filter(({ reader }) => reader.health === 'stuck').length;
  const offline = recorded.filter(({ reader }) => reader.health === 'offline');
  summary.readersOffline = offline.length;
  summary.readersOfflineAlerting = offline.filter(
    ({ offlineSince }) => offlineSince !== null && Date.parse(offlineSince) < offlineAlertBy,
  ).length;
}

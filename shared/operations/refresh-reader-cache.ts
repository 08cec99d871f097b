/**
 * Keeps the stored readers (which the API uses to authorize reader commands without a Stripe call, and the live
 * updates publish) in step with Stripe: one list of the readers per run, and a write only for readers that changed.
 */
import type { ReconcileRun } from '../reconcile/run-context.ts';
import { recordReaders } from '../store/readers.ts';
import { listReaders } from '../stripe/calls.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';

/** List the readers once and store the ones that changed; returns how many were written. */
export async function refreshReaderCache(run: ReconcileRun): Promise<number> {
  const listed = await run.stripe(() => listReaders(run.deps));
  const recorded = await recordReaders(run.deps.store, listed.result.map(readerSnapshot), new Date(run.clock.now()));
  return recorded.filter((reader) => reader.changed).length;
}

/**
 * Keeps the reader → location cache (which the API uses to authorize reader commands without a Stripe call) in
 * step with Stripe: one list of the readers per run, and a write only for entries that changed. What this process
 * last wrote is remembered, so a warm reconciler writes nothing while no reader moves.
 */

import type { ReconcileRun } from '../reconcile/run-context.ts';
import { putReaderLocations, type ReaderLocation, readerLocationOf } from '../store/readers.ts';
import { listReaders } from '../stripe/calls.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';

const written = new Map<string, string>();

function signature(reader: ReaderLocation): string {
  return JSON.stringify([reader.locationId, reader.label, reader.deviceType]);
}

/** The cache entries that differ from what this process last wrote. */
export function changedReaderLocations(
  readers: readonly ReaderLocation[],
  lastWritten: ReadonlyMap<string, string>,
): ReaderLocation[] {
  return readers.filter((reader) => lastWritten.get(reader.readerId) !== signature(reader));
}

/** List the readers once and write the cache entries that changed; returns how many were written. */
export async function refreshReaderCache(run: ReconcileRun): Promise<number> {
  const listed = await run.stripe(() => listReaders(run.deps));
  const now = new Date(run.clock.now());
  const locations = listed.result.flatMap((reader) => readerLocationOf(readerSnapshot(reader), now) ?? []);
  const changed = changedReaderLocations(locations, written);
  await putReaderLocations(run.deps.store, changed);
  for (const reader of changed) written.set(reader.readerId, signature(reader));
  return changed.length;
}

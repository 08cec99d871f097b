/**
 * Readers for the POS: as stored (GET /readers, kept in step with Stripe by the reconciler and every read), or as
 * Stripe holds them now (GET /readers/{id}, GET /readers?refresh=true, a live-updates subscription to a location),
 * storing what Stripe just said (the reader → location cache, and the reader's state the live updates publish).
 */
import type { Dependencies } from '../dependencies.ts';
import { stuckAfterMs } from '../payments/reader-health.ts';
import type { ReaderSnapshot } from '../payments/types.ts';
import { forgetReaders, listStoredReaders, recordReaders, type VersionedReader } from '../store/readers.ts';
import { listReaders, retrieveReader } from '../stripe/calls.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';
import { type Access, visibleReader } from './access.ts';

/** One reader, fresh from Stripe, with its health as stored (how long its action has run). */
export async function readReader(deps: Dependencies, readerId: string, access: Access): Promise<ReaderSnapshot> {
  const found = await retrieveReader(deps, readerId);
  const reader = visibleReader(access, found === undefined ? undefined : readerSnapshot(found));
  const [recorded] = await recordReaders(deps.store, [reader], new Date(deps.clock.now()), stuckAfterMs(deps.settings));
  return recorded?.reader ?? reader;
}

/**
 * The stored readers of `locations` the caller may see, by location, then id: no Stripe call, but for a location the
 * table knows no reader of yet (a new one, or before the reconciler's first run), which is read from Stripe once.
 */
export async function readStoredReaders(
  deps: Dependencies,
  locations: readonly string[],
  access: Access,
): Promise<ReaderSnapshot[]> {
  const byLocation = await Promise.all(
    locations.map(async (location) => {
      const stored = await listStoredReaders(deps.store, location);
      return stored.length > 0 ? stored.map(({ reader }) => reader) : readReaders(deps, [location], access);
    }),
  );
  return byLocation.flat();
}

/**
 * The readers of `locations` (`*`: every location) the caller may see, fresh from Stripe and stored. A stored reader
 * of a listed location that Stripe no longer lists there is read on its own: forgotten when deleted, stored at its
 * new location when moved.
 */
export async function readReaders(
  deps: Dependencies,
  locations: readonly string[] | '*',
  access: Access,
): Promise<ReaderSnapshot[]> {
  const readers =
    locations === '*'
      ? await listReaders(deps)
      : (await Promise.all(locations.map((location) => listReaders(deps, location)))).flat();
  const snapshots = readers.map(readerSnapshot).filter((reader) => access(reader.locationId));
  const now = new Date(deps.clock.now());
  const recorded = await recordReaders(deps.store, snapshots, now, stuckAfterMs(deps.settings));
  if (locations !== '*') {
    const listed = new Set(snapshots.map((reader) => reader.id));
    const stored = (await Promise.all(locations.map((location) => listStoredReaders(deps.store, location)))).flat();
    const unlisted = stored.filter(({ reader }) => !listed.has(reader.id)).map(({ reader }) => reader.id);
    const found = await Promise.all(unlisted.map((readerId) => retrieveReader(deps, readerId)));
    await forgetReaders(
      deps.store,
      unlisted.filter((_, n) => found[n] === undefined),
    );
    const moved = found.filter((reader) => reader !== undefined).map(readerSnapshot);
    await recordReaders(deps.store, moved, now, stuckAfterMs(deps.settings));
  }
  return recorded.map(({ reader }) => reader);
}

/** The readers of one location with the version of each, as stored once read (a live-updates subscription's start). */
export async function readLocationReaders(deps: Dependencies, locationId: string): Promise<VersionedReader[]> {
  const snapshots = (await listReaders(deps, locationId))
    .map(readerSnapshot)
    .filter((reader) => reader.locationId === locationId);
  const recorded = await recordReaders(deps.store, snapshots, new Date(deps.clock.now()), stuckAfterMs(deps.settings));
  return recorded.map(({ reader, version }) => ({ reader, version }));
}

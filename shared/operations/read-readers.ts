/**
 * Readers as Stripe holds them now (GET /readers, GET /readers/{id}, a live-updates subscription to a location),
 * storing what Stripe just said (the reader → location cache, and the reader's state the live updates publish).
 */
import type { Dependencies } from '../dependencies.ts';
import type { ReaderSnapshot } from '../payments/types.ts';
import { recordReaders, type VersionedReader } from '../store/readers.ts';
import { listReaders, retrieveReader } from '../stripe/calls.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';
import { type Access, visibleReader } from './access.ts';

export async function readReader(deps: Dependencies, readerId: string, access: Access): Promise<ReaderSnapshot> {
  const found = await retrieveReader(deps, readerId);
  const reader = visibleReader(access, found === undefined ? undefined : readerSnapshot(found));
  await recordReaders(deps.store, [reader], new Date(deps.clock.now()));
  return reader;
}

/** The readers of `locations` (`*`: every location) the caller may see. */
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
  await recordReaders(deps.store, snapshots, new Date(deps.clock.now()));
  return snapshots;
}

/** The readers of one location with the version of each, as stored once read (a live-updates subscription's start). */
export async function readLocationReaders(deps: Dependencies, locationId: string): Promise<VersionedReader[]> {
  const snapshots = (await listReaders(deps, locationId))
    .map(readerSnapshot)
    .filter((reader) => reader.locationId === locationId);
  const recorded = await recordReaders(deps.store, snapshots, new Date(deps.clock.now()));
  return recorded.map(({ reader, version }) => ({ reader, version }));
}

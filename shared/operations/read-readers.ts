/**
 * Readers as Stripe holds them now (GET /readers, GET /readers/{id}), keeping the reader → location cache in step
 * with what Stripe just said.
 */
import type { Dependencies } from '../dependencies.ts';
import type { ReaderSnapshot } from '../payments/types.ts';
import { putReaderLocation, putReaderLocations, type ReaderLocation, readerLocationOf } from '../store/readers.ts';
import { listReaders, retrieveReader } from '../stripe/calls.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';
import { type Access, visibleReader } from './access.ts';

export async function readReader(deps: Dependencies, readerId: string, access: Access): Promise<ReaderSnapshot> {
  const found = await retrieveReader(deps, readerId);
  const reader = visibleReader(access, found === undefined ? undefined : readerSnapshot(found));
  const location = readerLocationOf(reader, new Date(deps.clock.now()));
  if (location !== undefined) await putReaderLocation(deps.store, location);
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
  const now = new Date(deps.clock.now());
  const cached = snapshots
    .map((reader) => readerLocationOf(reader, now))
    .filter((location): location is ReaderLocation => location !== undefined);
  await putReaderLocations(deps.store, cached);
  return snapshots;
}

/**
 * Where a reader is: from the table's reader → location cache, learned from Stripe the first time a reader is
 * seen, so authorizing a reader command usually costs no Stripe call.
 */
import { ReaderNotFoundError } from '../http/errors.ts';
import { getReaderLocation, putReaderLocation, type ReaderLocation, readerLocationOf } from '../store/readers.ts';
import { retrieveReader } from './calls.ts';
import { readerSnapshot } from './snapshots.ts';

/**
 * The reader's location: `cached` (or the cache entry) if known, else read from Stripe and cached.
 * Throws 404 `reader_not_found` for a reader Stripe does not have (or that has no location).
 */
export async function locateReader(readerId: string, cached?: ReaderLocation): Promise<ReaderLocation> {
  const known = cached ?? (await getReaderLocation(readerId));
  if (known !== undefined) return known;
  const reader = await retrieveReader(readerId);
  const location = reader === undefined ? undefined : readerLocationOf(readerSnapshot(reader), new Date());
  if (location === undefined) throw new ReaderNotFoundError();
  await putReaderLocation(location);
  return location;
}

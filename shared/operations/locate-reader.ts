/**
 * Where a reader is: from the table's reader → location cache, learned from Stripe the first time a reader is
 * seen, so authorizing a reader command usually costs no Stripe call.
 */
import type { Dependencies } from '../dependencies.ts';
import { InvalidInputError, ReaderNotFoundError } from '../payments/failures.ts';
import { stuckAfterMs } from '../payments/reader-health.ts';
import { getReaderLocation, type ReaderLocation, readerLocationOf, recordReaders } from '../store/readers.ts';
import { retrieveReader } from '../stripe/calls.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';
import { type Access, visibleReader } from './access.ts';

/**
 * The reader's location: `cached` (or the cache entry) if known, else read from Stripe and cached.
 * `reader_not_found` for a reader Stripe does not have (or that has no location), or one the caller may not see.
 */
export async function locateReader(
  deps: Dependencies,
  readerId: string,
  access: Access,
  cached?: ReaderLocation,
): Promise<ReaderLocation> {
  const known = cached ?? (await getReaderLocation(deps.store, readerId));
  if (known !== undefined) return visibleReader(access, known);
  const found = await retrieveReader(deps, readerId);
  const reader = found === undefined ? undefined : readerSnapshot(found);
  const now = new Date(deps.clock.now());
  const location = reader === undefined ? undefined : readerLocationOf(reader, now);
  if (reader === undefined || location === undefined) throw new ReaderNotFoundError();
  await recordReaders(deps.store, [reader], now, stuckAfterMs(deps.settings));
  return visibleReader(access, location);
}

/** A reader at another location than the payment cannot take it. */
export function readerElsewhereError(): InvalidInputError {
  return new InvalidInputError([{ field: 'readerId', message: 'The reader is at another location than the payment.' }]);
}

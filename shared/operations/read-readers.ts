/**
 * Readers for the POS: as stored (GET /readers, kept in step with Stripe by the reconciler and every read), or as
 * Stripe holds them now (GET /readers/{id}, GET /readers?refresh=true, a live-updates subscription to a location),
 * storing what Stripe just said (the reader → location cache, and the reader's state the live updates publish).
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import { stuckAfterMs } from '../payments/reader-health.ts';
import type { ReaderSnapshot } from '../payments/types.ts';
import {
  forgetReaders,
  listStoredFleet,
  listStoredReaders,
  markFleetSynced,
  type RecordedReader,
  recordReaders,
  type StoredReader,
  type VersionedReader,
} from '../store/readers.ts';
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
 * The stored readers of `locations` (`*`: every location) the caller may see, by location, then id: no Stripe call,
 * but for a location the table knows no reader of yet (a new one, or before the reconciler's first run), which is
 * read from Stripe once; for `*`, until the whole fleet was stored once (by the reconciler or a refresh), the fleet
 * is read from Stripe.
 */
export async function readStoredReaders(
  deps: Dependencies,
  locations: readonly string[] | '*',
  access: Access,
): Promise<ReaderSnapshot[]> {
  if (locations === '*') {
    const fleet = await listStoredFleet(deps.store);
    if (fleet.synced) return fleet.readers.map(({ reader }) => reader);
    return readReaders(deps, '*', access, { stored: fleet.readers });
  }
  const byLocation = await Promise.all(
    locations.map(async (location) => {
      const stored = await listStoredReaders(deps.store, location);
      return stored.length > 0 ? stored.map(({ reader }) => reader) : readReaders(deps, [location], access, { stored });
    }),
  );
  return byLocation.flat();
}

/**
 * The readers of `locations` (`*`: every location) the caller may see, fresh from Stripe and stored; stored readers
 * of those locations Stripe no longer lists there are read on their own (`syncStoredReaders`). `stored`: those
 * locations' stored readers, when the caller has just read them.
 */
export async function readReaders(
  deps: Dependencies,
  locations: readonly string[] | '*',
  access: Access,
  options: { stored?: readonly StoredReader[] } = {},
): Promise<ReaderSnapshot[]> {
  const [listed, stored] = await Promise.all([
    locations === '*'
      ? listReaders(deps)
      : Promise.all(locations.map((location) => listReaders(deps, location))).then((lists) => lists.flat()),
    options.stored ??
      (locations === '*'
        ? listStoredReaders(deps.store)
        : Promise.all(locations.map((location) => listStoredReaders(deps.store, location))).then((lists) =>
            lists.flat(),
          )),
  ]);
  const inScope = listed.filter((reader) => access(readerSnapshot(reader).locationId));
  const { recorded } = await syncStoredReaders(deps, inScope, stored);
  // Every reader Stripe has is stored now: `*` callers may be answered from the table from here on.
  if (locations === '*') await markFleetSynced(deps.store, new Date(deps.clock.now()));
  // A stored reader that moved to another location is stored there, and shown only when asked for that location.
  const shown = (location: string | null) =>
    access(location) && (locations === '*' || (location !== null && locations.includes(location)));
  return recorded.filter(({ reader }) => shown(reader.locationId)).map(({ reader }) => reader);
}

/** What storing a list of the readers did. */
export interface FleetSync {
  /** The listed readers, and those read on their own that Stripe still has, as stored now. */
  recorded: RecordedReader[];
  /** Readers Stripe no longer has, now forgotten, with their tombstones' versions. */
  forgotten: { readerId: string; version: number }[];
}

/**
 * Store what a list of readers said, given the stored readers of the same scope (read just before it): the listed
 * ones compared with what is stored (no further read), and each stored reader the list left out read on its own:
 * forgotten when Stripe has it no more, stored as it is when it moved to another location or was registered after
 * the list was read.
 */
export async function syncStoredReaders(
  deps: Dependencies,
  listed: readonly Stripe.Terminal.Reader[],
  stored: readonly StoredReader[],
  options: { paced?: <T>(call: () => Promise<T>) => Promise<T>; stuckAfterMs?: number } = {},
): Promise<FleetSync> {
  const paced = options.paced ?? ((call) => call());
  const now = new Date(deps.clock.now());
  const stuckAfter = options.stuckAfterMs ?? stuckAfterMs(deps.settings);
  const snapshots = listed.map(readerSnapshot);
  const states = new Map(stored.map(({ reader, state }) => [reader.id, state]));
  const recorded = await recordReaders(deps.store, snapshots, now, stuckAfter, { stored: states });
  const listedIds = new Set(snapshots.map((reader) => reader.id));
  const unlisted = stored.filter(({ reader }) => !listedIds.has(reader.id)).map(({ reader }) => reader);
  if (unlisted.length === 0) return { recorded, forgotten: [] };
  const found = await Promise.all(unlisted.map((reader) => paced(() => retrieveReader(deps, reader.id))));
  const gone = unlisted.filter((_, n) => found[n] === undefined);
  const forgotten = await forgetReaders(
    deps.store,
    gone.map((reader) => ({ readerId: reader.id, locationId: reader.locationId })),
    now,
  );
  const still = found.filter((reader) => reader !== undefined).map(readerSnapshot);
  const kept = await recordReaders(deps.store, still, now, stuckAfter, { stored: states });
  return { recorded: [...recorded, ...kept], forgotten };
}

/** The readers of one location with the version of each, as stored once read (a live-updates subscription's start). */
export async function readLocationReaders(deps: Dependencies, locationId: string): Promise<VersionedReader[]> {
  const snapshots = (await listReaders(deps, locationId))
    .map(readerSnapshot)
    .filter((reader) => reader.locationId === locationId);
  const recorded = await recordReaders(deps.store, snapshots, new Date(deps.clock.now()), stuckAfterMs(deps.settings));
  return recorded.map(({ reader, version }) => ({ reader, version }));
}

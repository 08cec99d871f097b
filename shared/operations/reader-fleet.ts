/**
 * A shop's admin runs the fleet: lists and creates locations, registers a reader at a location with the code the
 * reader shows, relabels it, and deletes it (refused while it runs an action). Stripe holds the fleet; every change
 * is stored in the table at once (so `GET /readers` and the live updates show it without waiting for the
 * reconciler), and a deleted reader becomes a tombstone the live updates announce as `reader.removed`.
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import {
  IdempotencyKeyReusedError,
  InvalidInputError,
  InvalidRegistrationCodeError,
  LocationNotFoundError,
  ReaderBusyError,
  ReaderNotFoundError,
} from '../payments/failures.ts';
import { idempotencyKeys } from '../payments/idempotency.ts';
import { stuckAfterMs } from '../payments/reader-health.ts';
import type { ReaderSnapshot } from '../payments/types.ts';
import {
  forgetReaders,
  getRemovedReader,
  getStoredReaderState,
  listStoredFleet,
  recordReaders,
  type StoredReaderState,
} from '../store/readers.ts';
import { paymentWaitingOnReader } from '../store/reconcile-queries.ts';
import { listReaders, retrieveReader } from '../stripe/calls.ts';
import { retrieveLocation } from '../stripe/configurations.ts';
import { isStripeError, stripeErrorCode, toFailure } from '../stripe/errors.ts';
import {
  createLocation as createStripeLocation,
  deleteReader as deleteStripeReader,
  listLocations,
  type NewLocation,
  registerReader as registerStripeReader,
  relabelReader as relabelStripeReader,
} from '../stripe/fleet.ts';
import { readerSnapshot } from '../stripe/snapshots.ts';
import { type Access, visibleReader } from './access.ts';

/** A location's postal address, as the API shows it. */
export interface LocationAddress {
  line1: string;
  line2: string | null;
  city: string | null;
  postalCode: string | null;
  country: string;
  state: string | null;
}

/** The Location resource. */
export interface LocationResource {
  id: string;
  displayName: string;
  address: LocationAddress;
  /** Readers stored at the location (kept in step with Stripe by the reconciler every run). */
  readerCount: number;
}

/** What every fleet call is given: by when to answer, and what names the request. */
interface FleetRequest {
  deadline: number;
  requestId: string;
  /** The admin's `sub`: a POS `Idempotency-Key` is the admin's own. */
  callerId: string;
  /** The POS's `Idempotency-Key`, when it sent one. */
  idempotencyKey?: string | undefined;
}

function locationResource(location: Stripe.Terminal.Location, readerCount: number): LocationResource {
  const address = location.address;
  return {
    id: location.id,
    displayName: location.display_name,
    address: {
      line1: address.line1 ?? '',
      line2: address.line2 || null,
      city: address.city || null,
      postalCode: address.postal_code || null,
      country: address.country ?? '',
      state: address.state || null,
    },
    readerCount,
  };
}

/** Readers stored per location: one query of the fleet. */
/**
 * Readers per location: one query of the stored fleet; before the whole fleet was ever stored (a new stack, before the
 * reconciler's first run) from Stripe's list instead, so a count is never short.
 */
async function readerCounts(deps: Dependencies): Promise<Map<string, number>> {
  const fleet = await listStoredFleet(deps.store);
  const readers = fleet.synced
    ? fleet.readers.map(({ reader }) => reader)
    : (await listReaders(deps)).map(readerSnapshot);
  const counts = new Map<string, number>();
  for (const reader of readers) {
    if (reader.locationId !== null) counts.set(reader.locationId, (counts.get(reader.locationId) ?? 0) + 1);
  }
  return counts;
}

/**
 * The caller's locations (`*`: every location of the account), newest first as Stripe lists them; a listed id Stripe
 * no longer has is left out.
 */
export async function listCallerLocations(
  deps: Dependencies,
  locations: readonly string[] | '*',
  options: { deadline: number },
): Promise<LocationResource[]> {
  const [found, counts] = await Promise.all([
    locations === '*'
      ? listLocations(deps)
      : Promise.all(locations.map((id) => retrieveLocation(deps, id, options))).then((all) =>
          all.filter((location) => location !== undefined),
        ),
    readerCounts(deps),
  ]);
  return found.map((location) => locationResource(location, counts.get(location.id) ?? 0));
}

/** The Stripe key of a create: the admin's own `Idempotency-Key`, else this request alone. */
function createScope(request: FleetRequest): string {
  return request.idempotencyKey === undefined
    ? `request:${request.requestId}`
    : `${request.callerId}:${request.idempotencyKey}`;
}

/** A different body under an `Idempotency-Key` used before is refused; other Stripe errors as the operations map them. */
function keyReused(error: unknown, what: string): unknown {
  if (stripeErrorCode(error) !== 'idempotency_error') return toFailure(error);
  return new IdempotencyKeyReusedError(
    undefined,
    `This Idempotency-Key was already used to ${what} with other values: use a new key for a new request.`,
  );
}

/** Create a location; the same `Idempotency-Key` and body again answers the same location. */
export async function createLocation(
  deps: Dependencies,
  location: NewLocation,
  request: FleetRequest,
): Promise<LocationResource> {
  try {
    const created = await createStripeLocation(deps, location, {
      deadline: request.deadline,
      idempotencyKey: idempotencyKeys.createLocation(createScope(request)),
    });
    return locationResource(created, 0);
  } catch (error) {
    // Stripe checks the address against the country (a state or postal code it requires, a format it refuses).
    if (isStripeError(error) && error.type === 'StripeInvalidRequestError' && error.param?.startsWith('address')) {
      throw new InvalidInputError([{ field: addressField(error.param), message: error.message }]);
    }
    throw keyReused(error, 'create a location');
  }
}

/** `address[postal_code]` → `address.postalCode`. */
function addressField(param: string): string {
  const inner = /^address\[(\w+)\]$/.exec(param)?.[1];
  if (inner === undefined) return 'address';
  return `address.${inner.replace(/_(\w)/g, (_, letter: string) => letter.toUpperCase())}`;
}

/**
 * Register the reader showing `registrationCode` at a location the caller may act for, and store it. An unknown or
 * used code is `invalid_registration_code`; a location Stripe does not have, `location_not_found`.
 */
export async function registerReader(
  deps: Dependencies,
  input: { registrationCode: string; locationId: string; label?: string | undefined },
  request: FleetRequest,
): Promise<ReaderSnapshot> {
  let created: Stripe.Terminal.Reader;
  try {
    created = await registerStripeReader(deps, input, {
      deadline: request.deadline,
      idempotencyKey: idempotencyKeys.registerReader(createScope(request)),
    });
  } catch (error) {
    if (isStripeError(error) && error.type === 'StripeInvalidRequestError') {
      if (error.param === 'registration_code') throw new InvalidRegistrationCodeError(error);
      if (error.param === 'location' || stripeErrorCode(error) === 'resource_missing') {
        throw new LocationNotFoundError();
      }
    }
    throw keyReused(error, 'register a reader');
  }
  const reader = readerSnapshot(created);
  const [recorded] = await recordReaders(deps.store, [reader], new Date(deps.clock.now()), stuckAfterMs(deps.settings));
  // Stripe replays a key's first answer for 24 hours, also after the reader it registered was deleted.
  if (recorded === undefined && (await getRemovedReader(deps.store, reader.id)) !== undefined) {
    throw new IdempotencyKeyReusedError(
      undefined,
      `This Idempotency-Key registered reader ${reader.id}, which has since been deleted: use a new key to register a reader again.`,
    );
  }
  return recorded?.reader ?? reader;
}

/**
 * Store what Stripe just said of one reader; the reader as stored (with its health). `stored`: its item as just read,
 * so the write needs no read of its own.
 */
async function storeReader(
  deps: Dependencies,
  reader: ReaderSnapshot,
  stored?: StoredReaderState,
): Promise<ReaderSnapshot> {
  const [recorded] = await recordReaders(
    deps.store,
    [reader],
    new Date(deps.clock.now()),
    stuckAfterMs(deps.settings),
    {
      ...(stored === undefined ? {} : { stored: new Map([[reader.id, stored]]) }),
    },
  );
  return recorded?.reader ?? reader;
}

/** Set the label of a reader the caller may see, and store it. */
export async function relabelReader(
  deps: Dependencies,
  input: { readerId: string; label: string },
  access: Access,
  request: FleetRequest,
): Promise<ReaderSnapshot> {
  // Where the reader is, from its stored item (no Stripe call) or else from Stripe; another location's is not found.
  const stored = await getStoredReaderState(deps.store, input.readerId);
  const locationId =
    stored?.locationId ?? (await retrieveLocatedReader(deps, input.readerId, request.deadline))?.locationId;
  visibleReader(access, locationId === undefined ? undefined : { locationId });
  const updated = await relabelStripeReader(deps, input.readerId, input.label, {
    deadline: request.deadline,
    idempotencyKey: idempotencyKeys.relabelReader(input.readerId, request.requestId),
  }).catch((error: unknown) => {
    throw toFailure(error, { notFound: 'reader' });
  });
  if (updated === undefined) throw new ReaderNotFoundError();
  return storeReader(deps, readerSnapshot(updated), stored?.state);
}

async function retrieveLocatedReader(
  deps: Dependencies,
  readerId: string,
  deadline: number,
): Promise<ReaderSnapshot | undefined> {
  if (deps.clock.now() >= deadline) return undefined;
  const found = await retrieveReader(deps, readerId);
  return found === undefined ? undefined : readerSnapshot(found);
}

/**
 * Delete a reader the caller may see: refused (`reader_busy`) while it runs an action, so no payment or refund on it
 * is cut off; then deleted at Stripe and forgotten here. Deleting a reader already deleted here answers as the first
 * delete did, so a retried request is harmless.
 */
export async function removeReader(
  deps: Dependencies,
  readerId: string,
  access: Access,
  request: { deadline: number },
): Promise<void> {
  const found = await retrieveReader(deps, readerId);
  if (found === undefined) {
    const removed = await getRemovedReader(deps.store, readerId);
    visibleReader(access, removed);
    return;
  }
  const reader = visibleReader(access, readerSnapshot(found));
  if (reader.action?.status === 'in_progress') {
    throw new ReaderBusyError(
      `The reader is running a ${reader.action.type.replaceAll('_', ' ')}` +
        `${reader.action.paymentIntentId === null ? '' : ` for payment ${reader.action.paymentIntentId}`}: ` +
        'let it finish, or cancel it (POST /readers/{id}/cancel-action), then delete the reader.',
    );
  }
  // A payment whose command to the reader is still on its way shows no action at Stripe yet: its claim does.
  const waiting = await paymentWaitingOnReader(deps.store, readerId);
  if (waiting !== undefined) {
    throw new ReaderBusyError(
      `Payment ${waiting} is being sent to the reader: let it finish, or cancel it ` +
        '(POST /readers/{id}/cancel-action), then delete the reader.',
    );
  }
  await deleteStripeReader(deps, readerId, { deadline: request.deadline }).catch((error: unknown) => {
    throw toFailure(error, { notFound: 'reader' });
  });
  await forgetReaders(deps.store, [{ readerId, locationId: reader.locationId }], new Date(deps.clock.now()));
}

/**
 * A shop's fleet at Stripe: Terminal locations, and readers registered, relabelled and deleted. Every request ends by
 * the request's deadline (`sendUntil`); every write but a delete carries its key from `idempotencyKeys` (deleting
 * twice deletes once: the second finds nothing).
 */
import type Stripe from 'stripe';
import type { StripeAccess } from '../dependencies.ts';
import { existing, sendUntil } from './calls.ts';

interface Deadline {
  deadline?: number;
}

/** Every location of the account, newest first. */
export async function listLocations(deps: StripeAccess): Promise<Stripe.Terminal.Location[]> {
  const client = await deps.stripe();
  return client.terminal.locations.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
}

export interface NewLocation {
  displayName: string;
  address: Stripe.AddressParam & { line1: string; country: string };
}

export async function createLocation(
  deps: StripeAccess,
  location: NewLocation,
  options: Deadline & { idempotencyKey: string },
): Promise<Stripe.Terminal.Location> {
  const client = await deps.stripe();
  const params: Stripe.Terminal.LocationCreateParams = {
    display_name: location.displayName,
    address: location.address,
  };
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.terminal.locations.create(params, { ...requestOptions, idempotencyKey: options.idempotencyKey }),
  );
}

export interface NewReader {
  registrationCode: string;
  locationId: string;
  label?: string | undefined;
}

/** Register the reader showing `registrationCode` at the location (`terminal.readers.create`). */
export async function registerReader(
  deps: StripeAccess,
  reader: NewReader,
  options: Deadline & { idempotencyKey: string },
): Promise<Stripe.Terminal.Reader> {
  const client = await deps.stripe();
  const params: Stripe.Terminal.ReaderCreateParams = {
    registration_code: reader.registrationCode,
    location: reader.locationId,
  };
  if (reader.label !== undefined) params.label = reader.label;
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.terminal.readers.create(params, { ...requestOptions, idempotencyKey: options.idempotencyKey }),
  );
}

/** Set the reader's label; undefined when Stripe does not have the reader. */
export async function relabelReader(
  deps: StripeAccess,
  readerId: string,
  label: string,
  options: Deadline & { idempotencyKey: string },
): Promise<Stripe.Terminal.Reader | undefined> {
  const client = await deps.stripe();
  return existing(() =>
    sendUntil(
      deps,
      options.deadline,
      (requestOptions) =>
        client.terminal.readers.update(
          readerId,
          { label },
          { ...requestOptions, idempotencyKey: options.idempotencyKey },
        ) as Promise<Stripe.Terminal.Reader | Stripe.Terminal.DeletedReader>,
    ),
  );
}

/** Delete (unregister) the reader; false when Stripe had no such reader (already deleted). */
export async function deleteReader(deps: StripeAccess, readerId: string, options: Deadline = {}): Promise<boolean> {
  const client = await deps.stripe();
  const deleted = await existing(async () => {
    await sendUntil(deps, options.deadline, (requestOptions) =>
      client.terminal.readers.del(readerId, {}, requestOptions),
    );
    return { id: readerId };
  });
  return deleted !== undefined;
}

/** Terminal Location objects, every non-optional field of `Stripe.Terminal.Location` present. */
import type Stripe from 'stripe';

/** The address Stripe's own examples use, given to seeded locations. */
export const SEED_ADDRESS: Stripe.Address = {
  city: 'San Francisco',
  country: 'US',
  line1: '510 Townsend Street',
  line2: null,
  postal_code: '94103',
  state: 'CA',
};

/** A new location. */
export function buildLocation(
  id: string,
  displayName: string,
  address: Stripe.Address,
  metadata: Stripe.Metadata = {},
): Stripe.Terminal.Location {
  const location: Stripe.Terminal.Location = {
    id,
    object: 'terminal.location',
    address,
    display_name: displayName,
    livemode: false,
    metadata,
  };
  return location;
}

/** Stripe's metadata updates: keys merge, a key set to '' is removed, and `metadata=''` clears all. */
import type Stripe from 'stripe';

/** Metadata after applying an update (`''` or a hash of strings) to `current`. */
export function mergeMetadata(
  current: Stripe.Metadata,
  update: Stripe.Emptyable<Stripe.MetadataParam> | undefined,
): Stripe.Metadata {
  if (update === undefined) return current;
  if (update === '' || update === null) return {};
  const merged: Stripe.Metadata = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === '' || value === null || value === undefined) delete merged[key];
    else merged[key] = String(value);
  }
  return merged;
}

/** Time units, in one place: Stripe speaks in unix seconds, JavaScript clocks in milliseconds. */

/** The whole unix second `ms` falls in (Stripe's `created`, a DynamoDB TTL). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * Building a Stripe client. The host comes from the settings, so Stripe and the project's emulator are the same
 * code path.
 */
import Stripe from 'stripe';

/** Options that point the SDK at `apiBase` (`http://127.0.0.1:12111`) instead of api.stripe.com. */
export function stripeHostOptions(
  apiBase: string | undefined,
): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (apiBase === undefined) return {};
  const url = new URL(apiBase);
  return {
    host: url.hostname,
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  };
}

/** A Stripe client for `apiKey`, against `apiBase` when given. */
export function createStripeClient(apiKey: string, apiBase?: string, timeoutMs = 8_000): Stripe {
  return new Stripe(apiKey, {
    ...stripeHostOptions(apiBase),
    // Every write carries its own deterministic idempotency key, so the SDK's own retries are safe.
    maxNetworkRetries: 1,
    timeout: timeoutMs,
    telemetry: false,
  });
}

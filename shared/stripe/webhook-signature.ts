/**
 * Stripe webhook signature verification with the `stripe` SDK. Only the SDK's webhook helper is used, so
 * the webhook receiver does not need an API client.
 */
import Stripe from 'stripe';

/** Stripe's default: a signature older than five minutes is a replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type VerificationResult =
  | { ok: true; event: Stripe.Event }
  | { ok: false; code: 'invalid_signature' | 'invalid_payload'; reason: string };

/**
 * Verifies `signatureHeader` over the exact raw body against each of `secrets` (ours during a secret roll;
 * Stripe's header itself may carry several v1 signatures, any of which may match), then checks that the
 * verified body is an event. Nothing is parsed before the signature is verified.
 */
export function verifyStripeEvent(
  rawBody: Buffer,
  signatureHeader: string | undefined,
  secrets: readonly string[],
  receivedAtMs: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): VerificationResult {
  if (!signatureHeader) return { ok: false, code: 'invalid_signature', reason: 'missing Stripe-Signature header' };
  let lastReason = 'no webhook secret configured';
  for (const secret of secrets) {
    try {
      const event = Stripe.webhooks.constructEvent(
        rawBody,
        signatureHeader,
        secret,
        toleranceSeconds,
        undefined,
        receivedAtMs,
      );
      return isEvent(event)
        ? { ok: true, event }
        : { ok: false, code: 'invalid_payload', reason: 'signed body is not a Stripe event' };
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        lastReason = error.message.split('\n')[0] ?? 'signature mismatch';
        continue;
      }
      // The signature matched but the body is not JSON.
      return { ok: false, code: 'invalid_payload', reason: 'signed body is not JSON' };
    }
  }
  return { ok: false, code: 'invalid_signature', reason: lastReason };
}

function isEvent(value: unknown): value is Stripe.Event {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  const data = event.data as Record<string, unknown> | undefined;
  return (
    typeof event.id === 'string' &&
    event.object === 'event' &&
    typeof event.type === 'string' &&
    typeof event.created === 'number' &&
    typeof data === 'object' &&
    data !== null &&
    typeof data.object === 'object' &&
    data.object !== null
  );
}

/**
 * Stripe webhook signature verification, as the `stripe` SDK's `webhooks.constructEvent` does it, with `node:crypto`:
 * the receiver, Stripe's deliveries' first stop, then loads no Stripe SDK at all (its 240 KB cost every cold start).
 * `test/unit/stripe/webhook-signature.test.ts` holds it to the SDK's verdicts over generated headers and bodies.
 *
 * The scheme: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1` an HMAC-SHA256, keyed with the
 * endpoint's signing secret, of `<t>.<raw body>` (the body decoded as UTF-8, as the SDK decodes it). A delivery
 * passes when one `v1` matches and `t` is at most the tolerance old.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Stripe from 'stripe';

/** Stripe's default: a signature older than five minutes is a replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The signature scheme Stripe signs with today (`v0` is its test-mode legacy one, never accepted). */
const SCHEME = 'v1';

export type VerificationResult =
  | { ok: true; event: Stripe.Event }
  | { ok: false; code: 'invalid_signature' | 'invalid_payload'; reason: string };

/** The header's timestamp (-1 when it has none, as the SDK reads it) and its `v1` signatures. */
function parseHeader(header: string): { timestamp: number; signatures: string[] } {
  const details = { timestamp: -1, signatures: [] as string[] };
  for (const item of header.split(',')) {
    const [key, value] = item.split('=');
    if (key === 't') details.timestamp = Number.parseInt(value ?? '', 10);
    if (key === SCHEME && value !== undefined) details.signatures.push(value);
  }
  return details;
}

/** Constant time for signatures of one length, as the SDK compares them. */
function sameSignature(expected: Buffer, candidate: string): boolean {
  const given = Buffer.from(candidate, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

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
  if (rawBody.length === 0) return { ok: false, code: 'invalid_signature', reason: 'No webhook payload was provided.' };
  const details = parseHeader(signatureHeader);
  // A `t` that is not a number is refused: the SDK would check the signature over `NaN.<body>`, then skip the age check.
  if (details.timestamp === -1 || Number.isNaN(details.timestamp)) {
    return { ok: false, code: 'invalid_signature', reason: 'Unable to extract timestamp and signatures from header' };
  }
  if (details.signatures.length === 0) {
    return { ok: false, code: 'invalid_signature', reason: 'No signatures found with expected scheme' };
  }
  const payload = new TextDecoder('utf8').decode(rawBody);
  const signed = `${details.timestamp}.${payload}`;
  const usable = secrets.filter((secret) => secret.trim().length > 0);
  if (usable.length === 0) return { ok: false, code: 'invalid_signature', reason: 'no webhook secret configured' };
  const matches = usable.some((secret) => {
    const expected = Buffer.from(createHmac('sha256', secret).update(signed, 'utf8').digest('hex'), 'utf8');
    return details.signatures.some((candidate) => sameSignature(expected, candidate));
  });
  if (!matches) {
    return {
      ok: false,
      code: 'invalid_signature',
      reason: 'No signatures found matching the expected signature for payload.',
    };
  }
  const age = Math.floor(receivedAtMs / 1000) - details.timestamp;
  if (toleranceSeconds > 0 && age > toleranceSeconds) {
    return { ok: false, code: 'invalid_signature', reason: 'Timestamp outside the tolerance zone' };
  }
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    // The signature matched but the body is not JSON.
    return { ok: false, code: 'invalid_payload', reason: 'signed body is not JSON' };
  }
  return isEvent(body)
    ? { ok: true, event: body }
    : { ok: false, code: 'invalid_payload', reason: 'signed body is not a Stripe event' };
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

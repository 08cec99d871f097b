import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_TOLERANCE_SECONDS, verifyStripeEvent } from '../../../shared/stripe/webhook-signature.ts';

const NOW_MS = Date.UTC(2026, 11, 4, 12, 0, 0);
const NOW_SECONDS = Math.floor(NOW_MS / 1000);
const SECRET = 'whsec_test_secret_one';
const OTHER_SECRET = 'whsec_test_secret_two';

const event = (id = 'evt_1') =>
  JSON.stringify({
    id,
    object: 'event',
    type: 'terminal.reader.action_succeeded',
    created: NOW_SECONDS,
    data: { object: { id: 'tmr_1', object: 'terminal.reader' } },
  });

const sign = (payload: string, secret: string, timestamp: number) =>
  createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');

/** A Stripe event's shape, as the receiver requires it of a verified body. */
function isEvent(value: unknown): boolean {
  const event = value as {
    id?: unknown;
    object?: unknown;
    type?: unknown;
    created?: unknown;
    data?: { object?: unknown };
  };
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof event.id === 'string' &&
    event.object === 'event' &&
    typeof event.type === 'string' &&
    typeof event.created === 'number' &&
    typeof event.data?.object === 'object' &&
    event.data.object !== null
  );
}

/** The SDK's verdict on the same input: what the receiver answered while it verified with `constructEvent`. */
function sdkVerdict(
  body: Buffer,
  header: string,
  secrets: readonly string[],
): 'ok' | 'invalid_signature' | 'invalid_payload' {
  for (const secret of secrets) {
    try {
      const parsed = Stripe.webhooks.constructEvent(
        body,
        header,
        secret,
        SIGNATURE_TOLERANCE_SECONDS,
        undefined,
        NOW_MS,
      );
      return isEvent(parsed) ? 'ok' : 'invalid_payload';
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) continue;
      // A signed body that is not JSON.
      if (error instanceof SyntaxError) return 'invalid_payload';
      throw error;
    }
  }
  return 'invalid_signature';
}

function verdict(body: Buffer, header: string, secrets: readonly string[]) {
  const result = verifyStripeEvent(body, header, secrets, NOW_MS);
  return result.ok ? 'ok' : result.code;
}

describe('verifyStripeEvent', () => {
  it('accepts a delivery Stripe signed, with the SDK’s own header, and returns the event', () => {
    // Prepare
    const payload = event();
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: NOW_SECONDS - 10 });

    // Act
    const result = verifyStripeEvent(Buffer.from(payload), header, [OTHER_SECRET, SECRET], NOW_MS);

    // Assess
    expect(result).toEqual({ ok: true, event: JSON.parse(payload) });
  });

  it.each([
    ['no header', undefined, 'invalid_signature'],
    ['a header without a timestamp', `v1=${sign(event(), SECRET, NOW_SECONDS)}`, 'invalid_signature'],
    ['a timestamp that is not a number', `t=abc,v1=${sign(event(), SECRET, Number.NaN)}`, 'invalid_signature'],
    ['only the legacy v0 scheme', `t=${NOW_SECONDS},v0=${sign(event(), SECRET, NOW_SECONDS)}`, 'invalid_signature'],
    [
      'another secret’s signature',
      `t=${NOW_SECONDS},v1=${sign(event(), OTHER_SECRET, NOW_SECONDS)}`,
      'invalid_signature',
    ],
    [
      'a signature older than the tolerance',
      `t=${NOW_SECONDS - SIGNATURE_TOLERANCE_SECONDS - 1},v1=${sign(event(), SECRET, NOW_SECONDS - SIGNATURE_TOLERANCE_SECONDS - 1)}`,
      'invalid_signature',
    ],
    [
      'a body signed for another timestamp',
      `t=${NOW_SECONDS},v1=${sign(event(), SECRET, NOW_SECONDS - 1)}`,
      'invalid_signature',
    ],
  ])('refuses %s', (_, header, code) => {
    // Act
    const result = verifyStripeEvent(Buffer.from(event()), header, [SECRET], NOW_MS);

    // Assess
    expect(result).toMatchObject({ ok: false, code });
  });

  it.each(['v1', 'v1='])(
    'judges a header with `%s` (no value) by its other signatures, where the SDK throws',
    (bare) => {
      // Prepare
      const payload = event();
      const good = sign(payload, SECRET, NOW_SECONDS);

      // Act
      const alone = verifyStripeEvent(Buffer.from(payload), `t=${NOW_SECONDS},${bare}`, [SECRET], NOW_MS);
      const beside = verifyStripeEvent(Buffer.from(payload), `t=${NOW_SECONDS},${bare},v1=${good}`, [SECRET], NOW_MS);

      // Assess
      expect(alone).toMatchObject({ ok: false, code: 'invalid_signature' });
      expect(beside).toMatchObject({ ok: true });
      expect(() => Stripe.webhooks.constructEvent(payload, `t=${NOW_SECONDS},${bare}`, SECRET)).toThrow(
        'secureCompare',
      );
    },
  );

  it('tells a signed body that is not an event, or not JSON, from a bad signature', () => {
    // Prepare
    const notAnEvent = JSON.stringify({ id: 'evt_1', object: 'charge' });
    const notJson = '{"id": "evt_1", ';

    // Act
    const results = [notAnEvent, notJson].map((payload) =>
      verifyStripeEvent(
        Buffer.from(payload),
        `t=${NOW_SECONDS},v1=${sign(payload, SECRET, NOW_SECONDS)}`,
        [SECRET],
        NOW_MS,
      ),
    );

    // Assess
    expect(results).toEqual([
      { ok: false, code: 'invalid_payload', reason: 'signed body is not a Stripe event' },
      { ok: false, code: 'invalid_payload', reason: 'signed body is not JSON' },
    ]);
  });

  it('reaches the Stripe SDK’s verdict on generated headers, bodies, secrets and ages', () => {
    // Prepare: headers built from real signatures, tampered, reordered, padded and mixed with other schemes.
    const secret = fc.constantFrom(SECRET, OTHER_SECRET, 'whsec_x', ' ', '');
    const payload = fc.oneof(
      { weight: 4, arbitrary: fc.string({ minLength: 1 }).map((id) => event(id)) },
      fc.string({ minLength: 1 }),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    );
    const age = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: -60, max: SIGNATURE_TOLERANCE_SECONDS }) },
      fc.integer({ min: -600, max: 900 }),
      fc.constantFrom(SIGNATURE_TOLERANCE_SECONDS, SIGNATURE_TOLERANCE_SECONDS + 1),
    );
    const part = (body: string, signedAge: number) =>
      fc.oneof(
        { weight: 4, arbitrary: secret.map((key) => `v1=${sign(body, key, NOW_SECONDS - signedAge)}`) },
        fc.tuple(secret, age).map(([key, seconds]) => `v1=${sign(body, key, NOW_SECONDS - seconds)}`),
        secret.map((key) => `v0=${sign(body, key, NOW_SECONDS - signedAge)}`),
        fc
          .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 })
          .map((hex) => `v1=${hex}`),
        // (A `v1` with no value makes the SDK throw rather than judge: that header is tested on its own above.)
        fc.constantFrom('x=1', 'v1=0', ''),
      );
    const input = fc.tuple(payload, age).chain(([body, timestampAge]) =>
      fc.record({
        body: fc.constant(body),
        timestampAge: fc.option(fc.constant(timestampAge), { nil: undefined, freq: 8 }),
        parts: fc.array(part(body, timestampAge), { maxLength: 3 }),
        secrets: fc.oneof(
          { weight: 3, arbitrary: fc.constant([SECRET]) },
          fc.array(secret, { minLength: 1, maxLength: 2 }),
        ),
        truncate: fc.constantFrom(false, false, false, true),
      }),
    );

    const seen = { ok: 0, invalid_signature: 0, invalid_payload: 0 };

    // Act & Assess
    fc.assert(
      fc.property(input, ({ body, timestampAge, parts, secrets, truncate }) => {
        const timestamp = timestampAge === undefined ? [] : [`t=${NOW_SECONDS - timestampAge}`];
        const header = [...timestamp, ...parts].join(',');
        const raw = Buffer.from(truncate && body.length > 1 ? body.slice(0, -1) : body, 'utf8');
        if (header === '') return;
        const ours = verdict(raw, header, secrets);
        expect(ours).toBe(sdkVerdict(raw, header, secrets));
        seen[ours] += 1;
      }),
      { numRuns: 2_000, seed: 20261204 },
    );
    // The generated cases reach every verdict, not only refusals.
    expect(seen.ok).toBeGreaterThan(50);
    expect(seen.invalid_payload).toBeGreaterThan(50);
    expect(seen.invalid_signature).toBeGreaterThan(50);
  });
});

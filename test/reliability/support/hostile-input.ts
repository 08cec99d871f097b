/**
 * Generators of hostile input for the POS API and the webhook route: wrong types, values out of range, unknown
 * and prototype-polluting keys, malformed JSON, deep nesting, unusual unicode, wrong content types, and tokens an
 * attacker can make (forged, expired, from another key, `alg: none`, HS256 with the public key). Every value
 * generated here is invalid for the place it goes, so no request built from it may change anything.
 */
import { createPublicKey } from 'node:crypto';
import fc from 'fast-check';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { createJwtIssuer, issuerFromKey, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../../local/jwt-issuer.ts';
import { MAXIMUM_AMOUNT } from '../../../shared/payments/money.ts';
import type { LocalStack } from '../../support/stack.ts';

/** Keys that reach `Object.prototype` or shadow its methods when an object is built carelessly. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/**
 * Ill-formed UTF-16 (a lone surrogate, as a JSON `\ud800` escape makes): no URL or form encoding can carry it, so
 * it can never reach Stripe.
 */
export const LONE_SURROGATES = ['\ud800', 'a\udfffb'];

/** Strings that break naive handling: NUL, direction overrides, zero-width, look-alike digits, injections. */
export const AWKWARD_STRINGS = [
  '\u0000',
  '\u202eusd',
  '\u200b',
  '１２３',
  '𝓊𝓈𝒹',
  '🧾💳',
  'Ω≈ç√',
  '"; DROP TABLE payments; --',
  '\u0024{jndi:ldap://x}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  ' ',
];

/** Any JSON value (bounded), for places where the type itself is wrong. */
const jsonValue = fc.jsonValue({ maxDepth: 3 });

/** Values that are not a valid amount: wrong types, fractions, zero, negatives, beyond Stripe's maximum. */
export const badAmount = fc.oneof(
  fc.constantFrom(0, -1, -50, 0.5, 1299.99, MAXIMUM_AMOUNT + 1, Number.MAX_SAFE_INTEGER, 1e300, -0.0001),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
  fc.integer({ max: 0 }),
  fc.integer({ min: MAXIMUM_AMOUNT + 1 }),
  fc.string(),
  fc.constantFrom('1299', '1e3', '0x10', '１２３', null, true, false, [], {}, [1299], { value: 1299 }),
);

/** Not a string of 1–`max` characters. */
export function badBoundedString(max: number) {
  return fc.oneof(
    fc.constantFrom('', 'x'.repeat(max + 1), null, 0, 1, true, [], {}, ['a'], { id: 'a' }),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.string(), { minLength: 1, maxLength: 3 }),
    fc.string({ minLength: max + 1, maxLength: max + 40, unit: 'grapheme' }),
  );
}

/** Not a lower-case three-letter currency Stripe offers Terminal payments in. */
export const badCurrency = fc.oneof(
  fc.constantFrom(
    'USD',
    'Usd',
    'us',
    'usdd',
    'xxx',
    'abc',
    'zzz',
    '',
    'u s',
    'usd ',
    '𝓊𝓈𝒹',
    '\u202eusd',
    null,
    840,
    true,
    [],
    {},
  ),
  fc.string({ minLength: 4, maxLength: 20 }),
  fc.stringMatching(/^[A-Z]{3}$/),
);

/** Not a boolean. */
export const badBoolean = fc.oneof(
  fc.constantFrom('true', 'false', 0, 1, null, [], {}, 'yes'),
  fc.string(),
  fc.integer(),
);

/** Metadata Stripe would refuse: more than 20 keys, bracketed or long keys, long or non-string values. */
export const badMetadata = fc.oneof(
  fc.constantFrom(null, 'note', 1, true, ['a'], { 'a[b]': 'x' }, { ['k'.repeat(41)]: 'v' }, { note: 'v'.repeat(501) }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string(), { minKeys: 21, maxKeys: 30 }),
  fc.record({ note: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object()) }),
  fc
    .letrec((tie) => ({
      nested: fc.oneof({ depthSize: 'small' }, fc.string(), fc.dictionary(fc.string(), tie('nested'))),
    }))
    // Only what is not valid metadata: an empty map or one of strings alone is.
    .nested.filter(
      (value) => typeof value === 'object' && Object.values(value as object).some((inner) => typeof inner !== 'string'),
    ),
);

/** A field name that no route accepts, including the prototype-polluting ones. */
export const unknownKey = fc.oneof(
  fc.constantFrom(...PROTOTYPE_KEYS, 'amount_to_capture', 'status', 'id', 'locationID', ' amount', 'AMOUNT'),
  fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
);

/** Body text that is not JSON, or JSON no route can read. */
export const MALFORMED_JSON = [
  '{',
  '}',
  '{"amount":}',
  "{'amount': 1299}",
  '{amount: 1299}',
  '[1,]',
  '{"a":1,}',
  'NaN',
  'undefined',
  '{"amount": 01}',
  '{"amount": 1299} trailing',
  '\ufeff{"amount": 1299}',
  '{"a": "\\x41"}',
  '{"a": "\\ud800"',
  '\u0000',
  '{"__proto__": {"polluted": true}}',
  '{"constructor": {"prototype": {"polluted": true}}}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
];

/** Content types a JSON body must not be accepted under. */
export const WRONG_CONTENT_TYPES: (string | null)[] = [
  null,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/octet-stream',
  'text/json',
  'application/jsonx',
  'image/png',
];

/** Path segments that name no payment or reader (too long, encoded tricks, unicode, other object kinds). */
export const badId = fc.oneof(
  fc.constantFrom(
    'pi_does_not_exist',
    'tmr_does_not_exist',
    'ch_123',
    'evt_123',
    '%00',
    '..',
    '%2e%2e',
    '%2F',
    'pi_%00x',
    `pi_${'a'.repeat(300)}`,
    '%F0%9F%92%B3',
    '%ED%A0%80',
    '%',
    'null',
    'undefined',
    '__proto__',
    'constructor',
  ),
  fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }).map(encodeURIComponent),
  fc.stringMatching(/^pi_[A-Za-z0-9]{24}$/),
  fc.stringMatching(/^tmr_[A-Za-z0-9]{14}$/),
);

/** Query values no listing accepts. */
export const badLimit = fc.oneof(
  fc.constantFrom('0', '101', '-1', '1.5', 'abc', '', '1e2', '0x10', '１０', '%00', '99999999999999999999'),
  fc.integer({ min: 101 }).map(String),
  fc.integer({ max: 0 }).map(String),
);

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token an attacker can produce, and what it tries. */
export interface HostileToken {
  name: string;
  /** The full `Authorization` header value, or null for none. */
  authorization: string | null;
}

/**
 * Tokens the JWT authorizer must refuse for a caller of `locationId`: each would pass if one check were missing.
 */
export async function hostileTokens(stack: LocalStack, locationId: string): Promise<HostileToken[]> {
  const valid = await stack.token([locationId]);
  const [header = '', , signature = ''] = valid.split('.');
  const claims = decodeJwt(valid);
  const kid = stack.issuer.privateJwk.kid as string;
  const now = Math.floor(Date.now() / 1000);
  const everyLocation = { ...claims, 'custom:locations': '*' };

  const privateKey = await importJWK(stack.issuer.privateJwk, 'RS256');
  const publicPem = createPublicKey({
    key: stack.issuer.jwks.keys[0] as unknown as import('node:crypto').JsonWebKey,
    format: 'jwk',
  })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const otherKey = (await createJwtIssuer()).privateJwk;
  const impostor = await issuerFromKey({ ...otherKey, kid }, LOCAL_ISSUER, LOCAL_AUDIENCE);
  const signWith = (protectedHeader: Record<string, unknown>, payload: Record<string, unknown>) =>
    new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(privateKey);

  const tokens: [string, string | null][] = [
    ['no Authorization header', null],
    ['empty bearer', 'Bearer '],
    ['basic credentials', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['not a JWT', 'Bearer not-a-jwt'],
    ['three empty parts', 'Bearer ..'],
    ['payload changed, signature kept', `Bearer ${header}.${base64url(everyLocation)}.${signature}`],
    ['signature removed', `Bearer ${header}.${base64url(claims)}.`],
    ['alg none', `Bearer ${base64url({ alg: 'none', typ: 'JWT', kid })}.${base64url(everyLocation)}.`],
    ['alg None', `Bearer ${base64url({ alg: 'None', typ: 'JWT', kid })}.${base64url(everyLocation)}.`],
    [
      'HS256 signed with the public key',
      `Bearer ${await new SignJWT(everyLocation)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
        .sign(new TextEncoder().encode(publicPem))}`,
    ],
    ['another key under the same kid', `Bearer ${await impostor.sign({ locations: '*' })}`],
    ['expired', `Bearer ${await stack.token([locationId], { expiresInSeconds: -120 })}`],
    ['not valid yet', `Bearer ${await stack.token([locationId], { claims: { nbf: now + 3600 } })}`],
    ['issued in the future', `Bearer ${await stack.token([locationId], { claims: { iat: now + 3600 } })}`],
    ['another issuer', `Bearer ${await stack.token('*', { claims: { iss: 'https://issuer.example.com' } })}`],
    ['another audience', `Bearer ${await stack.token('*', { claims: { aud: 'another-app' } })}`],
    ['no expiry', `Bearer ${await signWith({ alg: 'RS256', kid }, { ...everyLocation, exp: undefined })}`],
    ['no kid', `Bearer ${await signWith({ alg: 'RS256' }, everyLocation)}`],
    ['unknown kid', `Bearer ${await signWith({ alg: 'RS256', kid: 'unknown-key' }, everyLocation)}`],
    ['two tokens', `Bearer ${valid}, Bearer ${valid}`],
    ['token in lower-case scheme with junk', `bearer ${valid}x`],
  ];
  return tokens.map(([name, authorization]) => ({ name, authorization }));
}

/** Any JSON value: a whole body of the wrong kind, or the value of a key no route accepts. */
export const anyJson = jsonValue;

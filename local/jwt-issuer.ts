/**
 * The local stand-in for the Cognito user pool: an RS256 key pair generated at start, ID tokens shaped like
 * Cognito's (`token_use: 'id'`, `custom:locations`), and the verifier the local gateway uses with the rules of
 * API Gateway's JWT authorizer.
 */
import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

/** The issuer and audience tokens carry; the audience plays the Cognito app client id. */
export const LOCAL_ISSUER = 'https://local-issuer.terminal-payments.invalid';
export const LOCAL_AUDIENCE = 'terminal-payments-pos';

export interface TokenRequest {
  /** Location ids the caller may act for, or `'*'` for all (the `custom:locations` claim). */
  locations: readonly string[] | '*';
  /** Cognito's `cognito:username`; also the seed of `sub`. */
  username?: string;
  /** `admin`: the `custom:role` claim that opens the fleet routes; none by default. */
  role?: 'admin';
  /** Seconds until expiry; 24 h (Cognito's longest ID token) by default. Negative gives an expired token. */
  expiresInSeconds?: number;
  /** Extra or overriding claims (tests: wrong `aud`, `nbf` in the future …). */
  claims?: JWTPayload & Record<string, unknown>;
}

export interface JwtIssuer {
  issuer: string;
  audience: string;
  /** The public keys, as a JWKS document would serve them. */
  jwks: JSONWebKeySet;
  /** The private key, so `local/token.ts` can mint tokens for the running stack. */
  privateJwk: JWK;
  sign(request: TokenRequest): Promise<string>;
}

/** Generate a key pair and return an issuer for it. */
export async function createJwtIssuer(options: { issuer?: string; audience?: string } = {}): Promise<JwtIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
  return issuerFromKey(privateJwk, options.issuer ?? LOCAL_ISSUER, options.audience ?? LOCAL_AUDIENCE, {
    keys: [publicJwk],
  });
}

/** An issuer for an existing private key (the one the running stack wrote to `.local/issuer.json`). */
export async function issuerFromKey(
  privateJwk: JWK,
  issuer: string,
  audience: string,
  jwks?: JSONWebKeySet,
): Promise<JwtIssuer> {
  const key = await importJWK(privateJwk, 'RS256');
  const kid = privateJwk.kid ?? randomUUID();
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  return {
    issuer,
    audience,
    jwks: jwks ?? { keys: [{ ...publicJwk, use: 'sig' }] },
    privateJwk,
    async sign(request) {
      const username = request.username ?? 'pos-user';
      const now = Math.floor(Date.now() / 1000);
      const locations = request.locations === '*' ? '*' : request.locations.join(',');
      // Claims given by the caller come last, so tests can forge any of them (an `iat` in the future …).
      return new SignJWT({
        sub: `local-${username}`,
        'cognito:username': username,
        'custom:locations': locations,
        ...(request.role === undefined ? {} : { 'custom:role': request.role }),
        token_use: 'id',
        auth_time: now,
        event_id: randomUUID(),
        iss: issuer,
        aud: audience,
        iat: now,
        exp: now + (request.expiresInSeconds ?? 24 * 60 * 60),
        jti: randomUUID(),
        ...request.claims,
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .sign(key);
    },
  };
}

/** Outcome of checking an `Authorization` header. */
export type VerificationResult =
  | { ok: true; claims: Record<string, string> }
  | { ok: false; missing: boolean; description: string };

/** What the gateway needs to check tokens. */
export interface JwtVerifier {
  verify(authorization: string | undefined): Promise<VerificationResult>;
}

/**
 * Checks a token as API Gateway's JWT authorizer does: the key is picked by `kid` from the issuer's JWKS,
 * RS256 only (so `alg: none` and HS256 signed with the public key fail), `iss` must match, `aud` (or
 * `client_id` when there is no `aud`) must be the audience, `exp` in the future, `nbf` and `iat` in the past.
 * Claims come out as API Gateway hands them to a payload 2.0 handler: every value a string.
 */
export function createJwtVerifier(options: { issuer: string; audience: string; jwks: JSONWebKeySet }): JwtVerifier {
  const keys = createLocalJWKSet(options.jwks);
  return {
    async verify(authorization) {
      const token = authorization?.replace(/^Bearer(\s+|$)/i, '').trim();
      if (!token) return { ok: false, missing: true, description: 'no token' };
      try {
        // API Gateway selects the signing key by `kid`; a token without one matches no key.
        if (!decodeProtectedHeader(token).kid) throw new Error('the token has no key id');
        const { payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          algorithms: ['RS256'],
          requiredClaims: ['exp'],
        });
        if (!hasAudience(payload, options.audience)) throw new Error('the token has an invalid audience');
        if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000)) {
          throw new Error('the token was issued in the future');
        }
        return { ok: true, claims: claimsAsApiGatewayPassesThem(payload) };
      } catch (error) {
        return { ok: false, missing: false, description: (error as Error).message };
      }
    },
  };
}

/** `aud` decides when present; API Gateway looks at `client_id` only for tokens without `aud` (access tokens). */
function hasAudience(payload: JWTPayload, audience: string): boolean {
  if (payload.aud !== undefined) {
    return Array.isArray(payload.aud) ? payload.aud.includes(audience) : payload.aud === audience;
  }
  return payload.client_id === audience;
}

/**
 * API Gateway flattens claims to strings: numbers and booleans as text, arrays as `[a b]`, objects as JSON,
 * null claims left out.
 */
export function claimsAsApiGatewayPassesThem(payload: JWTPayload): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) claims[name] = `[${value.map(String).join(' ')}]`;
    else if (typeof value === 'object') claims[name] = JSON.stringify(value);
    else claims[name] = String(value);
  }
  return claims;
}

/**
 * The POS token check of the WebSocket API's `$connect` authorizer, with the rules of the HTTP API's JWT
 * authorizer: RS256 only, the key chosen by `kid` from the issuer's JWKS, `iss` the issuer, `aud` one of the
 * audiences (or `client_id` for a token with no `aud`), `exp` in the future, `nbf` and `iat` not.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';

export interface TokenVerifier {
  /** The token's claims; throws when it is not valid. */
  verify(token: string): Promise<JwtPayload>;
}

export interface TokenRules {
  issuer: string;
  audiences: readonly string[];
  /** Where the issuer's keys are published; `{issuer}/.well-known/jwks.json` by default. */
  jwksUri?: string;
  /** The keys themselves (the local issuer's), so nothing is fetched. */
  jwks?: { keys: object[] };
  now?: () => number;
}

export function createTokenVerifier(rules: TokenRules): TokenVerifier {
  const now = rules.now ?? Date.now;
  const verifier = JwtVerifier.create({
    issuer: rules.issuer,
    // `aud` or `client_id`: checked below, as API Gateway does.
    audience: null,
    ...(rules.jwksUri === undefined ? {} : { jwksUri: rules.jwksUri }),
    customJwtCheck: ({ header, payload }) => {
      if (header.alg !== 'RS256') throw new Error('the token is not signed with RS256');
      if (typeof header.kid !== 'string') throw new Error('the token has no key id');
      const audience = payload.aud ?? payload.client_id;
      const given = Array.isArray(audience) ? audience : [audience];
      if (!given.some((value) => typeof value === 'string' && rules.audiences.includes(value))) {
        throw new Error('the token has an invalid audience');
      }
      if (typeof payload.exp !== 'number') throw new Error('the token has no expiry');
      if (typeof payload.iat === 'number' && payload.iat > Math.floor(now() / 1000)) {
        throw new Error('the token was issued in the future');
      }
    },
  });
  if (rules.jwks !== undefined) verifier.cacheJwks(rules.jwks as never);
  return { verify: (token) => verifier.verify(token) };
}

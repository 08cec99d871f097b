/**
 * The `$connect` authorizer's token check (aws-jwt-verify) holds the HTTP API's rules: the same tokens pass and fail
 * as with the local gateway's JWT check, which plays API Gateway's JWT authorizer.
 */
import { importJWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createJwtIssuer,
  createJwtVerifier,
  type JwtIssuer,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
} from '../../../local/jwt-issuer.ts';
import { createTokenVerifier, type TokenVerifier } from '../../../shared/live/token.ts';

let issuer: JwtIssuer;
let live: TokenVerifier;
let http: ReturnType<typeof createJwtVerifier>;

beforeAll(async () => {
  issuer = await createJwtIssuer();
  live = createTokenVerifier({ issuer: issuer.issuer, audiences: [issuer.audience], jwks: issuer.jwks });
  http = createJwtVerifier(issuer);
});

async function signed(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const key = await importJWK(issuer.privateJwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: LOCAL_ISSUER, sub: 'u1', iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: issuer.privateJwk.kid as string, ...header })
    .sign(key);
}

const now = () => Math.floor(Date.now() / 1000);

describe('the live token check', () => {
  it.each([
    ['an ID token for the audience', () => signed({ aud: LOCAL_AUDIENCE }), true],
    ['an access token whose client_id is the audience', () => signed({ client_id: LOCAL_AUDIENCE }), true],
    ['one audience among several', () => signed({ aud: ['other', LOCAL_AUDIENCE] }), true],
    ['another audience', () => signed({ aud: 'other' }), false],
    ['no audience at all', () => signed({}), false],
    ['another issuer', () => signed({ aud: LOCAL_AUDIENCE, iss: 'https://elsewhere.invalid' }), false],
    ['an expired token', () => signed({ aud: LOCAL_AUDIENCE, exp: now() - 60 }), false],
    ['a token not valid yet', () => signed({ aud: LOCAL_AUDIENCE, nbf: now() + 600 }), false],
    ['a token issued in the future', () => signed({ aud: LOCAL_AUDIENCE, iat: now() + 600 }), false],
    ['a token without a key id', () => signed({ aud: LOCAL_AUDIENCE }, { kid: undefined }), false],
    [
      'a token signed by another key with the same key id',
      async () => {
        const other = await createJwtIssuer();
        const key = await importJWK(other.privateJwk, 'RS256');
        return new SignJWT({ iss: LOCAL_ISSUER, sub: 'u1', aud: LOCAL_AUDIENCE, iat: now(), exp: now() + 600 })
          .setProtectedHeader({ alg: 'RS256', kid: issuer.privateJwk.kid as string })
          .sign(key);
      },
      false,
    ],
    [
      'an HS256 token keyed with the public key',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(issuer.jwks.keys[0]));
        return new SignJWT({ iss: LOCAL_ISSUER, sub: 'u1', aud: LOCAL_AUDIENCE, iat: now(), exp: now() + 600 })
          .setProtectedHeader({ alg: 'HS256', kid: issuer.privateJwk.kid as string })
          .sign(secret);
      },
      false,
    ],
  ])('%s: accepted %s, as by the HTTP API', async (_name, token, accepted) => {
    // Prepare
    const jwt = await token();

    // Act
    const byLive = await live.verify(jwt).then(
      () => true,
      () => false,
    );
    const byHttp = (await http.verify(`Bearer ${jwt}`)).ok;

    // Assess
    expect(byLive).toBe(accepted);
    expect(byHttp).toBe(accepted);
  });
});

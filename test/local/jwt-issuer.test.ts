import { importJWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  claimsAsApiGatewayPassesThem,
  createJwtIssuer,
  createJwtVerifier,
  type JwtIssuer,
  type JwtVerifier,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
} from '../../local/jwt-issuer.ts';

let issuer: JwtIssuer;
let verifier: JwtVerifier;

beforeAll(async () => {
  issuer = await createJwtIssuer();
  verifier = createJwtVerifier(issuer);
});

/** A token signed with the issuer's own key but with exactly these claims (no `aud` unless given). */
async function signed(claims: Record<string, unknown>): Promise<string> {
  const key = await importJWK(issuer.privateJwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: LOCAL_ISSUER, iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: issuer.privateJwk.kid as string })
    .sign(key);
}

describe('the local issuer', () => {
  it('signs Cognito-like ID tokens carrying the caller’s locations', async () => {
    // Act
    const result = await verifier.verify(`Bearer ${await issuer.sign({ locations: ['tml_1', 'tml_2'] })}`);

    // Assess
    expect(result.ok).toBe(true);
    expect(result.ok && result.claims).toMatchObject({
      'custom:locations': 'tml_1,tml_2',
      token_use: 'id',
      iss: LOCAL_ISSUER,
      aud: LOCAL_AUDIENCE,
    });
  });
});

describe('the audience rule of the JWT authorizer', () => {
  it.each([
    { case: 'client_id is the audience and there is no aud', claims: { client_id: LOCAL_AUDIENCE }, ok: true },
    { case: 'aud is a list that holds the audience', claims: { aud: ['other', LOCAL_AUDIENCE] }, ok: true },
    {
      case: 'aud is another app even though client_id matches',
      claims: { aud: 'other', client_id: LOCAL_AUDIENCE },
      ok: false,
    },
    { case: 'neither aud nor client_id is present', claims: {}, ok: false },
    { case: 'exp is missing', claims: { aud: LOCAL_AUDIENCE, exp: undefined }, ok: false },
  ])('decides $ok when $case', async ({ claims, ok }) => {
    // Act
    const result = await verifier.verify(await signed(claims));

    // Assess
    expect(result.ok).toBe(ok);
  });
});

describe('claims as API Gateway passes them to a handler', () => {
  it.each([
    { claim: 'a number', value: 1796114328, expected: '1796114328' },
    { claim: 'a boolean', value: true, expected: 'true' },
    { claim: 'a list', value: ['admins', 'cashiers'], expected: '[admins cashiers]' },
    { claim: 'an object', value: { tier: 'gold' }, expected: '{"tier":"gold"}' },
    { claim: 'a string', value: 'tml_1,tml_2', expected: 'tml_1,tml_2' },
  ])('turns $claim into a string', ({ value, expected }) => {
    // Act
    const claims = claimsAsApiGatewayPassesThem({ claim: value });

    // Assess
    expect(claims).toEqual({ claim: expected });
  });

  it('leaves out null claims', () => {
    // Act
    const claims = claimsAsApiGatewayPassesThem({ sub: 'user', email: null } as never);

    // Assess
    expect(claims).toEqual({ sub: 'user' });
  });
});

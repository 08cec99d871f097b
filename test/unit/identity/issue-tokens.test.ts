import { AdminGetUserCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { PreTokenGenerationTriggerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { handler, isPrivileged, issueTokens } from '../../../functions/identity/issue-tokens.ts';
import { callerFromClaims, MFA_REQUIRED_CLAIM } from '../../../shared/http/caller.ts';
import { ForbiddenError } from '../../../shared/http/errors.ts';

// Cognito has no local stand-in: its client is mocked.
const cognito = mockClient(CognitoIdentityProviderClient);
afterEach(() => cognito.reset());

/** The event Cognito sends on a sign-in, for a user with `attributes`. */
function signIn(attributes: Record<string, string>, triggerSource = 'TokenGeneration_Authentication') {
  return {
    version: '1',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_Pool',
    userName: 'manager@example.com',
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: 'pos-app' },
    triggerSource,
    request: {
      userAttributes: { sub: 'user-1', email: 'manager@example.com', ...attributes },
      groupConfiguration: { groupsToOverride: [], iamRolesToOverride: [] },
    },
    response: { claimsOverrideDetails: {} },
  } as unknown as PreTokenGenerationTriggerEvent;
}

/** The ID token's claims as Cognito would issue them after the trigger's answer. */
function claimsIssued(answer: PreTokenGenerationTriggerEvent): Record<string, string> {
  const { claimsToSuppress = [], claimsToAddOrOverride = {} } = answer.response.claimsOverrideDetails;
  const claims: Record<string, string> = { ...answer.request.userAttributes, ...claimsToAddOrOverride };
  for (const name of claimsToSuppress) delete claims[name];
  return claims;
}

const mfaSettings = (list: string[] | undefined) =>
  cognito.on(AdminGetUserCommand).resolves({ Username: 'manager@example.com', UserMFASettingList: list });

describe('issue-tokens (Cognito pre token generation)', () => {
  it.each([
    ['every location', { 'custom:locations': '*' }],
    ['every location among others', { 'custom:locations': 'tml_A, *' }],
    ['an admin of one location', { 'custom:locations': 'tml_A', 'custom:role': 'admin' }],
  ])('withholds the claims of %s signed in without a second factor, and says why', async (_, attributes) => {
    // Prepare
    mfaSettings(undefined);

    // Act
    const answer = await issueTokens(signIn(attributes), { cognito: new CognitoIdentityProviderClient({}) });

    // Assess
    const claims = claimsIssued(answer);
    expect(claims['custom:locations']).toBeUndefined();
    expect(claims['custom:role']).toBeUndefined();
    expect(claims[MFA_REQUIRED_CLAIM]).toBe('true');
    expect(cognito.commandCalls(AdminGetUserCommand)[0]?.args[0].input).toEqual({
      UserPoolId: 'eu-west-1_Pool',
      Username: 'manager@example.com',
    });
    const thrown = (() => {
      try {
        callerFromClaims(claims);
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(ForbiddenError);
    expect((thrown as ForbiddenError).message).toContain('second factor');
  });

  it.each(['TokenGeneration_Authentication', 'TokenGeneration_RefreshTokens'])(
    'issues the claims unchanged to a privileged user with an authenticator app (%s)',
    async (source) => {
      // Prepare
      mfaSettings(['SOFTWARE_TOKEN_MFA']);
      const event = signIn({ 'custom:locations': '*', 'custom:role': 'admin' }, source);

      // Act
      const answer = await issueTokens(event, { cognito: new CognitoIdentityProviderClient({}) });

      // Assess
      expect(answer).toEqual(event);
      expect(callerFromClaims(claimsIssued(answer))).toEqual({ sub: 'user-1', locations: '*', admin: true });
    },
  );

  it('leaves a cashier’s token alone without asking Cognito anything', async () => {
    // Prepare
    const event = signIn({ 'custom:locations': 'tml_A,tml_B' });

    // Act
    const answer = await issueTokens(event, { cognito: new CognitoIdentityProviderClient({}) });

    // Assess
    expect(answer).toEqual(event);
    expect(cognito.commandCalls(AdminGetUserCommand)).toHaveLength(0);
  });

  it('fails the sign-in when Cognito cannot say whether the user has a second factor', async () => {
    // Prepare
    cognito.on(AdminGetUserCommand).rejects(new Error('Rate exceeded'));

    // Act
    const signingIn = issueTokens(signIn({ 'custom:locations': '*' }), {
      cognito: new CognitoIdentityProviderClient({}),
    });

    // Assess
    await expect(signingIn).rejects.toThrow('Rate exceeded');
  });

  it('answers through the deployed handler, with its own Cognito client', async () => {
    // Prepare
    mfaSettings(['SMS_MFA']);

    // Act
    const answer = await handler(signIn({ 'custom:role': 'admin', 'custom:locations': 'tml_A' }));

    // Assess: SMS is not the pool's second factor, so it does not count.
    expect(claimsIssued(answer)[MFA_REQUIRED_CLAIM]).toBe('true');
  });

  it('tells privileged users from others by their attributes', () => {
    // Act & Assess
    expect(isPrivileged({ 'custom:locations': '*' })).toBe(true);
    expect(isPrivileged({ 'custom:locations': 'tml_A', 'custom:role': 'admin' })).toBe(true);
    expect(isPrivileged({ 'custom:locations': 'tml_A', 'custom:role': 'cashier' })).toBe(false);
    expect(isPrivileged({})).toBe(false);
  });
});

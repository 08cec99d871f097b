/**
 * Cognito's pre token generation trigger: the claims that widen what a user may do are issued only to a user who
 * signs in with a second factor.
 *
 * A user whose `custom:locations` is `*` (every location) or whose `custom:role` is `admin` (the fleet) and who has
 * no authenticator app (TOTP) set up gets an ID token without those claims and with `mfa_required` = `true`: the API
 * answers every route with 403 `forbidden` saying so, and live updates refuse the connection. The access token still
 * lets the user set up the app (Cognito's `AssociateSoftwareToken`, `VerifySoftwareToken`, `SetUserMFAPreference`);
 * from then on Cognito asks for a code at every sign-in and the claims are issued. Anyone else's token is untouched.
 *
 * Whether the user has a second factor is read from Cognito (`AdminGetUser`) on each sign-in and token refresh of a
 * privileged user, so removing the app takes the claims away at the next refresh. A read that fails fails the sign-in:
 * the claims are never issued on a guess.
 */
import { AdminGetUserCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { PreTokenGenerationTriggerEvent } from 'aws-lambda';
import { ADMIN_ROLE, LOCATIONS_CLAIM, MFA_REQUIRED_CLAIM, ROLE_CLAIM } from '../../shared/http/caller.ts';
import { injectable } from '../../shared/injectable.ts';
import { tracedClient } from '../../shared/tracing.ts';

/** The second factor the user pool offers (`mfaSecondFactor: { otp: true }`). */
const SECOND_FACTOR = 'SOFTWARE_TOKEN_MFA';

export interface IssueTokensDependencies {
  cognito: Pick<CognitoIdentityProviderClient, 'send'>;
}

/** True for a user who may act for every location or run the fleet. */
export function isPrivileged(attributes: Record<string, string | undefined>): boolean {
  const locations = (attributes[LOCATIONS_CLAIM] ?? '').split(/[,\s]+/).map((entry) => entry.trim());
  return locations.includes('*') || attributes[ROLE_CLAIM] === ADMIN_ROLE;
}

/** The trigger's answer for `event`: unchanged, or without the privileged claims and with `mfa_required`. */
export async function issueTokens(
  event: PreTokenGenerationTriggerEvent,
  deps: IssueTokensDependencies,
): Promise<PreTokenGenerationTriggerEvent> {
  if (!isPrivileged(event.request.userAttributes)) return event;
  const user = await deps.cognito.send(
    new AdminGetUserCommand({ UserPoolId: event.userPoolId, Username: event.userName }),
  );
  if ((user.UserMFASettingList ?? []).includes(SECOND_FACTOR)) return event;
  return {
    ...event,
    response: {
      claimsOverrideDetails: {
        ...event.response.claimsOverrideDetails,
        claimsToSuppress: [LOCATIONS_CLAIM, ROLE_CLAIM],
        claimsToAddOrOverride: { [MFA_REQUIRED_CLAIM]: 'true' },
      },
    },
  };
}

let fromEnvironment: IssueTokensDependencies | undefined;

export const handler = injectable(
  (deps: () => IssueTokensDependencies) => (event: PreTokenGenerationTriggerEvent) => issueTokens(event, deps()),
  () => {
    fromEnvironment ??= { cognito: tracedClient(new CognitoIdentityProviderClient({})) };
    return fromEnvironment;
  },
);

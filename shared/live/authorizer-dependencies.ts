/**
 * What the WebSocket API's `$connect` authorizer runs on: the token check and the clock, nothing else, so its
 * bundle holds no AWS SDK client.
 */
import { config } from '../config.ts';
import { type Clock, systemClock } from '../time.ts';
import { createTokenVerifier, type TokenVerifier } from './token.ts';

export interface AuthorizerDependencies {
  verifier: TokenVerifier;
  clock: Clock;
}

let authorizer: AuthorizerDependencies | undefined;

/** The authorizer's token check, from `JWT_ISSUER`, `JWT_AUDIENCE` and `JWKS_URI`. */
export function authorizerEnvironmentDependencies(): AuthorizerDependencies {
  if (authorizer !== undefined) return authorizer;
  const settings = config();
  if (settings.JWT_ISSUER === undefined || settings.JWT_AUDIENCE === undefined) {
    throw new Error('Invalid configuration: JWT_ISSUER and JWT_AUDIENCE: required');
  }
  authorizer = {
    clock: systemClock,
    verifier: createTokenVerifier({
      issuer: settings.JWT_ISSUER,
      audiences: settings.JWT_AUDIENCE.split(',').map((audience) => audience.trim()),
      ...(settings.JWKS_URI === undefined ? {} : { jwksUri: settings.JWKS_URI }),
    }),
  };
  return authorizer;
}

/**
 * What the live-updates functions run on: the operations' dependencies and the connections they send to; the
 * `$connect` authorizer needs only the token check and the clock.
 */
import { type Config, config } from '../config.ts';
import type { Dependencies } from '../dependencies.ts';
import { environmentDependencies } from '../environment.ts';
import type { Clock } from '../time.ts';
import { systemClock } from '../time.ts';
import { type Connections, createConnections } from './connections.ts';
import { createTokenVerifier, type TokenVerifier } from './token.ts';

export interface LiveDependencies extends Dependencies {
  connections: Connections;
}

export interface AuthorizerDependencies {
  verifier: TokenVerifier;
  clock: Clock;
}

let live: LiveDependencies | undefined;

/** This process's dependencies, with the connections of the WebSocket API named by `LIVE_ENDPOINT`. */
export function liveEnvironmentDependencies(): LiveDependencies {
  if (live !== undefined) return live;
  const base = environmentDependencies();
  let connections: Connections | undefined;
  live = {
    get store() {
      return base.store;
    },
    get settings() {
      return base.settings;
    },
    clock: base.clock,
    stripe: () => base.stripe(),
    get connections() {
      connections ??= connectionsFor(base.settings);
      return connections;
    },
  };
  return live;
}

function connectionsFor(settings: Config): Connections {
  if (settings.LIVE_ENDPOINT === undefined) throw new Error('Invalid configuration: LIVE_ENDPOINT: required');
  return createConnections(settings.LIVE_ENDPOINT, settings.AWS_REGION);
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

/**
 * The WebSocket API's `$connect` authorizer: the `token` query parameter (browsers cannot set headers on a
 * WebSocket) must be a POS ID token valid under the HTTP API's rules. A bad or missing token refuses the upgrade
 * (401) before anything is stored; a good one passes the caller's `sub` and locations to every route.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { callerFromClaims } from '../../shared/http/caller.ts';
import { logger } from '../../shared/http/logger.ts';
import { injectable } from '../../shared/injectable.ts';
import {
  type AuthorizerDependencies,
  authorizerEnvironmentDependencies,
} from '../../shared/live/authorizer-dependencies.ts';
import { liveLimits } from '../../shared/live/definition.ts';

/** What API Gateway answers 401 for; any other error is a 500. */
const UNAUTHORIZED = 'Unauthorized';

export const handler = injectable(
  (deps: () => AuthorizerDependencies) =>
    async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
      const { verifier, clock } = deps();
      const token = event.queryStringParameters?.token;
      if (token === undefined || token === '') throw new Error(UNAUTHORIZED);
      let claims: Record<string, unknown>;
      try {
        claims = (await verifier.verify(token)) as Record<string, unknown>;
      } catch (error) {
        logger.info('Live connection refused', { reason: (error as Error).message });
        throw new Error(UNAUTHORIZED);
      }
      let caller: ReturnType<typeof callerFromClaims>;
      try {
        caller = callerFromClaims(claims as Parameters<typeof callerFromClaims>[0]);
      } catch (error) {
        // A token issued without its privileged claims (no second factor): refused like any token that allows nothing.
        logger.info('Live connection refused', { reason: (error as Error).message });
        throw new Error(UNAUTHORIZED);
      }
      if (caller === undefined) throw new Error(UNAUTHORIZED);
      const connectionEnds = Math.floor(clock.now() / 1000) + liveLimits.maxConnectionSeconds;
      return {
        principalId: caller.sub,
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
        },
        context: {
          sub: caller.sub,
          locations: caller.locations === '*' ? '*' : caller.locations.join(','),
          expiresAt: Math.min(Number(claims.exp), connectionEnds),
        },
      };
    },
  authorizerEnvironmentDependencies,
);

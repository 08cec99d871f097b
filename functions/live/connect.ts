/** `$connect`, after the authorizer: the connection is stored until the token or API Gateway's 2 hours end. */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { injectable } from '../../shared/injectable.ts';
import { type LiveDependencies, liveStoreOnlyDependencies } from '../../shared/live/dependencies.ts';
import { putConnection } from '../../shared/store/live.ts';
import { accepted, connectionOf, type WebSocketEvent } from './context.ts';

export const handler = injectable(
  (deps: () => LiveDependencies) =>
    async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
      const { store, clock } = deps();
      const connection = connectionOf(event);
      await putConnection(store, {
        connectionId: connection.connectionId,
        sub: connection.caller.sub,
        locations: connection.caller.locations === '*' ? '*' : connection.caller.locations.join(','),
        connectedAt: new Date(event.requestContext.connectedAt ?? clock.now()).toISOString(),
        expiresAt: connection.expiresAt,
      });
      return accepted;
    },
  liveStoreOnlyDependencies,
);

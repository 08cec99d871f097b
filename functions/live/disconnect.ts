/** `$disconnect`: the connection and every subscription it held are removed. */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { injectable } from '../../shared/injectable.ts';
import { type LiveDependencies, liveStoreOnlyDependencies } from '../../shared/live/dependencies.ts';
import { removeConnection } from '../../shared/store/live.ts';
import { accepted, type WebSocketEvent } from './context.ts';

export const handler = injectable(
  (deps: () => LiveDependencies) =>
    async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
      await removeConnection(deps().store, event.requestContext.connectionId);
      return accepted;
    },
  liveStoreOnlyDependencies,
);

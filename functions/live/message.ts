/**
 * A client's message (routes `subscribe`, `unsubscribe`, `ping` and `$default`): answered on the connection, an
 * error included, so the connection stays usable whatever was sent.
 */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { logger } from '../../shared/http/logger.ts';
import { injectable } from '../../shared/injectable.ts';
import { type LiveDependencies, liveEnvironmentDependencies } from '../../shared/live/dependencies.ts';
import type { ServerMessage } from '../../shared/live/messages.ts';
import { answerClientMessage } from '../../shared/operations/live-subscriptions.ts';
import { removeConnection } from '../../shared/store/live.ts';
import { accepted, bodyOf, connectionOf, type WebSocketEvent } from './context.ts';

export const handler = injectable(
  (deps: () => LiveDependencies) =>
    async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
      const live = deps();
      const connection = connectionOf(event);
      let answer: ServerMessage;
      try {
        answer = await answerClientMessage(live, connection, bodyOf(event));
      } catch (error) {
        logger.error('Live message failed', { connectionId: connection.connectionId, error: error as Error });
        answer = { type: 'error', code: 'unavailable', message: 'Try again in a moment.' };
      }
      if ((await live.connections.post(connection.connectionId, answer)) === 'gone') {
        await removeConnection(live.store, connection.connectionId);
      }
      return accepted;
    },
  liveEnvironmentDependencies,
);

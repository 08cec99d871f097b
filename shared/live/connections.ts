/**
 * Sending to live-updates connections through API Gateway's connection management API (`@connections`): on AWS
 * the WebSocket API's stage, locally the local WebSocket server, which serves the same API.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { tracedClient } from '../tracing.ts';
import type { ServerMessage } from './messages.ts';

export interface Connections {
  /** `gone`: the connection no longer exists (closed, timed out); its items should be removed. */
  post(connectionId: string, message: ServerMessage): Promise<'sent' | 'gone'>;
  /** Close the connection (nothing when it is already gone). */
  close(connectionId: string): Promise<void>;
}

/** How long one post may take: a slow connection must not hold the others. */
const POST_TIMEOUT_MS = 3_000;

/** `credentials`: given locally, where the local WebSocket gateway accepts any; on AWS the function's role. */
export function createConnections(
  endpoint: string,
  region: string,
  credentials?: { accessKeyId: string; secretAccessKey: string },
): Connections {
  const client = tracedClient(
    new ApiGatewayManagementApiClient({
      endpoint,
      region,
      maxAttempts: 2,
      ...(credentials === undefined ? {} : { credentials }),
    }),
  );
  return {
    async post(connectionId, message) {
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify(message) }), {
          abortSignal: AbortSignal.timeout(POST_TIMEOUT_MS),
        });
        return 'sent';
      } catch (error) {
        if (error instanceof GoneException) return 'gone';
        throw error;
      }
    },
    async close(connectionId) {
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!(error instanceof GoneException)) throw error;
      }
    },
  };
}

/** The connection a WebSocket route event is about, as the `$connect` authorizer admitted it. */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { callerFromClaims } from '../../shared/http/caller.ts';
import type { LiveConnectionContext } from '../../shared/operations/live-subscriptions.ts';

/** The part of a WebSocket route event the handlers read. */
export interface WebSocketEvent {
  requestContext: {
    connectionId: string;
    routeKey: string;
    connectedAt?: number;
    authorizer?: { sub?: string; locations?: string; expiresAt?: number | string; principalId?: string };
  };
  body?: string;
  isBase64Encoded?: boolean;
}

export const accepted: APIGatewayProxyResultV2 = { statusCode: 200 };

export function connectionOf(event: WebSocketEvent): LiveConnectionContext {
  const { connectionId, authorizer } = event.requestContext;
  const caller = callerFromClaims({ sub: authorizer?.sub ?? '', 'custom:locations': authorizer?.locations ?? '' });
  // The authorizer always passes these; a connection without them may see nothing.
  return {
    connectionId,
    caller: caller ?? { sub: '', locations: [] },
    expiresAt: Number(authorizer?.expiresAt ?? 0),
  };
}

export function bodyOf(event: WebSocketEvent): string | undefined {
  if (event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * The local API Gateway WebSocket API: the same protocol as the deployed one, on `WS_PORT`.
 *
 * - Upgrade: the `$connect` authorizer (a REQUEST authorizer on the `token` query parameter) runs first; an error
 *   `Unauthorized` refuses the upgrade with 401, a Deny policy with 403. Then the `$connect` route's function; a
 *   status other than 2xx (or a failure) refuses the upgrade too.
 * - Messages: the route is picked by `$request.body.action` (`$default` when the frame is not JSON or names no
 *   route) and its function invoked with API Gateway's event; a failed invocation answers the client as API Gateway
 *   does (`{"message": "Internal server error", …}`).
 * - Closing, by either side or by the idle (10 min) and lifetime (2 h) limits: the `$disconnect` route's function.
 * - The connection management API (`POST`, `GET`, `DELETE /@connections/{id}`) on the same port over HTTP, so the
 *   handlers' `@aws-sdk/client-apigatewaymanagementapi` client reaches it as it reaches API Gateway, a closed
 *   connection answered `410 GoneException`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { liveLimits, ROUTE_SELECTION_EXPRESSION } from '../shared/live/definition.ts';
import { invoke, type LocalFunction, lambdaContext } from './lambda.ts';
import { closeServer, listen } from './ports.ts';

/** API Gateway's frame limit: a larger frame closes the connection (1009). */
export const MAX_FRAME_BYTES = 32 * 1024;
const ACCOUNT_ID = '000000000000';
const API_ID = 'local-live';

export interface WebSocketGatewayOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  region?: string;
  stage?: string;
  functions: {
    authorize: LocalFunction;
    connect: LocalFunction;
    disconnect: LocalFunction;
    /** Every message route's function, by route key (`subscribe`, `ping`, `$default` …). */
    messages: Readonly<Record<string, LocalFunction>>;
  };
  /** API Gateway's limits; shorter ones let tests see them. */
  idleTimeoutSeconds?: number;
  maxConnectionSeconds?: number;
  log?: (line: string) => void;
}

export interface LocalWebSocketGateway {
  /** `ws://host:port`: where clients connect. */
  url: string;
  /** `http://host:port`: the connection management API (`LIVE_ENDPOINT`). */
  managementEndpoint: string;
  port: number;
  /** Connections open now. */
  connectionCount(): number;
  close(): Promise<void>;
}

interface OpenConnection {
  id: string;
  socket: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  authorizer: Record<string, unknown>;
  idle?: NodeJS.Timeout;
  lifetime?: NodeJS.Timeout;
}

class Refused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startWebSocketGateway(options: WebSocketGatewayOptions): Promise<LocalWebSocketGateway> {
  if (ROUTE_SELECTION_EXPRESSION !== '$request.body.action') {
    throw new Error(
      `The local WebSocket gateway selects routes by $request.body.action, not ${ROUTE_SELECTION_EXPRESSION}`,
    );
  }
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const stage = options.stage ?? 'local';
  const log = options.log ?? ((line: string) => console.error(line));
  const idleMs = (options.idleTimeoutSeconds ?? liveLimits.idleTimeoutSeconds) * 1000;
  const lifetimeMs = (options.maxConnectionSeconds ?? liveLimits.maxConnectionSeconds) * 1000;
  const open = new Map<string, OpenConnection>();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const routeKeys = Object.keys(options.functions.messages).filter((key) => key !== '$default');
  /** `$disconnect` invocations still running: closing waits for them. */
  const disconnecting = new Set<Promise<unknown>>();
  let port = 0;

  const requestContext = (connection: Pick<OpenConnection, 'id' | 'connectedAt' | 'sourceIp' | 'userAgent'>) => ({
    stage,
    apiId: API_ID,
    domainName: `${host}:${port}`,
    connectionId: connection.id,
    connectedAt: connection.connectedAt,
    requestId: randomUUID(),
    extendedRequestId: randomUUID(),
    requestTime: new Date().toUTCString(),
    requestTimeEpoch: Date.now(),
    identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
  });

  const run = async (fn: LocalFunction, event: unknown): Promise<unknown> =>
    (await invoke(fn, event, lambdaContext(fn, region))).result;

  async function admit(request: IncomingMessage): Promise<OpenConnection> {
    const url = new URL(request.url ?? '/', `http://${host}`);
    const query = Object.fromEntries(url.searchParams);
    const connection = {
      id: connectionId(),
      connectedAt: Date.now(),
      lastActiveAt: Date.now(),
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      userAgent: String(request.headers['user-agent'] ?? ''),
    };
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
    );
    const context = { ...requestContext(connection), routeKey: '$connect', eventType: 'CONNECT' };
    let policy: { principalId?: string; policyDocument?: { Statement?: { Effect?: string }[] }; context?: object };
    try {
      policy = (await run(options.functions.authorize, {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:${region}:${ACCOUNT_ID}:${API_ID}/${stage}/$connect`,
        headers,
        multiValueHeaders: {},
        queryStringParameters: query,
        multiValueQueryStringParameters: {},
        stageVariables: {},
        requestContext: context,
      })) as typeof policy;
    } catch (error) {
      if ((error as Error).message === 'Unauthorized') throw new Refused(401, 'Unauthorized');
      log(`live: authorizer failed: ${(error as Error).stack ?? error}`);
      throw new Refused(500, 'Internal Server Error');
    }
    const statements = policy?.policyDocument?.Statement ?? [];
    if (statements.length === 0 || statements.some((statement) => statement.Effect !== 'Allow')) {
      throw new Refused(403, 'Forbidden');
    }
    const authorizer = { ...(policy.context ?? {}), principalId: policy.principalId };
    let result: unknown;
    try {
      result = await run(options.functions.connect, {
        headers,
        multiValueHeaders: {},
        queryStringParameters: query,
        multiValueQueryStringParameters: {},
        requestContext: { ...context, authorizer },
        isBase64Encoded: false,
      });
    } catch (error) {
      log(`live: $connect failed: ${(error as Error).stack ?? error}`);
      throw new Refused(500, 'Internal Server Error');
    }
    const status = Number((result as { statusCode?: number } | null)?.statusCode ?? 200);
    if (status < 200 || status > 299) throw new Refused(status, 'Forbidden');
    return { ...connection, socket: undefined as unknown as WebSocket, authorizer };
  }

  function attach(connection: OpenConnection): void {
    open.set(connection.id, connection);
    const { socket } = connection;
    const touch = () => {
      connection.lastActiveAt = Date.now();
      clearTimeout(connection.idle);
      connection.idle = setTimeout(() => socket.close(1001, 'Going away'), idleMs);
    };
    touch();
    connection.lifetime = setTimeout(() => socket.close(1001, 'Going away'), lifetimeMs);
    socket.on('message', (data: RawData) => {
      touch();
      const body = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8');
      const routeKey = selectRoute(body, routeKeys);
      const fn = options.functions.messages[routeKey];
      if (fn === undefined) return;
      const context = {
        ...requestContext(connection),
        routeKey,
        eventType: 'MESSAGE',
        messageDirection: 'IN',
        messageId: randomUUID(),
        authorizer: connection.authorizer,
      };
      run(fn, { requestContext: context, body, isBase64Encoded: false }).catch((error: unknown) => {
        log(`live: ${routeKey} failed: ${(error as Error).stack ?? error}`);
        if (socket.readyState === WebSocket.OPEN) {
          socket.send(
            JSON.stringify({
              message: 'Internal server error',
              connectionId: connection.id,
              requestId: context.requestId,
            }),
          );
        }
      });
    });
    socket.on('close', () => {
      clearTimeout(connection.idle);
      clearTimeout(connection.lifetime);
      open.delete(connection.id);
      const context = {
        ...requestContext(connection),
        routeKey: '$disconnect',
        eventType: 'DISCONNECT',
        authorizer: connection.authorizer,
      };
      const done = run(options.functions.disconnect, { requestContext: context, isBase64Encoded: false })
        .catch((error: unknown) => log(`live: $disconnect failed: ${(error as Error).stack ?? error}`))
        .finally(() => disconnecting.delete(done));
      disconnecting.add(done);
    });
    socket.on('error', () => undefined);
  }

  const server = createServer((request, response) => {
    manage(request, response).catch((error: unknown) => {
      log(`live: ${request.method} ${request.url} failed: ${(error as Error).stack ?? error}`);
      reply(response, 500, { message: 'Internal server error' });
    });
  });

  /** The connection management API. */
  async function manage(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = /^(?:\/[^/]+)?\/@connections\/([^/?]+)/.exec(request.url ?? '');
    if (match === null) return reply(response, 404, { message: 'Not Found' });
    const id = decodeURIComponent(match[1] as string);
    const body = await readBody(request);
    const connection = open.get(id);
    if (connection === undefined || connection.socket.readyState !== WebSocket.OPEN) {
      return reply(response, 410, { message: null }, { 'x-amzn-errortype': 'GoneException' });
    }
    if (request.method === 'POST') {
      if (body.length > 128 * 1024) {
        return reply(
          response,
          413,
          { message: 'Payload too large' },
          { 'x-amzn-errortype': 'PayloadTooLargeException' },
        );
      }
      await new Promise<void>((resolve, reject) =>
        connection.socket.send(body.toString('utf8'), (error) => (error ? reject(error) : resolve())),
      );
      return reply(response, 200);
    }
    if (request.method === 'DELETE') {
      connection.socket.close(1000, 'Closed by the service');
      return reply(response, 204);
    }
    if (request.method === 'GET') {
      return reply(response, 200, {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
    }
    return reply(response, 405, { message: 'Method Not Allowed' });
  }

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    admit(request).then(
      (connection) =>
        sockets.handleUpgrade(request, socket, head, (client) => {
          connection.socket = client;
          attach(connection);
        }),
      (error: unknown) => {
        const status = error instanceof Refused ? error.status : 500;
        const text = error instanceof Refused ? error.message : 'Internal Server Error';
        socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`);
      },
    );
  });

  port = await listen(server, options.port, host, 'WS_PORT');
  return {
    url: `ws://${host}:${port}`,
    managementEndpoint: `http://${host}:${port}`,
    port,
    connectionCount: () => open.size,
    close: async () => {
      const closing = [...open.values()].map(
        (connection) => new Promise((resolve) => connection.socket.once('close', resolve)),
      );
      for (const connection of open.values()) connection.socket.terminate();
      await Promise.all(closing);
      await Promise.all([...disconnecting]);
      sockets.close();
      await closeServer(server);
    },
  };
}

/** `$request.body.action`: the route named by the frame's `action`, else `$default`. */
export function selectRoute(body: string, routeKeys: readonly string[]): string {
  try {
    const action = (JSON.parse(body) as { action?: unknown } | null)?.action;
    return typeof action === 'string' && routeKeys.includes(action) ? action : '$default';
  } catch {
    return '$default';
  }
}

/** An id shaped like API Gateway's (`L0SM9cOFvHcCIhw=`). */
function connectionId(): string {
  return `${randomBytes(10).toString('base64').replace(/[+/]/g, 'x').slice(0, 15)}=`;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    ...(text ? { 'content-type': 'application/json' } : {}),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  response.end(text);
}

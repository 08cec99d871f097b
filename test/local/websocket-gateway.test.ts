/**
 * The local API Gateway WebSocket API with fixture functions: the `$connect` authorizer and route, route selection
 * by `action`, API Gateway's answer to a failing function, its limits (frame size, idle time), `$disconnect`, and the
 * `@connections` management API the handlers post through.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { LocalFunction } from '../../local/lambda.ts';
import { type LocalWebSocketGateway, startWebSocketGateway } from '../../local/websocket-gateway.ts';
import type { LiveRecorder } from './fixtures/live.ts';

const fn = (name: string, entry = 'test/local/fixtures/live.ts'): LocalFunction => ({ name, entry, timeoutSeconds: 5 });
let gateway: LocalWebSocketGateway;

const recorder = (): LiveRecorder => {
  const shared = globalThis as { liveFixture?: LiveRecorder };
  shared.liveFixture ??= { events: [] };
  return shared.liveFixture;
};

beforeAll(async () => {
  // The authorizer's module exports `authorize`, not `handler`: a copy under that name is what the gateway loads.
  gateway = await startWebSocketGateway({
    port: 0,
    functions: {
      authorize: fn('Authorize', 'test/local/fixtures/live-authorizer.ts'),
      connect: fn('Connect'),
      disconnect: fn('Disconnect'),
      messages: { subscribe: fn('Message'), ping: fn('Message'), $default: fn('Message') },
    },
    idleTimeoutSeconds: 0.5,
    log: () => undefined,
  });
});

afterAll(() => gateway?.close());
beforeEach(() => {
  recorder().events.length = 0;
});

function open(query: string): Promise<WebSocket> {
  const socket = new WebSocket(`${gateway.url}/?${query}`);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

const closed = (socket: WebSocket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

const nextMessage = (socket: WebSocket) =>
  new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));

describe('the local WebSocket gateway', () => {
  it('refuses the upgrade: 401 without a valid token, 403 for a Deny policy or a $connect that refuses', async () => {
    // Act
    const answers = await Promise.all(
      ['token=bad', '', 'token=deny', 'token=good&refuse=1'].map((query) =>
        open(query).then(
          () => 'open',
          (error: Error) => error.message,
        ),
      ),
    );

    // Assess
    expect(answers).toEqual([
      'Unexpected server response: 401',
      'Unexpected server response: 401',
      'Unexpected server response: 403',
      'Unexpected server response: 403',
    ]);
    expect(gateway.connectionCount()).toBe(0);
  });

  it('routes frames by action, others to $default, with the authorizer’s context on every route', async () => {
    // Prepare
    const socket = await open('token=good');

    // Act
    for (const frame of ['{"action":"subscribe"}', '{"action":"dance"}', 'not json', '{"action":"ping"}'])
      socket.send(frame);
    await expect.poll(() => recorder().events.filter((event) => event.routeKey !== '$connect').length).toBe(4);
    socket.close();

    // Assess
    const routes = recorder()
      .events.filter((event) => event.routeKey !== '$connect')
      .map((event) => event.routeKey);
    expect(routes.sort()).toEqual(['$default', '$default', 'ping', 'subscribe']);
    expect(recorder().events.every((event) => event.authorizer?.sub === 'user-1')).toBe(true);
  });

  it('answers a failing function as API Gateway does, and the connection stays open', async () => {
    // Prepare
    const socket = await open('token=good');

    // Act
    const answer = nextMessage(socket);
    socket.send('{"action":"ping","crash":true}');

    // Assess
    expect(JSON.parse(await answer)).toMatchObject({ message: 'Internal server error' });
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });

  it('serves @connections: POST sends, GET describes, DELETE closes, and a gone connection is 410 GoneException', async () => {
    // Prepare
    const socket = await open('token=good');
    await expect.poll(() => recorder().events.some((event) => event.routeKey === '$connect')).toBe(true);
    const id = recorder().events.find((event) => event.routeKey === '$connect')?.connectionId as string;
    const url = `${gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`;

    // Act
    const received = nextMessage(socket);
    const posted = await fetch(url, { method: 'POST', body: '{"type":"pong"}' });
    const described = await fetch(url);
    const ending = closed(socket);
    const deleted = await fetch(url, { method: 'DELETE' });
    await ending;
    const gone = await fetch(url, { method: 'POST', body: '{}' });

    // Assess
    expect(posted.status).toBe(200);
    expect(await received).toBe('{"type":"pong"}');
    expect(described.status).toBe(200);
    expect(await described.json()).toHaveProperty('connectedAt');
    expect(deleted.status).toBe(204);
    expect(gone.status).toBe(410);
    expect(gone.headers.get('x-amzn-errortype')).toBe('GoneException');
    await expect.poll(() => recorder().events.some((event) => event.routeKey === '$disconnect')).toBe(true);
  });

  it('closes a connection idle past its limit (1001) and one sending a frame over 32 KB (1009)', async () => {
    // Prepare
    const idle = await open('token=good');
    const large = await open('token=good');

    // Act
    const idleCode = closed(idle);
    const largeCode = closed(large);
    large.send('x'.repeat(33 * 1024));

    // Assess
    expect(await largeCode).toBe(1009);
    expect(await idleCode).toBe(1001);
  });
});

import { createHmac, createPublicKey } from 'node:crypto';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, MAX_BODY_BYTES, startGateway } from '../../local/gateway.ts';
import {
  createJwtIssuer,
  createJwtVerifier,
  issuerFromKey,
  type JwtIssuer,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
} from '../../local/jwt-issuer.ts';
import type { RouteDefinition } from '../../shared/routes.ts';
import { rawRequest } from './http.ts';

const fixture = (name: string) => `test/local/fixtures/${name}.ts`;

const fixtureRoutes: RouteDefinition[] = [
  { name: 'Capture', method: 'POST', path: '/payments/{id}/capture', entry: fixture('echo'), auth: 'jwt' },
  { name: 'GetPayment', method: 'GET', path: '/payments/{id}', entry: fixture('echo'), auth: 'jwt' },
  { name: 'ExportPayments', method: 'GET', path: '/payments/export', entry: fixture('echo'), auth: 'jwt' },
  { name: 'Webhook', method: 'POST', path: '/webhooks/stripe', entry: fixture('raw-body'), auth: 'none' },
  { name: 'PublicEcho', method: 'GET', path: '/echo', entry: fixture('echo'), auth: 'none' },
  { name: 'Results', method: 'GET', path: '/results', entry: fixture('results'), auth: 'none' },
  { name: 'Throws', method: 'GET', path: '/throws', entry: fixture('throws'), auth: 'none' },
  { name: 'Slow', method: 'GET', path: '/slow', entry: fixture('slow'), auth: 'none' },
  { name: 'Missing', method: 'GET', path: '/missing', entry: fixture('not-written-yet'), auth: 'none' },
];

let issuer: JwtIssuer;
let gateway: LocalGateway;
const logged: string[] = [];

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const kid = () => issuer.jwks.keys[0]?.kid as string;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const claims = () => ({
  iss: LOCAL_ISSUER,
  aud: LOCAL_AUDIENCE,
  sub: 'intruder',
  'custom:locations': '*',
  iat: nowSeconds(),
  exp: nowSeconds() + 3600,
});

beforeAll(async () => {
  issuer = await createJwtIssuer();
  gateway = await startGateway({
    port: 0,
    routes: fixtureRoutes,
    verifier: createJwtVerifier(issuer),
    timeoutSeconds: { Slow: 0.5 },
    log: (line) => logged.push(line),
  });
});

afterAll(async () => {
  await gateway.close();
});

describe('the payload 2.0 event', () => {
  it('carries what API Gateway sends for a JWT route', async () => {
    // Prepare
    const token = await issuer.sign({ locations: ['tml_A', 'tml_B'], username: 'register-1' });
    const body = JSON.stringify({ amountToCapture: 500 });

    // Act
    const response = await rawRequest(`${gateway.url}/payments/pi%5F123/capture?expand=a&expand=b&note=hello%20world`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'X-Register': ['front', 'back'],
        Cookie: 'session=abc; theme=dark',
        'User-Agent': 'pos-app/1.0',
      },
      body,
    });

    // Assess
    expect(response.status).toBe(200);
    const { event, context } = response.json<{
      event: APIGatewayProxyEventV2WithJWTAuthorizer;
      context: { awsRequestId: string; functionName: string; remainingTimeInMillis: number };
    }>();
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /payments/{id}/capture');
    expect(event.rawPath).toBe('/payments/pi%5F123/capture');
    expect(event.rawQueryString).toBe('expand=a&expand=b&note=hello%20world');
    expect(event.queryStringParameters).toEqual({ expand: 'a,b', note: 'hello world' });
    expect(event.pathParameters).toEqual({ id: 'pi_123' });
    expect(event.cookies).toEqual(['session=abc', 'theme=dark']);
    expect(event.headers['x-register']).toBe('front,back');
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers.authorization).toBe(`Bearer ${token}`);
    expect(event.headers.cookie).toBeUndefined();
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers['x-forwarded-proto']).toBe('http');
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.body).toBe(body);
    expect(event.isBase64Encoded).toBe(false);

    const { requestContext } = event;
    expect(requestContext.routeKey).toBe('POST /payments/{id}/capture');
    expect(requestContext.stage).toBe('$default');
    expect(requestContext.accountId).toMatch(/^\d{12}$/);
    expect(requestContext.apiId).toBeTruthy();
    expect(requestContext.domainName).toBe('127.0.0.1');
    expect(requestContext.http).toEqual({
      method: 'POST',
      path: '/payments/pi%5F123/capture',
      protocol: 'HTTP/1.1',
      sourceIp: '127.0.0.1',
      userAgent: 'pos-app/1.0',
    });
    expect(requestContext.requestId).toBe(response.headers['apigw-requestid']);
    expect(requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(requestContext.timeEpoch - Date.now())).toBeLessThan(5_000);
    expect(requestContext.authorizer.jwt.scopes).toBeNull();
    expect(requestContext.authorizer.jwt.claims).toMatchObject({
      'custom:locations': 'tml_A,tml_B',
      'cognito:username': 'register-1',
      token_use: 'id',
      iss: LOCAL_ISSUER,
      aud: LOCAL_AUDIENCE,
    });
    // API Gateway hands every claim over as a string.
    expect(Object.values(requestContext.authorizer.jwt.claims).every((value) => typeof value === 'string')).toBe(true);

    expect(context.functionName).toBe('Capture');
    expect(context.remainingTimeInMillis).toBeGreaterThan(28_000);
    expect(context.remainingTimeInMillis).toBeLessThanOrEqual(29_000);
    expect(response.headers['x-request-id']).toBe(context.awsRequestId);
  });

  it('leaves out the fields API Gateway leaves out of a bare public request', async () => {
    // Act
    const response = await rawRequest(`${gateway.url}/echo`);

    // Assess
    const { event } = response.json<{ event: Record<string, unknown> & { requestContext: object } }>();
    expect(event.rawQueryString).toBe('');
    for (const field of ['body', 'cookies', 'queryStringParameters', 'pathParameters']) {
      expect(event).not.toHaveProperty(field);
    }
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext).not.toHaveProperty('authorizer');
  });

  it('selects the most specific route when a literal path and a parameter both match', async () => {
    // Prepare
    const token = await issuer.sign({ locations: '*' });

    // Act
    const response = await rawRequest(`${gateway.url}/payments/export`, {
      headers: { authorization: `Bearer ${token}` },
    });

    // Assess
    expect(response.json<{ event: { routeKey: string } }>().event.routeKey).toBe('GET /payments/export');
  });
});

describe('the webhook route', () => {
  const signedLooking = Buffer.from('\uFEFF{"id": "evt_1",\r\n  "amount":\t1299 , "name": "Café ☕"}  \n', 'utf8');
  const notUtf8 = Buffer.concat([
    Buffer.from('{"id":"evt_2","x":"'),
    Buffer.from([0xff, 0xfe, 0xc3]),
    Buffer.from('"}'),
  ]);

  it.each([
    {
      case: 'JSON with a BOM, CRLF, tabs and non-ASCII text',
      contentType: 'application/json; charset=utf-8',
      bytes: signedLooking,
      base64: false,
    },
    {
      case: 'bytes that are not UTF-8 under a JSON content type',
      contentType: 'application/json',
      bytes: notUtf8,
      base64: true,
    },
    {
      case: 'a form body (API Gateway base64-encodes it)',
      contentType: 'application/x-www-form-urlencoded',
      bytes: Buffer.from('a=1&b=%20'),
      base64: true,
    },
    { case: 'binary bytes', contentType: 'application/octet-stream', bytes: Buffer.from([0, 1, 2, 255]), base64: true },
  ])('hands $case to the handler byte for byte', async ({ contentType, bytes, base64 }) => {
    // Act
    const response = await rawRequest(`${gateway.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'stripe-signature': 't=1,v1=abc' },
      body: bytes,
    });

    // Assess
    expect(response.status).toBe(200);
    const received = response.json<{ sha256: string; length: number; isBase64Encoded: boolean }>();
    const { createHash } = await import('node:crypto');
    expect(received.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(received.length).toBe(bytes.length);
    expect(received.isBase64Encoded).toBe(base64);
  });
});

describe('the JWT authorizer', () => {
  const tokens: Record<string, () => Promise<string>> = {
    expired: () => issuer.sign({ locations: ['tml_A'], expiresInSeconds: -60 }),
    'from another issuer': async () =>
      (await issuerFromKey(issuer.privateJwk, 'https://cognito-idp.example/other', LOCAL_AUDIENCE)).sign({
        locations: ['tml_A'],
      }),
    'for another audience': async () =>
      (await issuerFromKey(issuer.privateJwk, LOCAL_ISSUER, 'another-app-client')).sign({ locations: ['tml_A'] }),
    'not valid yet (nbf in the future)': () =>
      issuer.sign({ locations: ['tml_A'], claims: { nbf: nowSeconds() + 600 } }),
    'issued in the future': () => issuer.sign({ locations: ['tml_A'], claims: { iat: nowSeconds() + 600 } }),
    'unsigned (alg none)': async () => `${base64url({ alg: 'none', kid: kid() })}.${base64url(claims())}.`,
    'HS256-signed with the public key': async () => {
      const publicPem = createPublicKey({ key: issuer.jwks.keys[0] as never, format: 'jwk' }).export({
        type: 'spki',
        format: 'pem',
      });
      const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT', kid: kid() })}.${base64url(claims())}`;
      return `${unsigned}.${createHmac('sha256', publicPem).update(unsigned).digest('base64url')}`;
    },
    'signed by another key under the same kid': async () => {
      const other = await createJwtIssuer();
      const impostor = await issuerFromKey({ ...other.privateJwk, kid: kid() }, LOCAL_ISSUER, LOCAL_AUDIENCE);
      return impostor.sign({ locations: '*' });
    },
    'signed by another key': async () => (await createJwtIssuer()).sign({ locations: '*' }),
    'without a key id': async () => {
      const { importJWK } = await import('jose');
      const key = await importJWK(issuer.privateJwk, 'RS256');
      return new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(key);
    },
    'not a JWT': async () => 'not.a.jwt',
    'with a tampered payload': async () => {
      const [header, , signature] = (await issuer.sign({ locations: ['tml_A'] })).split('.');
      return `${header}.${base64url(claims())}.${signature}`;
    },
  };

  it('lets a valid token through, with or without the Bearer prefix', async () => {
    // Prepare
    const token = await issuer.sign({ locations: ['tml_A'] });

    // Act
    const withPrefix = await rawRequest(`${gateway.url}/payments/pi_1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const bare = await rawRequest(`${gateway.url}/payments/pi_1`, { headers: { authorization: token } });

    // Assess
    expect(withPrefix.status).toBe(200);
    expect(bare.status).toBe(200);
  });

  it.each(Object.keys(tokens))('answers 401 for a token %s', async (name) => {
    // Prepare
    const token = await (tokens[name] as () => Promise<string>)();

    // Act
    const response = await rawRequest(`${gateway.url}/payments/pi_1`, {
      headers: { authorization: `Bearer ${token}` },
    });

    // Assess
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({ message: 'Unauthorized' });
    expect(response.headers['www-authenticate']).toMatch(/^Bearer scope="" error="invalid_token"/);
    expect(response.headers['x-request-id']).toBeTruthy();
  });

  it.each<{ case: string; headers: Record<string, string> }>([
    { case: 'no Authorization header', headers: {} },
    { case: 'an empty Bearer header', headers: { authorization: 'Bearer ' } },
  ])('answers 401 with a bare challenge for $case', async ({ headers }) => {
    // Act
    const response = await rawRequest(`${gateway.url}/payments/pi_1`, { headers });

    // Assess
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({ message: 'Unauthorized' });
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });
});

describe("API Gateway's own answers", () => {
  it.each([
    { case: 'an unknown path', method: 'GET', path: '/nowhere' },
    { case: 'a known path with another method', method: 'DELETE', path: '/payments/pi_1' },
    { case: 'a trailing slash', method: 'GET', path: '/echo/' },
    { case: 'an empty path parameter', method: 'GET', path: '/payments/' },
  ])('answers 404 Not Found for $case', async ({ method, path }) => {
    // Act
    const response = await rawRequest(`${gateway.url}${path}`, { method });

    // Assess
    expect(response.status).toBe(404);
    expect(response.json()).toEqual({ message: 'Not Found' });
    expect(response.headers['apigw-requestid']).toBeTruthy();
    expect(response.headers['x-request-id']).toBe(response.headers['apigw-requestid']);
  });

  it('answers 413 for a body over 10 MB and accepts one of exactly 10 MB', async () => {
    // Act
    const tooLarge = await rawRequest(`${gateway.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(MAX_BODY_BYTES + 1, 1),
    });
    const atLimit = await rawRequest(`${gateway.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(MAX_BODY_BYTES, 1),
    });

    // Assess
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(atLimit.status).toBe(200);
    expect(atLimit.json()).toMatchObject({ length: MAX_BODY_BYTES });
  });

  it('answers 500 Internal Server Error when the handler throws, without its message', async () => {
    // Act
    const response = await rawRequest(`${gateway.url}/throws`);

    // Assess
    expect(response.status).toBe(500);
    expect(response.json()).toEqual({ message: 'Internal Server Error' });
    expect(response.body.toString()).not.toContain('secret detail');
    expect(logged.some((line) => line.includes('secret detail'))).toBe(true);
  });

  it('answers 500 when the handler runs past its function timeout', async () => {
    // Act
    const started = Date.now();
    const response = await rawRequest(`${gateway.url}/slow`);

    // Assess
    expect(response.status).toBe(500);
    expect(response.json()).toEqual({ message: 'Internal Server Error' });
    expect(Date.now() - started).toBeLessThan(1_400);
  });

  it('answers 501 for a route whose handler file does not exist yet, and lists it at start', async () => {
    // Act
    const response = await rawRequest(`${gateway.url}/missing`);

    // Assess
    expect(response.status).toBe(501);
    expect(response.json()).toEqual({ message: 'Not Implemented' });
    expect(gateway.unavailableRoutes.map((route) => route.name)).toEqual(['Missing']);
  });

  it('answers 503 until the stack marks it ready', async () => {
    // Prepare
    const starting = await startGateway({
      port: 0,
      routes: fixtureRoutes,
      verifier: createJwtVerifier(issuer),
      ready: false,
    });

    try {
      // Act
      const before = await rawRequest(`${starting.url}/echo`);
      starting.markReady();
      const after = await rawRequest(`${starting.url}/echo`);

      // Assess
      expect(before.status).toBe(503);
      expect(before.json()).toEqual({ message: 'Service Unavailable' });
      expect(after.status).toBe(200);
    } finally {
      await starting.close();
    }
  });
});

describe('mapping the handler result to HTTP', () => {
  it.each([
    {
      shape: 'string',
      status: 200,
      body: 'plain words',
      headers: { 'content-type': 'application/json' },
    },
    {
      shape: 'object',
      status: 200,
      body: '{"received":true}',
      headers: { 'content-type': 'application/json' },
    },
    {
      shape: 'cookies',
      status: 201,
      body: 'created',
      headers: { 'set-cookie': ['session=abc; HttpOnly', 'theme=dark'] },
    },
    {
      shape: 'binary',
      status: 200,
      body: Buffer.from([0, 1, 254, 255]).toString('latin1'),
      headers: { 'content-type': 'application/octet-stream', 'x-count': '3' },
    },
    { shape: 'badStatus', status: 500, body: '{"message":"Internal Server Error"}', headers: {} },
    { shape: 'ownRequestId', status: 204, body: '', headers: { 'x-request-id': 'handler-chosen-id' } },
  ])('maps a $shape result', async ({ shape, status, body, headers }) => {
    // Act
    const response = await rawRequest(`${gateway.url}/results?shape=${shape}`);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body.toString('latin1')).toBe(body);
    expect(response.headers).toMatchObject(headers);
    expect(response.headers['apigw-requestid']).toBeTruthy();
    expect(response.headers['x-request-id']).toBeTruthy();
  });
});

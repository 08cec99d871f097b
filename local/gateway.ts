/**
 * The local API Gateway (HTTP API, payload format 2.0): routes from `shared/routes.ts`, the JWT authorizer's
 * checks, the event a handler receives on AWS, the result mapped back to HTTP, and API Gateway's own answers
 * (401, 404, 413, 500, 503) with API Gateway's bodies.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { RouteDefinition } from '../shared/routes.ts';
import { CONSOLE_PATH, type ConsoleFiles } from './console.ts';
import type { JwtVerifier } from './jwt-issuer.ts';
import { HandlerMissingError, handlerExists, invoke, type LocalFunction, lambdaContext } from './lambda.ts';
import { closeServer, listen } from './ports.ts';

/** API Gateway's payload limit for HTTP APIs. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const ACCOUNT_ID = '000000000000';
const API_ID = 'local';

export interface GatewayOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  routes: readonly RouteDefinition[];
  verifier: JwtVerifier;
  /** The functions' environment variables, set in this process while the gateway runs (restored on close). */
  env?: Record<string, string | undefined>;
  region?: string;
  /** Where route entries are resolved from; the repository root by default. */
  root?: string;
  /** The dependencies the route handlers run on (see `LocalFunction.dependencies`). */
  dependencies?: () => object;
  /** Lambda timeout per route name; `defaultTimeoutSeconds` (29, under API Gateway's 30 s) otherwise. */
  timeoutSeconds?: Record<string, number>;
  defaultTimeoutSeconds?: number;
  /** `false`: answer 503 until `markReady()` (the stack opens the port before its other parts are up). */
  ready?: boolean;
  /** Where handler failures and start-up notes go; `console.error` by default. */
  log?: (line: string) => void;
  /** The POS console, served under `/console/` beside the API (same origin); none by default. */
  console?: ConsoleFiles;
}

export interface LocalGateway {
  url: string;
  port: number;
  /** Routes whose handler module does not exist (yet): they answer 501. */
  unavailableRoutes: RouteDefinition[];
  markReady(): void;
  close(): Promise<void>;
}

interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: Buffer;
}

/** Start the gateway and resolve once it listens. */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? ((line: string) => console.error(line));
  let ready = options.ready ?? true;
  const functions = new Map(
    options.routes.map((route) => [
      route,
      {
        name: route.name,
        entry: route.entry,
        root: options.root,
        timeoutSeconds: options.timeoutSeconds?.[route.name] ?? options.defaultTimeoutSeconds ?? 29,
        ...(options.dependencies === undefined ? {} : { dependencies: options.dependencies }),
      } satisfies LocalFunction,
    ]),
  );

  const previousEnv = applyEnv(options.env ?? {});
  const server = createServer((request, response) => {
    const requestId = apiGatewayRequestId();
    const answer = ready ? handle(request, requestId) : Promise.resolve(apiGatewayError(503, 'Service Unavailable'));
    answer
      .catch((error: unknown) => {
        log(`gateway: ${request.method} ${request.url} failed: ${(error as Error).stack ?? error}`);
        return apiGatewayError(500, 'Internal Server Error');
      })
      .then((result) => send(response, result, requestId));
  });

  async function handle(request: IncomingMessage, requestId: string): Promise<GatewayResponse> {
    const body = await readBody(request);
    if (body === 'too_large') return apiGatewayError(413, 'Request Entity Too Large');

    const [rawPath = '/', rawQueryString = ''] = splitOnce(request.url ?? '/', '?');
    if (options.console && (rawPath === CONSOLE_PATH || rawPath.startsWith(`${CONSOLE_PATH}/`))) {
      const served = await options.console.serve({
        method: request.method ?? 'GET',
        rawPath,
        fromLoopback: isLoopback(request),
        body,
      });
      return served ?? apiGatewayError(404, 'Not Found');
    }
    const match = matchRoute(options.routes, request.method ?? 'GET', rawPath);
    if (!match) return apiGatewayError(404, 'Not Found');

    let claims: Record<string, string> | undefined;
    if (match.route.auth === 'jwt') {
      const verified = await options.verifier.verify(joinedHeader(request, 'authorization'));
      if (!verified.ok) {
        // RFC 6750 challenge, as API Gateway's JWT authorizer sends it.
        const challenge = verified.missing
          ? 'Bearer'
          : `Bearer scope="" error="invalid_token" error_description="${verified.description.replaceAll('"', "'")}"`;
        return apiGatewayError(401, 'Unauthorized', { 'www-authenticate': challenge });
      }
      claims = verified.claims;
    }

    const fn = functions.get(match.route) as LocalFunction;
    const event = buildEvent({ request, requestId, route: match.route, rawPath, rawQueryString, body, claims });
    const context = lambdaContext(fn, region);
    try {
      const { result } = await invoke(fn, event, context);
      const response = toHttpResponse(result);
      response.headers['x-request-id'] ??= context.awsRequestId;
      return response;
    } catch (error) {
      if (error instanceof HandlerMissingError) return apiGatewayError(501, 'Not Implemented');
      log(`${fn.name} (${fn.entry}) failed, request ${context.awsRequestId}: ${(error as Error).stack ?? error}`);
      return apiGatewayError(500, 'Internal Server Error');
    }
  }

  let port: number;
  try {
    port = await listen(server, options.port, host, 'API_PORT');
  } catch (error) {
    applyEnv(previousEnv);
    throw error;
  }
  const unavailableRoutes = options.routes.filter((route) => !handlerExists(functions.get(route) as LocalFunction));
  return {
    url: `http://${host}:${port}`,
    port,
    unavailableRoutes,
    markReady: () => {
      ready = true;
    },
    close: async () => {
      await closeServer(server);
      applyEnv(previousEnv);
    },
  };
}

/** The route API Gateway would select: same method, every literal segment equal, the most literal one first. */
export function matchRoute(
  routes: readonly RouteDefinition[],
  method: string,
  rawPath: string,
): { route: RouteDefinition; pathParameters: Record<string, string> } | undefined {
  const segments = rawPath.split('/');
  let best: { route: RouteDefinition; pathParameters: Record<string, string>; literals: number } | undefined;
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let literals = 0;
    const matches = pattern.every((part, index) => {
      const segment = segments[index] ?? '';
      const parameter = /^\{(\w+)\}$/.exec(part)?.[1];
      if (parameter === undefined) {
        literals++;
        return part === segment;
      }
      pathParameters[parameter] = decode(segment);
      return segment !== '';
    });
    if (matches && (!best || literals > best.literals)) best = { route, pathParameters, literals };
  }
  return best && { route: best.route, pathParameters: best.pathParameters };
}

interface EventInput {
  request: IncomingMessage;
  requestId: string;
  route: RouteDefinition;
  rawPath: string;
  rawQueryString: string;
  body: Buffer;
  claims: Record<string, string> | undefined;
}

/** The payload format 2.0 event API Gateway sends for this request. */
export function buildEvent(input: EventInput): APIGatewayProxyEventV2WithJWTAuthorizer {
  const { request, requestId, route, rawPath, rawQueryString, body, claims } = input;
  const now = new Date();
  const sourceIp = (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const { headers, cookies } = eventHeaders(request, sourceIp, now);
  const domainName = (headers.host ?? 'localhost').replace(/:\d+$/, '');
  const pathParameters = matchRoute([route], route.method, rawPath)?.pathParameters ?? {};
  const queryStringParameters = queryParameters(rawQueryString);
  const routeKey = `${route.method} ${route.path}`;
  const textual = body.length > 0 && isTextual(headers['content-type']) && utf8(body) !== undefined;

  const event = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: route.method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    // Text bodies are passed as text; anything else (forms, binary, no content type) base64, byte for byte.
    ...(body.length > 0 ? { body: textual ? (utf8(body) as string) : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
  return event as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/**
 * A handler's result as API Gateway turns it into HTTP: an object with `statusCode` is a response; anything
 * else is a 200 `application/json` whose body is the result (a string as is, other values as JSON).
 */
export function toHttpResponse(result: unknown): GatewayResponse {
  if (result !== null && typeof result === 'object' && !Array.isArray(result) && 'statusCode' in result) {
    const structured = result as APIGatewayProxyStructuredResultV2;
    const statusCode = Number(structured.statusCode);
    if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
      return apiGatewayError(500, 'Internal Server Error');
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name.toLowerCase()] = String(value);
    const text = typeof structured.body === 'string' ? structured.body : '';
    return {
      statusCode,
      headers,
      ...(structured.cookies?.length ? { cookies: structured.cookies } : {}),
      body: Buffer.from(text, structured.isBase64Encoded ? 'base64' : 'utf8'),
    };
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
}

function apiGatewayError(statusCode: number, message: string, headers: Record<string, string> = {}): GatewayResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(JSON.stringify({ message })),
  };
}

function send(response: ServerResponse, result: GatewayResponse, requestId: string): void {
  if (response.headersSent) return;
  const headers: Record<string, string | string[]> = {
    ...result.headers,
    'apigw-requestid': requestId,
    'x-request-id': result.headers['x-request-id'] ?? requestId,
    'content-length': String(result.body.length),
  };
  if (result.cookies) headers['set-cookie'] = result.cookies;
  response.writeHead(result.statusCode, headers);
  response.end(result.body);
}

/** The body, or `too_large` past API Gateway's limit (the rest is drained so the client reads the 413). */
function readBody(request: IncomingMessage): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(request.headers['content-length'] ?? 0) > MAX_BODY_BYTES;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'too_large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Lower-cased names, repeated headers comma-joined, cookies moved to `cookies`, API Gateway's own added. */
function eventHeaders(
  request: IncomingMessage,
  sourceIp: string,
  now: Date,
): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (!values) continue;
    if (name === 'cookie') {
      cookies = values.flatMap((value) => value.split(';').map((cookie) => cookie.trim())).filter(Boolean);
      continue;
    }
    headers[name] = values.join(',');
  }
  const forwardedFor = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${sourceIp}` : sourceIp;
  headers['x-forwarded-port'] = String(request.socket.localPort ?? '');
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  return { headers, cookies };
}

function isLoopback(request: IncomingMessage): boolean {
  const address = request.socket.remoteAddress ?? '';
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

function joinedHeader(request: IncomingMessage, name: string): string | undefined {
  return request.headersDistinct[name]?.join(',');
}

/** Decoded query parameters; a repeated name has its values comma-joined (payload 2.0 has no multi-value map). */
function queryParameters(rawQueryString: string): Record<string, string> {
  // No prototype: a `__proto__` parameter stays an ordinary key and reaches the handler, as on API Gateway.
  const parameters: Record<string, string> = Object.create(null);
  if (!rawQueryString) return parameters;
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return parameters;
}

const TEXT_TYPES = [
  /^text\//,
  /^application\/(json|xml|javascript|graphql|x-yaml|yaml)\b/,
  /^application\/[\w.+-]+\+(json|xml)\b/,
];

function isTextual(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type !== undefined && TEXT_TYPES.some((pattern) => pattern.test(type));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text, or undefined when it is not valid UTF-8 (then it travels base64 so no byte changes). */
function utf8(body: Buffer): string | undefined {
  try {
    return strictUtf8.decode(body);
  } catch {
    return undefined;
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function splitOnce(text: string, separator: string): [string, string] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, ''] : [text.slice(0, index), text.slice(index + 1)];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `26/Nov/2026:10:15:00 +0000`, API Gateway's `requestContext.time`. */
function clfTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** API Gateway request ids look like `JKJaXmPLvHcESHA=`. */
function apiGatewayRequestId(): string {
  return randomBytes(11).toString('base64').slice(0, 15).concat('=');
}

function applyEnv(values: Record<string, string | undefined>): Record<string, string | undefined> {
  const previous: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    previous[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return previous;
}

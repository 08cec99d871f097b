/**
 * The one middy stack every API handler runs in: header normalization, Powertools logger context, JSON body
 * parsing, zod validation, the caller from the JWT claims, and one mapping from errors to responses. Handlers
 * get API Gateway HTTP API (payload v2.0) events and return `{statusCode, body}`.
 */
import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { Dependencies } from '../dependencies.ts';
import { environmentDependencies, storeOnlyDependencies } from '../environment.ts';
import { type Injectable, injectable } from '../injectable.ts';
import { describeFailure, outcomeOf } from '../operations/outcome.ts';
import { type Caller, callerFromClaims } from './caller.ts';
import {
  ApiError,
  InvalidJsonError,
  toApiError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  type ValidationIssue,
} from './errors.ts';
import { logger } from './logger.ts';
import type { ApiResult } from './responses.ts';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResponse = APIGatewayProxyStructuredResultV2;

/** API Gateway answers 504 itself after 30 s; handlers plan their retries to finish before this. */
const API_GATEWAY_TIMEOUT_MS = 30_000;
/** Time kept back for writing the outcome and answering. */
const RESPONSE_MARGIN_MS = 2_000;

type Schema = z.ZodMiniType;
type Output<S> = S extends z.ZodMiniType ? z.output<S> : undefined;

/** Schemas of a route's input, and whether it sits behind the JWT authorizer. */
export interface RouteInput {
  body?: Schema;
  query?: Schema;
  params?: Schema;
  /** `none` for public routes (health); default `jwt`. */
  auth?: 'jwt' | 'none';
}

/** What a handler function receives. */
export interface HandlerInput<R extends RouteInput> {
  body: Output<R['body']>;
  query: Output<R['query']>;
  params: Output<R['params']>;
  /** The signed-in caller (on `auth: 'none'` routes a caller with no locations). */
  caller: Caller;
  requestId: string;
  /** Epoch ms by which the handler should have answered (inside API Gateway's 30 s and the Lambda's timeout). */
  deadline: number;
  event: ApiEvent;
  context: Context;
  /** What the operations run on: the table, Stripe, the clock and the settings. */
  deps: Dependencies;
}

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** The body as JSON: absent or empty is `undefined`; anything else must be JSON with a JSON content type. */
function parseJsonBody(event: ApiEvent): unknown {
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const contentType = event.headers?.['content-type'];
  if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) throw new UnsupportedMediaTypeError();
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  try {
    // Keys that would reach Object.prototype are refused, like middy's parser does.
    return JSON.parse(text, (key, value) => {
      if (key === '__proto__') throw new InvalidJsonError('The key __proto__ cannot be used; rename it.');
      return value;
    });
  } catch (error) {
    throw error instanceof InvalidJsonError ? error : new InvalidJsonError();
  }
}

function issuesOf(error: z.core.$ZodError, prefix: string): ValidationIssue[] {
  return error.issues.flatMap((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part.length > 0).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: path ? `${path}.${key}` : key, message: 'Unknown field.' }));
    }
    return [{ field: path, message: issue.message }];
  });
}

function validate<S extends Schema | undefined>(schema: S, value: unknown, prefix: string): Output<S> {
  if (schema === undefined) return undefined as Output<S>;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, prefix));
  return parsed.data as Output<S>;
}

function requestIdOf(event: ApiEvent, context: Context): string {
  return context?.awsRequestId || event.requestContext?.requestId || randomUUID();
}

function deadlineOf(context: Context, startedAt: number): number {
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  const budget = Math.min(remaining ?? API_GATEWAY_TIMEOUT_MS, API_GATEWAY_TIMEOUT_MS);
  return startedAt + budget - RESPONSE_MARGIN_MS;
}

function errorResponse(error: unknown, requestId: string): ApiResponse {
  const apiError = toApiError(outcomeOf(error));
  if (apiError.status >= 500) {
    // Once per request, with what failed upstream: a 5xx is for an operator to look at, a 4xx is the caller's.
    const upstream = apiError.cause ?? error;
    logger.error('request failed', {
      status: apiError.status,
      code: apiError.code,
      error: upstream instanceof ApiError ? { name: upstream.name, code: upstream.code } : describeFailure(upstream),
    });
  } else {
    logger.info('request refused', { status: apiError.status, code: apiError.code });
  }
  const body: Record<string, unknown> = {
    code: apiError.code,
    message: apiError.message,
    retryable: apiError.retryable,
  };
  if (apiError.details !== undefined) body.details = apiError.details;
  body.requestId = requestId;
  return {
    statusCode: apiError.status,
    headers: { ...apiError.headers, 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ error: body, ...apiError.extraBody }),
  };
}

/**
 * Wrap a handler function in the API's middy stack.
 *
 * ```ts
 * export const handler = apiHandler(async ({ params, body, caller }) => ok({ ... }), { params: Params, body: Body });
 * ```
 */
export function apiHandler<R extends RouteInput>(
  fn: (input: HandlerInput<R>) => Promise<ApiResult>,
  route: R,
): Injectable<ApiLambda, Dependencies> {
  return injectable((deps) => middyStack(fn, route, deps), environmentDependencies);
}

/**
 * `apiHandler` for a route that never calls Stripe: on AWS its dependencies have no Stripe client, and its bundle
 * leaves the Stripe SDK out.
 */
export function storeOnlyApiHandler<R extends RouteInput>(
  fn: (input: HandlerInput<R>) => Promise<ApiResult>,
  route: R,
): Injectable<ApiLambda, Dependencies> {
  return injectable((deps) => middyStack(fn, route, deps), storeOnlyDependencies);
}

export type ApiLambda = middy.MiddyfiedHandler<ApiEvent, ApiResponse, Error, Context>;

function middyStack<R extends RouteInput>(
  fn: (input: HandlerInput<R>) => Promise<ApiResult>,
  route: R,
  deps: () => Dependencies,
): ApiLambda {
  return middy<ApiEvent, ApiResponse, Error, Context>()
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      onError: (request) => {
        request.response = errorResponse(request.error, requestIdOf(request.event, request.context));
      },
    })
    .handler(async (event, context) => {
      const dependencies = deps();
      const startedAt = dependencies.clock.now();
      const requestId = requestIdOf(event, context);
      logger.appendKeys({ route: event.routeKey, apiRequestId: event.requestContext?.requestId });

      const claims = event.requestContext?.authorizer?.jwt?.claims;
      const caller: Caller | undefined =
        route.auth === 'none' ? { sub: 'anonymous', locations: [] } : callerFromClaims(claims);
      if (caller === undefined) throw new UnauthorizedError();

      const params = validate(route.params, event.pathParameters ?? {}, '');
      const query = validate(route.query, event.queryStringParameters ?? {}, '');
      // No body at all reads as `{}`; a JSON `null` (or any non-object) is refused by the schema.
      const parsed = route.body === undefined ? undefined : parseJsonBody(event);
      const body = route.body === undefined ? undefined : validate(route.body, parsed === undefined ? {} : parsed, '');

      const result = await fn({
        body: body as Output<R['body']>,
        query: query as Output<R['query']>,
        params: params as Output<R['params']>,
        caller,
        requestId,
        deadline: deadlineOf(context, startedAt),
        event,
        context,
        deps: dependencies,
      });
      logger.info('request handled', { status: result.statusCode, durationMs: dependencies.clock.now() - startedAt });
      if (result.statusCode === 204)
        return { statusCode: 204, headers: { ...result.headers, 'x-request-id': requestId } };
      return {
        statusCode: result.statusCode,
        headers: { ...result.headers, 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify(result.body),
      };
    });
}

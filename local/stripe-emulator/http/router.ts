/** The API's routes: method and path pattern, the endpoint's parameter rules, and its handler. */
import type { EmulatorCore } from '../core.ts';
import type { EventBatch } from '../webhooks/event-batch.ts';
import type { ParamValue, Rules } from './params.ts';

/** One API call, validated, as a handler sees it. */
export interface ApiCall {
  core: EmulatorCore;
  /** Parameters, checked against the endpoint's rules. */
  params: Record<string, ParamValue>;
  /** Path segments named in the route pattern (`:intent` → `path.intent`). */
  path: Record<string, string>;
  /** `expand[]`, when given. */
  expand: string[];
  /** Events this call causes; delivered after its response. */
  events: EventBatch;
  requestId: string;
  idempotencyKey: string | null;
}

/** A handler answers with the response object, or throws a `StripeError`. */
export type Handler = (call: ApiCall) => unknown | Promise<unknown>;

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: string;
  rules: Rules;
  handle: Handler;
}

interface CompiledRoute extends Route {
  segments: string[];
}

/** Routes matched by method and path. */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) this.routes.push({ ...route, segments: route.pattern.split('/').filter(Boolean) });
    return this;
  }

  /** The route for `method` and `path`, with its path parameters; undefined when none matches. */
  match(method: string, path: string): { route: Route; path: Record<string, string> } | undefined {
    const parts = path.split('/').filter(Boolean);
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const matches = route.segments.every((segment, index) => {
        const part = safeDecode(parts[index] ?? '');
        if (segment.startsWith(':')) {
          params[segment.slice(1)] = part;
          return part !== '';
        }
        return segment === part;
      });
      if (matches) return { route, path: params };
    }
    return undefined;
  }
}

/** The call's parameters as the SDK type of the endpoint (already checked against its rules). */
export function paramsAs<T>(call: ApiCall): T {
  return call.params as T;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Invoking a Lambda handler in-process the way the Lambda runtime does: the handler module is imported on
 * first use, the event and the result cross a JSON boundary, the context counts down a per-function
 * timeout, and a handler still running at the timeout is a failed invocation ("Task timed out").
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';

/** The repository root: handler entries in `shared/routes.ts` are relative to it. */
export const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

const ACCOUNT_ID = '000000000000';

export interface LocalFunction {
  /** The function's name (its Lambda name on AWS, without the stack prefix). */
  name: string;
  /** Handler module, relative to `root`; it exports `handler`. */
  entry: string;
  timeoutSeconds: number;
  /** Where `entry` is resolved from; the repository root by default. */
  root?: string;
  /**
   * The dependencies the handler runs on (`handler.withDependencies`, see `shared/injectable.ts`), read at each
   * invocation; without them the handler builds its own from the process's environment, as on AWS.
   */
  dependencies?: () => object;
}

/** The handler module does not exist (yet). */
export class HandlerMissingError extends Error {
  constructor(entry: string) {
    super(`${entry} does not exist`);
    this.name = 'HandlerMissingError';
  }
}

/** The invocation ran past the function's timeout. */
export class InvocationTimeoutError extends Error {
  constructor(fn: LocalFunction) {
    super(`${fn.name}: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`);
    this.name = 'InvocationTimeoutError';
  }
}

type Handler = (event: unknown, context: Context) => unknown;

/** Whether the function's handler module exists. */
export function handlerExists(fn: LocalFunction): boolean {
  return existsSync(resolve(fn.root ?? repositoryRoot, fn.entry));
}

type InjectableHandler = Handler & { withDependencies?: (deps: object) => Handler };

/** Handlers bound to dependencies, per handler and dependencies object. */
const bound = new WeakMap<Handler, WeakMap<object, Handler>>();

/**
 * Import the handler module (cached by the module loader after the first call) and return its `handler`, bound to
 * the function's dependencies when it takes them.
 */
export async function loadHandler(fn: LocalFunction): Promise<Handler> {
  const path = resolve(fn.root ?? repositoryRoot, fn.entry);
  if (!existsSync(path)) throw new HandlerMissingError(fn.entry);
  const module = (await import(pathToFileURL(path).href)) as { handler?: unknown };
  if (typeof module.handler !== 'function') throw new Error(`${fn.entry} does not export a 'handler' function`);
  const handler = module.handler as InjectableHandler;
  const deps = fn.dependencies?.();
  if (deps === undefined || typeof handler.withDependencies !== 'function') return handler;
  const byDeps = bound.get(handler) ?? new WeakMap<object, Handler>();
  bound.set(handler, byDeps);
  const withDeps = byDeps.get(deps) ?? handler.withDependencies(deps);
  byDeps.set(deps, withDeps);
  return withDeps;
}

/** A Lambda context whose remaining time counts down from `timeoutSeconds`. */
export function lambdaContext(fn: LocalFunction, region: string, awsRequestId = randomUUID()): Context {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${fn.name}`,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Invoke `fn` with `event`. Resolves with the JSON-serialised result as Lambda returns it; rejects with the
 * handler's error, `HandlerMissingError` or `InvocationTimeoutError`.
 */
export async function invoke(
  fn: LocalFunction,
  event: unknown,
  context: Context,
): Promise<{ result: unknown; durationMs: number }> {
  const handler = await loadHandler(fn);
  const started = Date.now();
  // The runtime hands the handler a freshly parsed event: no shared references with the caller.
  const run = Promise.resolve().then(() => handler(JSON.parse(JSON.stringify(event)), context));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeoutError(fn)), context.getRemainingTimeInMillis());
  });
  try {
    const result = await Promise.race([run, timeout]);
    // Lambda serialises the result: `undefined` becomes null, Dates become strings, functions vanish.
    return { result: JSON.parse(JSON.stringify(result ?? null)), durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
    // A timed-out handler keeps running in this process (Lambda would freeze it); its outcome is ignored.
    run.catch(() => undefined);
  }
}

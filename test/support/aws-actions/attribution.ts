/**
 * Which Lambda function is running: every handler entry of `shared/routes.ts` is wrapped, in test runs only
 * (`plugin.ts`), so that everything it awaits runs with its function name in an AsyncLocalStorage. An AWS call
 * made anywhere under a handler (the shared store, Powertools' secret reads) is then attributed to that function,
 * however the test invoked it: through the local stack's gateway, poller or scheduler, or by calling `handler`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

// One store per process even if this module is evaluated more than once (every test file has its own module graph).
const storeKey = Symbol.for('terminal-payments.test.running-function');
const globals = globalThis as { [storeKey]?: AsyncLocalStorage<string> };
globals[storeKey] ??= new AsyncLocalStorage<string>();
const running = globals[storeKey];

/** The name (`shared/routes.ts`) of the function whose handler this code runs under, if any. */
export function runningFunction(): string | undefined {
  return running.getStore();
}

/** `handler`, running everything it does as function `name`; its own properties (middy's `use` …) kept. */
export function attributedHandler<H extends (...args: never[]) => unknown>(name: string, handler: H): H {
  const wrapped = (...args: Parameters<H>) => running.run(name, () => handler(...args));
  return Object.assign(wrapped, handler) as unknown as H;
}

/**
 * Which Lambda function is running: every handler entry of `shared/routes.ts` is wrapped, in test runs only
 * (`plugin.ts`), so that everything it awaits runs with its function name in an AsyncLocalStorage. An AWS call
 * made anywhere under a handler (the shared store, Powertools' secret reads) is then attributed to that function,
 * however the test invoked it: through the local stack's gateway, poller or scheduler, or by calling `handler`
 * (or the handler a `withDependencies` made, which runs with its dependencies' settings as its environment).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A function running, and the settings it was given (undefined: it reads the process's environment). */
interface Running {
  name: string;
  settings: Readonly<Record<string, unknown>> | undefined;
}

// One store per process even if this module is evaluated more than once (every test file has its own module graph).
const storeKey = Symbol.for('terminal-payments.test.running-function');
const globals = globalThis as { [storeKey]?: AsyncLocalStorage<Running> };
globals[storeKey] ??= new AsyncLocalStorage<Running>();
const running = globals[storeKey];

/** The name (`shared/routes.ts`) of the function whose handler this code runs under, if any. */
export function runningFunction(): string | undefined {
  return running.getStore()?.name;
}

/** The environment the running function reads: its injected settings, else this process's environment. */
export function runningEnvironment(): Readonly<Record<string, string | undefined>> {
  const settings = running.getStore()?.settings;
  if (settings === undefined) return process.env;
  return Object.fromEntries(
    Object.entries(settings).map(([name, value]) => [name, value === undefined ? undefined : String(value)]),
  );
}

type Injectable = { withDependencies?: (deps: { settings?: Readonly<Record<string, unknown>> }) => unknown };

/** `handler`, running everything it does as function `name`; its own properties (middy's `use` …) kept. */
export function attributedHandler<H extends (...args: never[]) => unknown>(
  name: string,
  handler: H,
  settings?: () => Readonly<Record<string, unknown>> | undefined,
): H {
  const wrapped = (...args: Parameters<H>) => running.run({ name, settings: settings?.() }, () => handler(...args));
  const attributed = Object.assign(wrapped, handler) as unknown as H & Injectable;
  const { withDependencies } = handler as unknown as Injectable;
  if (typeof withDependencies === 'function') {
    attributed.withDependencies = (deps) => attributedHandler(name, withDependencies(deps) as H, () => deps.settings);
  }
  return attributed;
}

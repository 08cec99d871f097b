/**
 * A Lambda handler that is handed its dependencies. `handler` itself builds them from the process's environment at
 * first use (on AWS); `handler.withDependencies(deps)` is the same handler over other ones (the local stack, tests),
 * so several stacks can run side by side in one process. The handler on AWS is traced (`shared/tracing.ts`).
 */
import { tracedHandler } from './tracing.ts';

export type Injectable<H, D> = H & {
  /** The same handler, over `deps`. */
  withDependencies(deps: D): H;
};

/** `build` makes the handler from a function that yields its dependencies (called on every invocation). */
export function injectable<D, H>(build: (deps: () => D) => H, fromEnvironment: () => D): Injectable<H, D> {
  const handler = tracedHandler(build(fromEnvironment)) as Injectable<H, D>;
  handler.withDependencies = (deps: D) => build(() => deps);
  return handler;
}

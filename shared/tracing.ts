/**
 * X-Ray tracing through Powertools Tracer. Each invocation is a `## handler` subsegment annotated with the cold start
 * and the service; the calls of every AWS SDK client (DynamoDB, SQS, Secrets Manager, the WebSocket connections API)
 * and every HTTPS request (Stripe's API: a subsegment per call, named by host, with method, path and status) are
 * subsegments of it.
 *
 * Tracing runs in Lambda unless the stage turned it off (`tracing` context → `POWERTOOLS_TRACE_ENABLED=false`). Where
 * it does not run (the local stack, tests, a stage without it) the tracer is not even loaded: the X-Ray SDK costs
 * tens of milliseconds of cold start, which only a traced function should pay.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';

/** True in a Lambda execution environment whose tracing was not turned off. */
export function tracingEnabled(environment: NodeJS.ProcessEnv = process.env): boolean {
  return (
    (environment.AWS_EXECUTION_ENV ?? '') !== '' &&
    (environment.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() !== 'false'
  );
}

/** The package, named apart so the `import()` below is left to run time rather than bundled. */
const TRACER_PACKAGE = '@aws-lambda-powertools/tracer';

/**
 * Powertools Tracer's module. In a function's bundle `require` is defined (`infra/bundling.ts`' banner) and this call
 * is bundled from the package's CommonJS build, which requires `node:http` and the X-Ray SDK only when it runs: the
 * ES module build imports `node:http` statically, and a static import of a built-in would be hoisted to the top of
 * the bundle and loaded at every cold start, traced or not (Node's HTTP module then loads its whole client stack,
 * tens of milliseconds). Run from source (the local stack, tests) there is no `require`: the package is imported.
 */
async function loadTracer(): Promise<typeof import('@aws-lambda-powertools/tracer')> {
  if (typeof require === 'function') return require('@aws-lambda-powertools/tracer');
  return import(TRACER_PACKAGE);
}

/** This process's tracer; undefined where tracing does not run. */
export const tracer: Tracer | undefined = tracingEnabled()
  ? new (await loadTracer()).Tracer({ captureHTTPsRequests: true })
  : undefined;

/** `client`, its calls traced as subsegments where tracing runs. */
export function tracedClient<C>(client: C): C {
  return tracer === undefined ? client : tracer.captureAWSv3Client(client);
}

type LambdaHandler = (event: never, context: Context) => Promise<unknown>;

/**
 * `handler` with each invocation in a `## handler` subsegment (cold start and service annotated, a thrown error
 * recorded); `handler` itself where tracing does not run. Responses are not recorded: they hold payment details.
 */
export function tracedHandler<H>(handler: H, active: Tracer | undefined = tracer): H {
  if (active === undefined) return handler;
  const invoke = handler as unknown as LambdaHandler;
  const traced = async (event: never, context: Context) => {
    const segment = active.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
    if (subsegment !== undefined) active.setSegment(subsegment);
    active.annotateColdStart();
    active.addServiceNameAnnotation();
    try {
      return await invoke(event, context);
    } catch (error) {
      active.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      subsegment?.close();
      if (segment !== undefined) active.setSegment(segment);
    }
  };
  return Object.assign(traced, handler) as unknown as H;
}

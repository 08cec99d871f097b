/**
 * How an operation's failure reaches the edge: an outcome (`OperationFailure`) as it is, a Stripe error nobody
 * mapped by what Stripe said, anything else unchanged (the edge answers it as an internal error); and what of a
 * failure is safe to log.
 */
import { OperationFailure } from '../payments/failures.ts';
import { isStripeError, toFailure } from '../stripe/errors.ts';

/** The outcome `error` stands for. */
export function outcomeOf(error: unknown): unknown {
  return toFailure(error);
}

/** An AWS SDK service error: its name is the service's error code, `$metadata` has the HTTP status and request id. */
interface AwsServiceError extends Error {
  $fault?: string;
  $metadata: { httpStatusCode?: number; requestId?: string };
}

function isAwsServiceError(error: unknown): error is AwsServiceError {
  return error instanceof Error && typeof (error as { $metadata?: unknown }).$metadata === 'object';
}

/**
 * What is safe to log about a failure: its kind, codes and request ids, never request data. Stripe's own message
 * is left out (it can quote parameters); an AWS error's message names the action and resource refused.
 */
export function describeFailure(error: unknown, depth = 0): Record<string, unknown> {
  if (isStripeError(error)) {
    return {
      name: error.type,
      type: error.rawType,
      code: error.code,
      statusCode: error.statusCode,
      stripeRequestId: error.requestId,
    };
  }
  if (isAwsServiceError(error)) {
    return {
      name: error.name,
      fault: error.$fault,
      httpStatusCode: error.$metadata.httpStatusCode,
      awsRequestId: error.$metadata.requestId,
      message: error.message,
    };
  }
  // An outcome whose cause was not recorded: its own kind is all there is.
  if (error instanceof OperationFailure) return { name: error.name, code: error.code };
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message,
      stack: error.stack,
      ...(error.cause === undefined || depth > 2 ? {} : { cause: describeFailure(error.cause, depth + 1) }),
    };
  }
  return { name: typeof error };
}

/**
 * The local stack for integration tests: every part in this test process, every port picked free, nothing
 * written to `.local/`, so a suite runs beside a developer's `npm start`.
 *
 * Each stack hands its handlers dependencies of its own, so a test file may start several. In a test run, the
 * stacks share the run's DynamoDB Local, each with a table of its own.
 *
 * ```ts
 * let stack: LocalStack;
 * beforeAll(async () => { stack = await startTestStack(); });
 * afterAll(() => stack.stop());
 * const response = await api(stack, 'POST', '/payments', { token: stack.state.locations[0].token, body });
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { LocalStack, StackOptions } from '../../local/stack.ts';
import { startStack } from '../../local/stack.ts';
import { sharedDynamoDbEndpoint } from './shared-dynamodb.ts';

export type { LocalStack, StackOptions, StackState } from '../../local/stack.ts';

/**
 * Start the whole stack on free ports. Defaults for tests: no state file, a 2 s long poll, fast webhook
 * retries (100 ms); `overrides` win (e.g. `{ env: { STUCK_ACTION_AFTER_SECONDS: '1' } }`,
 * `{ emulator: { authorizationDelayMs: 50 } }`, `{ reconcileIntervalSeconds: 0.5 }`).
 */
export function startTestStack(
  overrides: StackOptions = {},
  /** `ownDynamoDb`: start a DynamoDB Local of its own rather than use the run's (tests of the stack itself). */
  options: { ownDynamoDb?: boolean } = {},
): Promise<LocalStack> {
  const shared = overrides.dataDir === undefined && !options.ownDynamoDb ? sharedDynamoDbEndpoint() : undefined;
  return startStack({
    apiPort: 0,
    sqsPort: 0,
    dynamoDbPort: 0,
    emulatorPort: 0,
    wsPort: 0,
    stateFile: false,
    // The run's DynamoDB Local, with a table of this stack's own.
    ...(shared === undefined ? {} : { dynamoDbEndpoint: shared, tableName: `payments-${randomUUID().slice(0, 8)}` }),
    ...overrides,
    queue: { waitTimeSeconds: 2, ...overrides.queue },
    emulator: { webhookRetryBaseMs: 100, ...overrides.emulator },
  });
}

/** A response read in full: status, headers and the body parsed as JSON when it is JSON. */
export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** Call the stack's API: `token` becomes `Authorization: Bearer …`, `body` is sent as JSON. */
export async function api<T = unknown>(
  stack: Pick<LocalStack, 'apiUrl'>,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  if (response.headers.get('content-type')?.includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, headers: response.headers, body: body as T, text };
}

/**
 * Vitest global setup: one DynamoDB Local for the whole run, instead of one Java process per test file. Every
 * stack and every set of local parts then creates a table of its own in it (and deletes it when it stops). The
 * endpoint reaches the test workers as `TEST_DYNAMODB_ENDPOINT`, which they inherit; outside a test run (the chaos
 * run's own command) it is unset and each stack starts its own DynamoDB Local.
 */
import { startDynamoDb } from '../../local/dynamodb.ts';

export const SHARED_DYNAMODB_VARIABLE = 'TEST_DYNAMODB_ENDPOINT';

export default async function setup(): Promise<() => Promise<void>> {
  // Java starts slowly on a loaded machine.
  const dynamodb = await startDynamoDb({ port: 0, tableName: 'suite-shared', startTimeoutMs: 90_000 });
  process.env[SHARED_DYNAMODB_VARIABLE] = dynamodb.endpoint;
  return async () => {
    delete process.env[SHARED_DYNAMODB_VARIABLE];
    await dynamodb.stop();
  };
}

/** The run's shared DynamoDB Local, when there is one. */
export function sharedDynamoDbEndpoint(): string | undefined {
  return process.env[SHARED_DYNAMODB_VARIABLE] || undefined;
}

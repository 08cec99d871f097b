/**
 * The DynamoDB document client of a store. Locally the endpoint is DynamoDB Local, which accepts any credentials.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.ts';
import type { Store } from '../dependencies.ts';
import { tracedClient } from '../tracing.ts';

/** The low-level client for `endpoint` (DynamoDB Local) or AWS; its calls traced on AWS. */
export function createDynamoClient(region: string, endpoint?: string): DynamoDBClient {
  return tracedClient(
    new DynamoDBClient({
      region,
      ...(endpoint === undefined ? {} : { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    }),
  );
}

/** The document client the store uses: plain objects in, plain objects out. */
export function createDocumentClient(region: string, endpoint?: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(createDynamoClient(region, endpoint), {
    // A metadata key named `constructor` makes a plain object look like a class instance to the marshaller.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

/** The store `settings` name: its table, in DynamoDB Local (`DYNAMODB_ENDPOINT`) or AWS. */
export function createStore(settings: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT' | 'TABLE_NAME'>): Store {
  return { db: createDocumentClient(settings.AWS_REGION, settings.DYNAMODB_ENDPOINT), table: settings.TABLE_NAME };
}

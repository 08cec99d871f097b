/**
 * The DynamoDB document client, built once per process (once per endpoint, so tests that move the endpoint get
 * a new one). Locally the endpoint is DynamoDB Local, which accepts any credentials.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';

let cached: { key: string; client: DynamoDBDocumentClient } | undefined;
let requestCount = 0;

/** The low-level client for `endpoint` (DynamoDB Local) or AWS. */
export function createDynamoClient(region: string, endpoint?: string): DynamoDBClient {
  return new DynamoDBClient({
    region,
    ...(endpoint === undefined ? {} : { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
}

/** The process's document client. */
export function dynamo(): DynamoDBDocumentClient {
  const { AWS_REGION, DYNAMODB_ENDPOINT } = config();
  const key = `${AWS_REGION}|${DYNAMODB_ENDPOINT ?? ''}`;
  if (cached?.key !== key) {
    const client = DynamoDBDocumentClient.from(createDynamoClient(AWS_REGION, DYNAMODB_ENDPOINT), {
      // A metadata key named `constructor` makes a plain object look like a class instance to the marshaller.
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    });
    client.middlewareStack.add(
      (next) => (args) => {
        requestCount += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countDynamoRequests' },
    );
    cached = { key, client };
  }
  return cached.client;
}

/** The table's name, from config. */
export function tableName(): string {
  return config().TABLE_NAME;
}

/** DynamoDB requests this process has sent (tests and benchmarks check the API's request budget). */
export function dynamoRequestCount(): number {
  return requestCount;
}

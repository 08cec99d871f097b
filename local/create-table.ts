/**
 * Create the table from its one definition (`shared/store/table.ts`): keys, every GSI and TTL. The local stack and the
 * integration tests use it; the CDK app builds the same definition on AWS.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { type IndexDefinition, keyAttributeDefinitions, paymentsTable } from '../shared/store/table.ts';

/** Create `name` with every index and TTL; a table that already exists is left as it is. */
export async function createPaymentsTable(client: DynamoDBClient, name: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: paymentsTable.streamViewType },
        AttributeDefinitions: keyAttributeDefinitions().map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
        KeySchema: [
          { AttributeName: paymentsTable.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: paymentsTable.sortKey.name, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: Object.values(paymentsTable.indexes).map(indexSpecification),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await enableStream(client, name);
    await addMissingIndexes(client, name);
    return;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: name });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: paymentsTable.timeToLiveAttribute },
    }),
  );
}

function indexSpecification(index: IndexDefinition) {
  return {
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  };
}

/** A table kept from before an index was part of its definition (`LOCAL_DATA_DIR`) gets it now, one at a time. */
async function addMissingIndexes(client: DynamoDBClient, name: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const attributes = keyAttributeDefinitions().map((a) => ({ AttributeName: a.name, AttributeType: a.type }));
  for (const index of Object.values(paymentsTable.indexes)) {
    if (present.has(index.indexName)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: attributes.filter(
          (a) => a.AttributeName === index.partitionKey.name || a.AttributeName === index.sortKey.name,
        ),
        GlobalSecondaryIndexUpdates: [{ Create: indexSpecification(index) }],
      }),
    );
    await indexActive(client, name, index.indexName);
  }
}

/** DynamoDB builds one new index at a time: wait until this one is built. */
async function indexActive(client: DynamoDBClient, name: string, indexName: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const index = Table?.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === indexName);
    if (index?.IndexStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`Index ${indexName} of ${name} is still ${index?.IndexStatus}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A table kept from before the change stream was part of its definition (`LOCAL_DATA_DIR`) gets it now. */
async function enableStream(client: DynamoDBClient, name: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  if (Table?.StreamSpecification?.StreamEnabled) return;
  await client.send(
    new UpdateTableCommand({
      TableName: name,
      StreamSpecification: { StreamEnabled: true, StreamViewType: paymentsTable.streamViewType },
    }),
  );
}

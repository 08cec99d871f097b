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
import { keyAttributeDefinitions, paymentsTable } from '../shared/store/table.ts';

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
        GlobalSecondaryIndexes: Object.values(paymentsTable.indexes).map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await enableStream(client, name);
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

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentsTable } from '../../local/create-table.ts';
import { JavaMissingError, startDynamoDb } from '../../local/dynamodb.ts';
import { paymentsTable } from '../../shared/store/table.ts';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'local-dynamodb-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('DynamoDB Local', () => {
  it('keeps the table and its items across restarts when given a data directory', async () => {
    // Prepare
    const first = await startDynamoDb({ port: 0, tableName: 'payments-persisted', dataDir });
    await first.client.send(
      new PutItemCommand({
        TableName: 'payments-persisted',
        Item: { pk: { S: 'PAYMENT#pi_1' }, sk: { S: 'PAYMENT' }, amount: { N: '1299' } },
      }),
    );
    await first.stop();

    // Act
    const second = await startDynamoDb({ port: 0, tableName: 'payments-persisted', dataDir });
    try {
      const { Item } = await second.client.send(
        new GetItemCommand({
          TableName: 'payments-persisted',
          Key: { pk: { S: 'PAYMENT#pi_1' }, sk: { S: 'PAYMENT' } },
        }),
      );

      // Assess
      expect(Item?.amount).toEqual({ N: '1299' });
    } finally {
      await second.stop();
    }
  });

  it('adds an index a table kept from before lacks', async () => {
    // Prepare
    const dynamodb = await startDynamoDb({ port: 0, tableName: 'payments-first', dataDir: join(dataDir, 'indexes') });
    try {
      // The table as it was before `readersByLocation` was defined.
      const older = Object.values(paymentsTable.indexes).filter((index) => index.indexName !== 'readersByLocation');
      const keys = [
        paymentsTable.partitionKey,
        paymentsTable.sortKey,
        ...older.flatMap((i) => [i.partitionKey, i.sortKey]),
      ];
      await dynamodb.client.send(
        new CreateTableCommand({
          TableName: 'payments-older',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [...new Set(keys.map((key) => key.name))].map((name) => ({
            AttributeName: name,
            AttributeType: 'S',
          })),
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: older.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
              { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          })),
        }),
      );

      // Act
      await createPaymentsTable(dynamodb.client, 'payments-older');

      // Assess
      const { Table } = await dynamodb.client.send(new DescribeTableCommand({ TableName: 'payments-older' }));
      expect((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort()).toEqual(
        Object.values(paymentsTable.indexes)
          .map((index) => index.indexName)
          .sort(),
      );
    } finally {
      await dynamodb.stop();
    }
  });

  it('says what to install when there is no java', async () => {
    // Prepare
    const path = process.env.PATH;
    process.env.PATH = join(dataDir, 'no-java-here');

    try {
      // Act
      const starting = startDynamoDb({ port: 0, tableName: 'payments' });

      // Assess
      await expect(starting).rejects.toBeInstanceOf(JavaMissingError);
      await expect(starting).rejects.toThrow(/Java 17 or newer.*apt-get install openjdk-17-jre-headless/);
    } finally {
      process.env.PATH = path;
    }
  });
});

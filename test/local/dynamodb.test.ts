import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JavaMissingError, startDynamoDb } from '../../local/dynamodb.ts';

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

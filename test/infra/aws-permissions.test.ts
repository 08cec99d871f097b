import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type Permission, permissionsOf, type SentCommand, sdkCallOf } from '../support/aws-actions/permissions.ts';

const region = 'us-east-1';
const dynamo = new DynamoDBClient({ region });
const documents = DynamoDBDocumentClient.from(dynamo);
const sqs = new SQSClient({ region });
const secrets = new SecretsManagerClient({ region });
const connections = new ApiGatewayManagementApiClient({
  region,
  endpoint: 'https://abc123.execute-api.us-east-1.amazonaws.com/dev',
});

const env = {
  EVENT_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/stripe-events',
  EVENT_DLQ_URL: 'http://127.0.0.1:4566/000000000000/stripe-events-dlq',
  STRIPE_SECRET_KEY_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:key',
  STRIPE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
};
const TableName = 'payments-test';
const Key = { pk: 'PAYMENT#pi_1', sk: 'PAYMENT' };

/** The permissions the recorder writes down for `command` sent through `client`. */
function permissionsFor(client: unknown, command: unknown): Permission[] {
  return permissionsOf(sdkCallOf({ client, command } as SentCommand), env);
}

describe('the IAM permissions of an SDK call', () => {
  it.each([
    ['a document client get', documents, new GetCommand({ TableName, Key }), ['dynamodb:GetItem on table']],
    ['a low-level get', dynamo, new GetItemCommand({ TableName, Key: {} }), ['dynamodb:GetItem on table']],
    ['a put', documents, new PutCommand({ TableName, Item: Key }), ['dynamodb:PutItem on table']],
    ['an update', documents, new UpdateCommand({ TableName, Key }), ['dynamodb:UpdateItem on table']],
    ['a delete', documents, new DeleteCommand({ TableName, Key }), ['dynamodb:DeleteItem on table']],
    [
      'a query of an index',
      documents,
      new QueryCommand({ TableName, IndexName: 'byLocation', KeyConditionExpression: 'x' }),
      ['dynamodb:Query on table/index/byLocation'],
    ],
    [
      'a query of the table itself',
      documents,
      new QueryCommand({ TableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'x' } }),
      ['dynamodb:Query on table'],
    ],
    [
      'a batch read',
      documents,
      new BatchGetCommand({ RequestItems: { [TableName]: { Keys: [Key] } } }),
      ['dynamodb:BatchGetItem on table'],
    ],
    [
      'a batch write',
      documents,
      new BatchWriteCommand({ RequestItems: { [TableName]: [{ PutRequest: { Item: Key } }] } }),
      ['dynamodb:BatchWriteItem on table'],
    ],
    [
      'a transaction, as the actions of its parts',
      documents,
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName, Item: Key } },
          { Update: { TableName, Key, UpdateExpression: 'SET a = :a' } },
          { Delete: { TableName, Key } },
          { ConditionCheck: { TableName, Key, ConditionExpression: 'attribute_exists(pk)' } },
        ],
      }),
      [
        'dynamodb:PutItem on table',
        'dynamodb:UpdateItem on table',
        'dynamodb:DeleteItem on table',
        'dynamodb:ConditionCheckItem on table',
      ],
    ],
    [
      'a message to the event queue',
      sqs,
      new SendMessageCommand({ QueueUrl: env.EVENT_QUEUE_URL, MessageBody: '{}' }),
      ['sqs:SendMessage on eventQueue'],
    ],
    [
      'a batch of messages to the DLQ',
      sqs,
      new SendMessageBatchCommand({ QueueUrl: env.EVENT_DLQ_URL, Entries: [] }),
      ['sqs:SendMessage on eventDeadLetterQueue'],
    ],
    [
      'a batch delete',
      sqs,
      new DeleteMessageBatchCommand({ QueueUrl: env.EVENT_QUEUE_URL, Entries: [] }),
      ['sqs:DeleteMessage on eventQueue'],
    ],
    [
      'a shorter retry delay',
      sqs,
      new ChangeMessageVisibilityCommand({ QueueUrl: env.EVENT_QUEUE_URL, ReceiptHandle: 'r', VisibilityTimeout: 2 }),
      ['sqs:ChangeMessageVisibility on eventQueue'],
    ],
    [
      'a message to a live-updates connection',
      connections,
      new PostToConnectionCommand({ ConnectionId: 'abc=', Data: '{}' }),
      ['execute-api:ManageConnections on liveApi/POST/@connections'],
    ],
    [
      'closing a live-updates connection',
      connections,
      new DeleteConnectionCommand({ ConnectionId: 'abc=' }),
      ['execute-api:ManageConnections on liveApi/DELETE/@connections'],
    ],
    [
      'a secret read',
      secrets,
      new GetSecretValueCommand({ SecretId: env.STRIPE_WEBHOOK_SECRET_ARN }),
      ['secretsmanager:GetSecretValue on webhookSigningSecret'],
    ],
  ])('names %s', (_, client, command, expected) => {
    // Act
    const permissions = permissionsFor(client, command);

    // Assess
    expect(permissions.map((permission) => `${permission.action} on ${permission.resource}`)).toEqual(expected);
  });

  it('names a queue by its URL when the environment no longer says which it is', () => {
    // Act
    const permissions = permissionsOf(
      sdkCallOf({
        client: sqs,
        command: new SendMessageCommand({ QueueUrl: 'http://127.0.0.1:1/0/other-dlq', MessageBody: '{}' }),
      } as SentCommand),
      {},
    );

    // Assess
    expect(permissions).toEqual([{ action: 'sqs:SendMessage', resource: 'eventDeadLetterQueue' }]);
  });
});

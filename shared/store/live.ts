/**
 * Live-updates connections and their subscriptions, items of the payments table that expire with the connection:
 * - `CONNECTION#{connectionId}` / `CONNECTION`: who connected, until when, and the topics it holds (a string set,
 *   bounded), so closing it removes every subscription;
 * - `TOPIC#{topic}` / `CONNECTION#{connectionId}`: one subscription, so the subscribers of a topic are one query.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Store } from '../dependencies.ts';

export const CONNECTION_SORT_KEY = 'CONNECTION';

/** What a connection can subscribe to: all of one location, or one payment. */
export type Topic = `location#${string}` | `payment#${string}`;

export function locationTopic(locationId: string): Topic {
  return `location#${locationId}`;
}

export function paymentTopic(paymentId: string): Topic {
  return `payment#${paymentId}`;
}

export function connectionPk(connectionId: string): string {
  return `CONNECTION#${connectionId}`;
}

function topicPk(topic: Topic): string {
  return `TOPIC#${topic}`;
}

export interface LiveConnection {
  connectionId: string;
  /** The caller's `sub` and `custom:locations`, as the `$connect` authorizer verified them. */
  sub: string;
  locations: string;
  connectedAt: string;
  /** Unix seconds: the token's expiry or API Gateway's 2-hour limit, whichever comes first. */
  expiresAt: number;
}

export async function putConnection(store: Store, connection: LiveConnection): Promise<void> {
  await store.db.send(
    new PutCommand({
      TableName: store.table,
      Item: { pk: connectionPk(connection.connectionId), sk: CONNECTION_SORT_KEY, entity: 'connection', ...connection },
    }),
  );
}

export type SubscribeOutcome = 'subscribed' | 'too_many_subscriptions' | 'connection_gone';

/**
 * Add `topic` to the connection's topics and write its subscription, in one transaction. Refused when the
 * connection already holds `limit` other topics, or is gone.
 */
export async function subscribe(
  store: Store,
  connectionId: string,
  topic: Topic,
  expiresAt: number,
  limit: number,
): Promise<SubscribeOutcome> {
  try {
    await store.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: store.table,
              Key: { pk: connectionPk(connectionId), sk: CONNECTION_SORT_KEY },
              UpdateExpression: 'ADD #topics :topic',
              ConditionExpression:
                'attribute_exists(pk) AND (attribute_not_exists(#topics) OR size(#topics) < :limit OR contains(#topics, :name))',
              ExpressionAttributeNames: { '#topics': 'topics' },
              ExpressionAttributeValues: { ':topic': new Set([topic]), ':name': topic, ':limit': limit },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Put: {
              TableName: store.table,
              Item: {
                pk: topicPk(topic),
                sk: connectionPk(connectionId),
                entity: 'subscription',
                connectionId,
                expiresAt,
              },
            },
          },
        ],
      }),
    );
    return 'subscribed';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const [connection] = error.CancellationReasons ?? [];
    if (connection?.Code !== 'ConditionalCheckFailed') throw error;
    return connection.Item === undefined ? 'connection_gone' : 'too_many_subscriptions';
  }
}

/** Remove the subscription and the topic from the connection's topics (nothing when it holds none). */
export async function unsubscribe(store: Store, connectionId: string, topic: Topic): Promise<void> {
  await store.db.send(
    new DeleteCommand({ TableName: store.table, Key: { pk: topicPk(topic), sk: connectionPk(connectionId) } }),
  );
  try {
    await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { pk: connectionPk(connectionId), sk: CONNECTION_SORT_KEY },
        UpdateExpression: 'DELETE #topics :topic',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#topics': 'topics' },
        ExpressionAttributeValues: { ':topic': new Set([topic]) },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * Remove the connection and every subscription it holds, and its subscriptions to `alsoTopics` (a subscription an
 * unsubscribe racing a subscribe left outside the connection's topics would otherwise wait for its TTL).
 */
export async function removeConnection(
  store: Store,
  connectionId: string,
  alsoTopics: readonly Topic[] = [],
): Promise<void> {
  const { Attributes } = await store.db.send(
    new DeleteCommand({
      TableName: store.table,
      Key: { pk: connectionPk(connectionId), sk: CONNECTION_SORT_KEY },
      ReturnValues: 'ALL_OLD',
    }),
  );
  const topics = [...new Set([...((Attributes?.topics as Set<Topic> | undefined) ?? []), ...alsoTopics])];
  for (let start = 0; start < topics.length; start += 25) {
    let requests: Record<string, unknown>[] | undefined = topics.slice(start, start + 25).map((topic) => ({
      DeleteRequest: { Key: { pk: topicPk(topic), sk: connectionPk(connectionId) } },
    }));
    for (let round = 0; requests !== undefined && requests.length > 0 && round < 5; round += 1) {
      const output = await store.db.send(new BatchWriteCommand({ RequestItems: { [store.table]: requests as never } }));
      requests = output.UnprocessedItems?.[store.table] as Record<string, unknown>[] | undefined;
    }
  }
}

/** The connections subscribed to any of `topics` whose subscription has not expired at `nowSeconds`. */
export async function subscribersOf(store: Store, topics: readonly Topic[], nowSeconds: number): Promise<Set<string>> {
  const connections = new Set<string>();
  await Promise.all(
    topics.map(async (topic) => {
      let startKey: Record<string, unknown> | undefined;
      do {
        const output: QueryCommandOutput = await store.db.send(
          new QueryCommand({
            TableName: store.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': topicPk(topic) },
            ProjectionExpression: 'connectionId, expiresAt',
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of output.Items ?? []) {
          if (Number(item.expiresAt) > nowSeconds) connections.add(String(item.connectionId));
        }
        startKey = output.LastEvaluatedKey;
      } while (startKey !== undefined);
    }),
  );
  return connections;
}

/**
 * A store held in memory, for testing operations without DynamoDB: the table's items keyed by `pk`/`sk`, and the
 * two requests most operations make, a consistent read (`GetCommand`) and a version-conditional write
 * (`PutCommand` with `attribute_not_exists(pk)` or `#version = :expected`). Any other request fails loudly, so a
 * test meets the real DynamoDB Local (`startLocalParts`) as soon as an operation needs more.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../../shared/dependencies.ts';

type Item = Record<string, unknown>;

export interface MemoryStore extends Store {
  /** The items, by `pk|sk`. */
  items: Map<string, Item>;
  /** The requests sent, by command name. */
  requests: string[];
}

const keyOf = (key: Item) => `${String(key.pk)}|${String(key.sk)}`;

function conditionHolds(existing: Item | undefined, input: PutCommand['input']): boolean {
  const condition = input.ConditionExpression;
  if (condition === undefined) return true;
  if (condition === 'attribute_not_exists(pk)') return existing === undefined;
  if (condition === '#version = :expected' && input.ExpressionAttributeNames?.['#version'] === 'version') {
    return existing !== undefined && existing.version === input.ExpressionAttributeValues?.[':expected'];
  }
  throw new Error(`memory store: condition ${condition} is not supported`);
}

export function memoryStore(table = 'payments-in-memory'): MemoryStore {
  const items = new Map<string, Item>();
  const requests: string[] = [];
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof GetCommand) {
      requests.push('GetItem');
      const item = items.get(keyOf(command.input.Key as Item));
      return { Item: item === undefined ? undefined : structuredClone(item) };
    }
    if (command instanceof PutCommand) {
      requests.push('PutItem');
      const item = command.input.Item as Item;
      if (!conditionHolds(items.get(keyOf(item)), command.input)) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
      }
      items.set(keyOf(item), structuredClone(item));
      return {};
    }
    throw new Error(`memory store: ${(command as object).constructor.name} is not supported`);
  };
  return { db: { send } as unknown as DynamoDBDocumentClient, table, items, requests };
}

/**
 * Looking at the running local stack from outside, as the reliability checks need: the emulator's controls and
 * request log, every item of the table, the queues' depth, and the Stripe writes that took effect.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import type { LocalStack } from '../../support/stack.ts';

/** One API request the emulator received (`GET /_emulator/requests`). */
export interface EmulatorRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
  createdAt: string;
}

/** Call an emulator control (`/_emulator/...`, JSON); throws on an unexpected status. */
export function emulatorControl<T = unknown>(
  stack: Pick<LocalStack, 'emulator'>,
  path: string,
  body: unknown = {},
  accept: (status: number) => boolean = (status) => status < 300,
): Promise<{ status: number; body: T }> {
  return emulatorControls(stack.emulator.url).send<T>(path, { body, accept });
}

/** The emulator's request log, oldest first. */
export async function emulatorRequests(stack: Pick<LocalStack, 'emulator'>): Promise<EmulatorRequest[]> {
  const response = await fetch(`${stack.emulator.url}/_emulator/requests`);
  return ((await response.json()) as { data: EmulatorRequest[] }).data;
}

/** The emulator's webhook delivery attempts (`GET /_emulator/webhooks`). */
export async function webhookAttempts(
  stack: Pick<LocalStack, 'emulator'>,
): Promise<{ eventId: string; type: string; attempt: number; status: number | null }[]> {
  const response = await fetch(`${stack.emulator.url}/_emulator/webhooks`);
  return (
    (await response.json()) as { attempts: { eventId: string; type: string; attempt: number; status: number | null }[] }
  ).attempts;
}

/** Stripe writes that took effect: POSTs answered 2xx that were not idempotent replays. */
export function effectiveWrites(requests: EmulatorRequest[], path?: RegExp): EmulatorRequest[] {
  return requests.filter(
    (request) =>
      request.method === 'POST' &&
      request.status >= 200 &&
      request.status < 300 &&
      !request.replayed &&
      (path === undefined || path.test(request.path)),
  );
}

/** Every item of the stack's table, keyed `pk|sk`, each as JSON text (for before/after comparisons). */
export async function tableSnapshot(stack: Pick<LocalStack, 'dynamodb'>): Promise<Map<string, string>> {
  const items = new Map<string, string>();
  const documents = DynamoDBDocumentClient.from(stack.dynamodb.client);
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: stack.dynamodb.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) items.set(`${item.pk}|${item.sk}`, JSON.stringify(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/** Every item of the table, parsed. */
export async function tableItems(stack: Pick<LocalStack, 'dynamodb'>): Promise<Record<string, unknown>[]> {
  return [...(await tableSnapshot(stack)).values()].map((text) => JSON.parse(text) as Record<string, unknown>);
}

/** Messages waiting and in flight in a queue. */
export async function queueDepth(stack: Pick<LocalStack, 'sqs'>, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.sqs.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Resolve once the queue has been empty (nothing waiting, nothing in flight) for `quietMs`. */
export async function queueDrained(
  stack: Pick<LocalStack, 'sqs'>,
  options: { quietMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const quietMs = options.quietMs ?? 500;
  const until = Date.now() + (options.timeoutMs ?? 60_000);
  let quietSince = Date.now();
  while (Date.now() < until) {
    if ((await queueDepth(stack, stack.sqs.queueUrl)) > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return;
    await sleep(100);
  }
  throw new Error(`the event queue did not drain (${await queueDepth(stack, stack.sqs.queueUrl)} messages left)`);
}

/** Take every message off a queue (the DLQ at the end of a run). */
export async function drainMessages(stack: Pick<LocalStack, 'sqs'>, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await stack.sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
    await stack.sqs.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Poll `read` until `done` holds or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 8_000,
  intervalMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await sleep(intervalMs);
  }
}

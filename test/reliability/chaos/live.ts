/**
 * The live updates under chaos: one POS per location subscribed over the WebSocket API from start to end. Whatever
 * the faults did to the events, the processor and the readers, each must end holding every payment of its location
 * exactly as stored, by keeping the highest version it was sent: no final state lost, none older shown last.
 */
import { isDeepStrictEqual } from 'node:util';
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { WebSocket } from 'ws';
import { toPaymentResource } from '../../../shared/payments/resource.ts';
import { paymentFromItem } from '../../../shared/store/payments.ts';
import type { LocalStack } from '../../support/stack.ts';

// biome-ignore lint/suspicious/noExplicitAny: messages are JSON read field by field
type Message = Record<string, any>;

export interface LiveWatcher {
  locationId: string;
  /** The highest version of each payment seen, with the payment as then sent. */
  latest: Map<string, { version: number; payment: Message }>;
  messages: number;
  /** Closed before the end: what it missed would not be the service's fault. */
  closedEarly: boolean;
  close(): Promise<void>;
}

export async function watchLocation(stack: LocalStack, location: { id: string; token: string }): Promise<LiveWatcher> {
  const socket = new WebSocket(`${stack.state.liveUrl}?token=${encodeURIComponent(location.token)}`);
  let closing = false;
  const watcher: LiveWatcher = {
    locationId: location.id,
    latest: new Map(),
    messages: 0,
    closedEarly: false,
    close: () =>
      new Promise((resolve) => {
        closing = true;
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      }),
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const subscribed = new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      watcher.messages += 1;
      if (message.type === 'subscribed') resolve();
      else if (message.type === 'error') reject(new Error(`live subscribe: ${message.code}`));
      else if (message.type === 'payment.updated') {
        const seen = watcher.latest.get(message.payment.id);
        if (seen === undefined || message.version > seen.version) {
          watcher.latest.set(message.payment.id, { version: message.version, payment: message.payment });
        }
      }
    });
  });
  socket.on('close', () => {
    if (!closing) watcher.closedEarly = true;
  });
  socket.send(JSON.stringify({ action: 'subscribe', locationId: location.id }));
  await subscribed;
  return watcher;
}

/** Wait until the notifier has had nothing to do for `quietMs`. */
export async function liveSettled(stack: LocalStack, quietMs: number): Promise<void> {
  let last = stack.streamPoller.invocations();
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = stack.streamPoller.invocations();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
}

/** Where a watcher's last word on a payment differs from the table. */
export async function liveProblems(stack: LocalStack, watchers: readonly LiveWatcher[]): Promise<string[]> {
  const problems: string[] = [];
  const stored: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page: ScanCommandOutput = await stack.deps.store.db.send(
      new ScanCommand({
        TableName: stack.deps.store.table,
        FilterExpression: 'entity = :payment',
        ExpressionAttributeValues: { ':payment': 'payment' },
        ExclusiveStartKey: startKey,
      }),
    );
    stored.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  for (const watcher of watchers) {
    if (watcher.closedEarly) problems.push(`live: the connection of ${watcher.locationId} closed during the run`);
  }
  for (const item of stored) {
    const record = paymentFromItem(item);
    const watcher = watchers.find((candidate) => candidate.locationId === record.locationId);
    if (watcher === undefined) continue;
    const seen = watcher.latest.get(record.id);
    if (seen === undefined) {
      problems.push(`live: payment ${record.id} (version ${record.version}) was never pushed to its location`);
      continue;
    }
    const { updatedAt: _stored, ...expected } = toPaymentResource(record);
    const { updatedAt: _pushed, ...pushed } = seen.payment;
    const differing = Object.keys(expected).filter(
      (key) => !isDeepStrictEqual((pushed as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key]),
    );
    if (differing.length > 0 || seen.version > record.version) {
      problems.push(
        `live: payment ${record.id} ends as version ${seen.version} ${seen.payment.status} at its location, ` +
          `stored as version ${record.version} ${record.status}` +
          (differing.length > 0
            ? `; differs in ${differing.map((key) => `${key}: ${JSON.stringify((pushed as Record<string, unknown>)[key])} vs ${JSON.stringify((expected as Record<string, unknown>)[key])}`).join(', ')}`
            : ''),
      );
    }
  }
  return problems;
}

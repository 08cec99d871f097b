/**
 * One change of the table, as the live updates publish it: a payment's or a reader's new state, to every
 * connection subscribed to it or to its location. The Payment and Reader resources are the HTTP API's, whole; a
 * change the resource does not show (the attempt bookkeeping, the audit trail) is not published.
 */
import { isDeepStrictEqual } from 'node:util';
import { mapConcurrently } from '../concurrency.ts';
import type { LiveDependencies } from '../live/dependencies.ts';
import type { ServerMessage } from '../live/messages.ts';
import { toPaymentResource, toReaderResource } from '../payments/resource.ts';
import { locationTopic, paymentTopic, removeConnection, subscribersOf, type Topic } from '../store/live.ts';
import { paymentFromItem } from '../store/payments.ts';
import { readerFromStoredItem } from '../store/readers.ts';

/** A stream record's item before and after the change, unmarshalled. */
export interface ItemChange {
  newItem: Record<string, unknown>;
  oldItem?: Record<string, unknown>;
}

export interface Publication {
  topics: Topic[];
  message: ServerMessage;
}

/** What to publish for a change, and to which topics; undefined when a client sees nothing new. */
export function publicationOf(change: ItemChange): Publication | undefined {
  const { newItem, oldItem } = change;
  if (newItem.entity === 'payment') {
    const payment = toPaymentResource(paymentFromItem(newItem));
    if (oldItem?.entity === 'payment' && sameAsBefore(payment, toPaymentResource(paymentFromItem(oldItem)))) {
      return undefined;
    }
    return {
      topics: [locationTopic(payment.locationId), paymentTopic(payment.id)],
      message: { type: 'payment.updated', payment, version: Number(newItem.version ?? 0) },
    };
  }
  if (newItem.entity === 'reader' && newItem.removed === true) {
    // A tombstone: the reader was deleted. Published once, when it is written.
    if (oldItem?.removed === true || typeof newItem.locationId !== 'string') return undefined;
    return {
      topics: [locationTopic(newItem.locationId)],
      message: {
        type: 'reader.removed',
        readerId: String(newItem.readerId),
        locationId: newItem.locationId,
        version: Number(newItem.version ?? 0),
      },
    };
  }
  if (newItem.entity === 'reader') {
    const stored = readerFromStoredItem(newItem);
    if (stored === undefined || stored.reader.locationId === null) return undefined;
    // A reader item written only as a location cache entry, before readers kept their state, has no version.
    if (!('fingerprint' in newItem)) return undefined;
    return {
      topics: [locationTopic(stored.reader.locationId)],
      message: { type: 'reader.updated', reader: toReaderResource(stored.reader), version: stored.version },
    };
  }
  return undefined;
}

/** Equal but for `updatedAt`, which moves with every write. */
function sameAsBefore(now: object, before: object): boolean {
  const { updatedAt: _now, ...restNow } = now as { updatedAt?: string };
  const { updatedAt: _before, ...restBefore } = before as { updatedAt?: string };
  return isDeepStrictEqual(restNow, restBefore);
}

export interface Delivery {
  subscribers: number;
  sent: number;
  gone: number;
  failed: number;
}

/**
 * Send the publication to every current subscriber, a bounded number at a time. A connection that is gone is
 * removed; one that fails is counted and left for the next change; neither holds up the others.
 */
export async function publish(
  deps: LiveDependencies,
  publication: Publication,
  options: { concurrency: number; onFailure?: (connectionId: string, error: unknown) => void },
): Promise<Delivery> {
  const connections = [...(await subscribersOf(deps.store, publication.topics, Math.floor(deps.clock.now() / 1000)))];
  const delivery: Delivery = { subscribers: connections.length, sent: 0, gone: 0, failed: 0 };
  await mapConcurrently(connections, options.concurrency, async (connectionId) => {
    try {
      const outcome = await deps.connections.post(connectionId, publication.message);
      if (outcome === 'sent') {
        delivery.sent += 1;
        return;
      }
      delivery.gone += 1;
      await removeConnection(deps.store, connectionId, publication.topics);
    } catch (error) {
      delivery.failed += 1;
      options.onFailure?.(connectionId, error);
    }
  });
  return delivery;
}

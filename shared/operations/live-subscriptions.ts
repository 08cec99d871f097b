/**
 * A live-updates client's messages: ping, subscribe and unsubscribe. A subscription is written before the current
 * state is read, so a change made in between is either in that state or published after it; a client keeps the
 * highest `version` it has seen.
 */
import { type Caller, canActFor } from '../http/caller.ts';
import { liveLimits } from '../live/definition.ts';
import type { LiveDependencies } from '../live/dependencies.ts';
import { type ErrorCode, parseClientMessage, type ServerMessage, type Subject } from '../live/messages.ts';
import { PaymentNotFoundError } from '../payments/failures.ts';
import { toPaymentResource, toReaderResource } from '../payments/resource.ts';
import { locationTopic, paymentTopic, subscribe, type Topic, unsubscribe } from '../store/live.ts';
import { getPayment } from '../store/payments.ts';
import { locationExists } from '../stripe/calls.ts';
import { visiblePayment } from './access.ts';
import { readLocationReaders } from './read-readers.ts';

/** The connection a message came on, as the `$connect` authorizer admitted it. */
export interface LiveConnectionContext {
  connectionId: string;
  caller: Caller;
  /** Unix seconds: the caller's token expiry or the connection's 2-hour limit, whichever comes first. */
  expiresAt: number;
}

function error(code: ErrorCode, message: string, action?: string): ServerMessage {
  return { type: 'error', code, message, ...(action === undefined ? {} : { action }) };
}

const NOT_FOUND = 'No such location or payment, or not one this token may see.';

/** The answer to one client frame. */
export async function answerClientMessage(
  deps: LiveDependencies,
  connection: LiveConnectionContext,
  body: string | undefined,
): Promise<ServerMessage> {
  const parsed = parseClientMessage(body, liveLimits.maxMessageBytes);
  if (!parsed.ok) return parsed.error;
  if (parsed.action === 'ping') return { type: 'pong' };
  if (deps.clock.now() >= connection.expiresAt * 1000) {
    return error('token_expired', 'The token has expired: connect again with a fresh one.', parsed.action);
  }
  if (parsed.action === 'unsubscribe') {
    await unsubscribe(deps.store, connection.connectionId, topicOf(parsed.subject));
    return 'paymentId' in parsed.subject
      ? { type: 'unsubscribed', paymentId: parsed.subject.paymentId }
      : { type: 'unsubscribed', locationId: parsed.subject.locationId };
  }
  return 'paymentId' in parsed.subject
    ? subscribeToPayment(deps, connection, parsed.subject.paymentId)
    : subscribeToLocation(deps, connection, parsed.subject.locationId);
}

function topicOf(subject: Subject): Topic {
  return 'paymentId' in subject ? paymentTopic(subject.paymentId) : locationTopic(subject.locationId);
}

async function subscribeToPayment(
  deps: LiveDependencies,
  connection: LiveConnectionContext,
  paymentId: string,
): Promise<ServerMessage> {
  const access = (locationId: string | null) => canActFor(connection.caller, locationId);
  try {
    visiblePayment(access, await getPayment(deps.store, paymentId));
  } catch (failure) {
    if (failure instanceof PaymentNotFoundError) return error('not_found', NOT_FOUND, 'subscribe');
    throw failure;
  }
  const refused = await addSubscription(deps, connection, paymentTopic(paymentId));
  if (refused !== undefined) return refused;
  // Read again after subscribing: a change in between is in this state or comes as an update.
  const payment = visiblePayment(access, await getPayment(deps.store, paymentId));
  return { type: 'subscribed', paymentId, payment: toPaymentResource(payment), version: payment.version };
}

async function subscribeToLocation(
  deps: LiveDependencies,
  connection: LiveConnectionContext,
  locationId: string,
): Promise<ServerMessage> {
  const { caller } = connection;
  if (!canActFor(caller, locationId)) return error('not_found', NOT_FOUND, 'subscribe');
  // A caller of every location may name any id: whether it is a location is Stripe's to say.
  if (caller.locations === '*' && !(await locationExists(deps, locationId))) {
    return error('not_found', NOT_FOUND, 'subscribe');
  }
  const topic = locationTopic(locationId);
  const refused = await addSubscription(deps, connection, topic);
  if (refused !== undefined) return refused;
  try {
    const readers = await readLocationReaders(deps, locationId);
    return {
      type: 'subscribed',
      locationId,
      readers: readers.map(({ reader, version }) => ({ reader: toReaderResource(reader), version })),
    };
  } catch (failure) {
    // Without the readers' current state the subscription would leave the client guessing: it is undone.
    await unsubscribe(deps.store, connection.connectionId, topic);
    throw failure;
  }
}

async function addSubscription(
  deps: LiveDependencies,
  connection: LiveConnectionContext,
  topic: Topic,
): Promise<ServerMessage | undefined> {
  const outcome = await subscribe(
    deps.store,
    connection.connectionId,
    topic,
    connection.expiresAt,
    deps.settings.LIVE_MAX_SUBSCRIPTIONS,
  );
  if (outcome === 'too_many_subscriptions') {
    return error(
      'too_many_subscriptions',
      `A connection holds at most ${deps.settings.LIVE_MAX_SUBSCRIPTIONS} subscriptions: unsubscribe first.`,
      'subscribe',
    );
  }
  if (outcome === 'connection_gone')
    return error('not_found', 'This connection is closing: connect again.', 'subscribe');
  return undefined;
}

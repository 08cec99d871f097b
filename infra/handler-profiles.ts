/**
 * What each Lambda gets: memory, timeout, and exactly the access its code uses. The stack turns a profile
 * into IAM statements; nothing else grants a function anything, so this file is the least-privilege review.
 *
 * Sizing, once for all: Lambda gives CPU in proportion to memory, and the handlers are I/O-bound (Stripe,
 * DynamoDB), so memory buys cold-start speed (loading the Stripe and AWS SDKs), not throughput. Functions a
 * cashier or Stripe waits on get 1024 MB; the rest get what their cold start needs.
 */

import { eventQueue } from '../shared/queue/definition.ts';
import type { backgroundFunctions, liveFunctions } from '../shared/routes.ts';
import type { paymentsTable } from '../shared/store/table.ts';

export type IndexName = keyof typeof paymentsTable.indexes;

/**
 * The DynamoDB actions a function may be granted on the table itself (its items, and `Query` of the base table's
 * keys; an index is granted apart, on its own ARN). A transaction is authorized part by part (a Put needs
 * `PutItem`, an Update `UpdateItem`, a Delete `DeleteItem`); there is no action of its own for it.
 */
export type TableItemAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:ConditionCheckItem';

export interface HandlerProfile {
  memoryMb: number;
  timeoutSeconds: number;
  /**
   * `items`: these actions on the table (what the function's code sends, no more: `test/infra/role-actions.test.ts`
   * compares them with the calls the suite records); `indexes`: `dynamodb:Query` on those indexes' own ARNs.
   */
  table?: { items?: readonly TableItemAction[]; indexes?: readonly IndexName[] };
  /** Reads the Stripe secret key (every function that calls Stripe). */
  stripeSecretKey?: boolean;
  /** Reads the webhook signing secret. */
  webhookSecret?: boolean;
  /** Sends to the Stripe event queue (the webhook receiver). */
  sendsEvents?: boolean;
  /**
   * Consumes the Stripe event queue (the processor): the event source mapping's own permissions, the queue
   * URL to shorten a record's retry delay, and sending a body that is not an event straight to the DLQ.
   */
  consumesEvents?: boolean;
  /**
   * Posts to live-updates connections: `execute-api:ManageConnections` on the WebSocket stage's
   * `POST @connections` only, and the stage's connection management URL (`LIVE_ENDPOINT`).
   */
  postsToConnections?: boolean;
  /** Reserved concurrency; the webhook receiver's comes from the stage settings. */
  reservedConcurrency?: number;
}

/**
 * API Gateway's HTTP API gives an integration 30 s. A POS handler stops a second before, so it never keeps
 * working (a reader command retrying `terminal_reader_timeout`) after the POS has been told it timed out.
 */
const API_TIMEOUT_SECONDS = 29;

/** A POS route that calls Stripe; its table access is its own. */
const posRoute = { memoryMb: 1024, timeoutSeconds: API_TIMEOUT_SECONDS, stripeSecretKey: true } as const;

/** Reads a payment (strongly consistent) and stores its changes with version-conditional puts. */
const paymentReadWrite: readonly TableItemAction[] = ['dynamodb:GetItem', 'dynamodb:PutItem'];

/**
 * Stores what Stripe said of readers (`recordReaders`): one batch read of the stored ones, then the readers that
 * changed in one version-conditional put (one reader) or transaction of puts (several).
 */
const recordReaders: readonly TableItemAction[] = ['dynamodb:BatchGetItem', 'dynamodb:PutItem'];

/** Removes a live connection (a delete returning its topics) and its subscriptions (batch deletes). */
const removeConnection: readonly TableItemAction[] = ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/** Profiles of the route handlers, by route name (`shared/routes.ts`). */
export const routeProfiles: Readonly<Record<string, HandlerProfile>> = {
  // Claims the order (put), starts its next generation (update), stores the payment with its order in one
  // transaction (put + update); reads payments, reads the reader cache for `readerId` (get) and, for a reader
  // not in it yet, stores what Stripe says of it.
  CreatePayment: {
    ...posRoute,
    table: { items: [...paymentReadWrite, 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'] },
  },
  UpdatePayment: { ...posRoute, table: { items: paymentReadWrite } },
  // Reads the payment and the reader's cache entry in one batch; a reader not in the cache yet is looked up
  // at Stripe and stored.
  ProcessPayment: { ...posRoute, table: { items: [...paymentReadWrite, 'dynamodb:BatchGetItem'] } },
  CapturePayment: { ...posRoute, table: { items: paymentReadWrite } },
  CancelPayment: { ...posRoute, table: { items: paymentReadWrite } },
  // Claims the refund in the payment (a version-conditional put) and records Stripe's answer; with `readerId`,
  // reads the payment and the reader's cache entry in one batch, as processing does.
  RefundPayment: { ...posRoute, table: { items: [...paymentReadWrite, 'dynamodb:BatchGetItem'] } },
  // Reads the payment; one lacking its receipt fields (its charge's events late) re-reads the PaymentIntent and
  // stores what it learnt.
  GetReceipt: { ...posRoute, table: { items: paymentReadWrite } },
  // Sets the PaymentIntent's receipt_email and stores it.
  EmailReceipt: { ...posRoute, table: { items: paymentReadWrite } },
  // Reads the payment; DynamoDB only.
  ListRefunds: { memoryMb: 512, timeoutSeconds: 10, table: { items: ['dynamodb:GetItem'] } },
  CancelReaderAction: { ...posRoute, table: { items: paymentReadWrite } },
  // `?refresh=true` re-reads the PaymentIntent and the reader from Stripe and stores what it learnt.
  GetPayment: { ...posRoute, table: { items: paymentReadWrite } },
  // Lists the stored readers (the fleet's index); `?refresh=true` stores what Stripe just said of them and
  // forgets those Stripe no longer has (a tombstone: an update).
  ListReaders: {
    ...posRoute,
    table: { items: [...recordReaders, 'dynamodb:UpdateItem'], indexes: ['readersByLocation'] },
  },
  // Admin routes. Registering stores the new reader (and reads the tombstone of one Stripe replayed after it was
  // deleted); relabelling reads its stored item (where it is) and stores it; deleting reads a tombstone (a repeated
  // delete) and writes one (an update).
  RegisterReader: { ...posRoute, table: { items: ['dynamodb:GetItem', ...recordReaders] } },
  UpdateReader: { ...posRoute, table: { items: ['dynamodb:GetItem', ...recordReaders] } },
  // and a payment whose command to the reader is still on its way (the in-flight index) refuses it.
  DeleteReader: {
    ...posRoute,
    table: { items: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], indexes: ['activeReaderActions'] },
  },
  // Locations are Stripe's; the reader counts come from one query of the fleet's index.
  ListLocations: { ...posRoute, table: { indexes: ['readersByLocation'] } },
  CreateLocation: posRoute,
  // Stores what Stripe just said of the reader, and nothing else.
  GetReader: { ...posRoute, table: { items: recordReaders } },
  // Reads the reader's cache entry; a reader not in it yet is looked up at Stripe and stored. Stores nothing else.
  SetReaderDisplay: { ...posRoute, table: { items: ['dynamodb:GetItem', ...recordReaders] } },
  // A location's tipping lives in its Stripe Terminal configuration: Stripe only, no table.
  GetLocationTipping: posRoute,
  PutLocationTipping: posRoute,
  // Queries the two listing indexes and nothing else; DynamoDB only, so a short timeout surfaces a
  // problem instead of hiding it.
  ListPayments: { memoryMb: 512, timeoutSeconds: 10, table: { indexes: ['byLocation', 'byCreated'] } },
  // Verifies a signature and sends one SQS message: a small function, kept warm by its own concurrency.
  // 10 s is far inside Stripe's delivery timeout; a slower answer means SQS is in trouble and Stripe retries.
  ReceiveStripeWebhook: { memoryMb: 512, timeoutSeconds: 10, webhookSecret: true, sendsEvents: true },
  // Touches nothing: it proves API Gateway and Lambda answer.
  Health: { memoryMb: 256, timeoutSeconds: 3 },
};

/** Profiles of the functions no route invokes, by `shared/routes.ts` `backgroundFunctions` key. */
export const backgroundProfiles: Readonly<Record<keyof typeof backgroundFunctions, HandlerProfile>> = {
  // The queue's visibility timeout is derived from this same number (6×), as AWS advises for SQS sources.
  processEvents: {
    memoryMb: 1024,
    timeoutSeconds: eventQueue.processorTimeoutSeconds,
    // Reads the payment and the event's dedupe item in one batch; stores both in one transaction of two puts. A
    // payment authorized on another reader is stored with a version-conditional put (re-read on a conflict).
    table: { items: ['dynamodb:BatchGetItem', ...paymentReadWrite] },
    stripeSecretKey: true,
    consumesEvents: true,
  },
  // Runs every minute; one run at a time, so its Stripe call pacing holds and two runs never race on a
  // payment. Its time budget (RECONCILE_TIME_BUDGET_MS) ends well before this timeout.
  reconcile: {
    memoryMb: 1024,
    timeoutSeconds: 60,
    // Its cursor item (get, put), payments (version-conditional puts, re-read on a conflict), order claims it
    // settles (the create path's put + update transaction, an update to set a refused one aside), and the readers
    // it refreshes from Stripe (the fleet's index, a batch read on a conflict, the ones that changed in one put or
    // transaction, a tombstone update for a reader Stripe no longer has).
    table: {
      items: [...paymentReadWrite, 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'],
      indexes: [
        'activeReaderActions',
        'awaitingCaptureByAge',
        'awaitingCaptureByDeadline',
        'unsettledRefunds',
        'pendingOrders',
        'readersByLocation',
      ],
    },
    stripeSecretKey: true,
    reservedConcurrency: 1,
  },
  // Cognito waits 5 s for a trigger before it fails the sign-in. One AdminGetUser of the privileged user signing in,
  // granted apart on the user pool (`payments-stack.ts`: the pool names this function, so the grant must not be in
  // the policy the function itself waits on).
  issueTokens: { memoryMb: 512, timeoutSeconds: 5 },
};

/**
 * Profiles of the live-updates WebSocket API's functions, by `shared/routes.ts` `liveFunctions` key. API Gateway
 * gives a WebSocket integration 29 s, as the HTTP API does.
 */
export const liveProfiles: Readonly<Record<keyof typeof liveFunctions, HandlerProfile>> = {
  // Checks the `$connect` token against the issuer's keys (fetched once per cold start) and touches nothing
  // else; a POS waits on it to connect, and RSA verification is CPU work, so more than the smallest size.
  authorize: { memoryMb: 512, timeoutSeconds: 10 },
  // Stores the connection (one put); DynamoDB only, so a short timeout.
  connect: { memoryMb: 512, timeoutSeconds: 10, table: { items: ['dynamodb:PutItem'] } },
  // Removes the connection and its subscriptions; DynamoDB only.
  disconnect: { memoryMb: 512, timeoutSeconds: 10, table: { items: removeConnection } },
  // A POS waits on its answer, like a POS route. Reads a payment (get); subscribes in a transaction (update of
  // the connection + put of the subscription); unsubscribes (delete + update); stores a location's readers as
  // Stripe lists them; removes a connection found gone when answering. Calls Stripe (readers, location) and
  // answers on the connection.
  message: {
    memoryMb: 1024,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    table: {
      items: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:BatchGetItem',
        ...removeConnection,
      ],
    },
    stripeSecretKey: true,
    postsToConnections: true,
  },
  // A cashier waits on what it pushes. Queries a topic's subscriptions on the base table's keys, posts to each
  // connection (a bounded number at once, each post cut off after 3 s), and removes connections found gone.
  // A batch is at most `notifierStream.batchSize` records; one that runs out of time is retried (bisected).
  notify: {
    memoryMb: 1024,
    timeoutSeconds: 60,
    table: { items: ['dynamodb:Query', ...removeConnection] },
    postsToConnections: true,
  },
};

/**
 * The reconciler stops taking new work this long before its Lambda timeout: room for the Stripe call in
 * flight (STRIPE_TIMEOUT_MS, 8 s by default) and the write that records its result.
 */
export const RECONCILE_TIME_BUDGET_MARGIN_MS = 15_000;

/** Every route has a profile; a route added to `shared/routes.ts` without one fails synth here. */
export function routeProfile(routeName: string): HandlerProfile {
  const profile = routeProfiles[routeName];
  if (profile === undefined) {
    throw new Error(`Route ${routeName} has no profile in infra/handler-profiles.ts: decide its memory and access`);
  }
  return profile;
}

/** Time kept for a function's own writes and answer after its last Stripe call. */
const WRITE_MARGIN_MS = 2_000;

/**
 * Whether each function's timeout leaves room for the Stripe calls it can make, at the configured Stripe timeout
 * (`STRIPE_TIMEOUT_MS`): one event record's calls in the processor, a run's margin in the reconciler (so the call in
 * flight when its budget ends still finishes), and at least one call for everything else that calls Stripe. Throws
 * naming every function that could be cut off mid-call; `cdk synth` runs it.
 */
export function checkTimeouts(config: { STRIPE_TIMEOUT_MS: number }): void {
  const stripeMs = config.STRIPE_TIMEOUT_MS;
  const needs: { name: string; timeoutMs: number; needMs: number; why: string }[] = [
    {
      name: 'processEvents',
      timeoutMs: backgroundProfiles.processEvents.timeoutSeconds * 1000,
      needMs: eventQueue.stripeCallsPerRecord * stripeMs + eventQueue.recordMarginMs,
      why: `${eventQueue.stripeCallsPerRecord} Stripe calls of one event record and its writes`,
    },
    {
      name: 'reconcile',
      timeoutMs: RECONCILE_TIME_BUDGET_MARGIN_MS,
      needMs: stripeMs + WRITE_MARGIN_MS,
      why: 'the Stripe call in flight when its time budget ends (RECONCILE_TIME_BUDGET_MARGIN_MS)',
    },
    ...Object.entries({ ...routeProfiles, ...liveProfiles })
      .filter(([, profile]) => profile.stripeSecretKey === true)
      .map(([name, profile]) => ({
        name,
        timeoutMs: profile.timeoutSeconds * 1000,
        needMs: stripeMs + WRITE_MARGIN_MS,
        why: 'one Stripe call and its write',
      })),
  ];
  const short = needs.filter(({ timeoutMs, needMs }) => timeoutMs < needMs);
  if (short.length > 0) {
    throw new Error(
      `Timeouts too short for STRIPE_TIMEOUT_MS=${stripeMs}: ${short
        .map(({ name, timeoutMs, needMs, why }) => `${name} has ${timeoutMs} ms, needs ${needMs} ms (${why})`)
        .join('; ')}`,
    );
  }
}

/**
 * The one DynamoDB table, defined once. The CDK app and the local stack both build it from this
 * definition, so the deployed table and DynamoDB Local cannot drift apart.
 *
 * Items (pk / sk):
 * - `PAYMENT#{paymentIntentId}` / `PAYMENT`       the payment (Stripe PaymentIntent + reader action state)
 * - `ORDER#{locationId}#{orderId}` / `ORDER`      the order's live PaymentIntent and its generation
 * - `READER#{readerId}` / `READER`                the reader as last read: location cache (authorizing a reader command
 *                                                 costs no Stripe call), state and health; once
 *                                                 the reader is deleted, a tombstone (`removed`) that expires
 * - `EVENT#{eventId}` / `EVENT`                   an applied Stripe event (dedupe), expires after `expiresAt`
 * - `CONNECTION#{connectionId}` / `CONNECTION`    a live-updates WebSocket connection and its topics, expires with it
 * - `TOPIC#{topic}` / `CONNECTION#{connectionId}` a connection's subscription to a topic (`location#…`, `payment#…`)
 *
 * The table's change stream (new and old images) feeds the live-updates notifier (`shared/live/definition.ts`).
 *
 * Indexes (all sparse: an item is in an index only while it carries the index's key attributes):
 * - `byLocation`            payments of one location, newest first
 * - `byCreated`             all payments, newest first (callers allowed every location), spread over `LIST_SHARDS`
 *                           partitions by payment id so writes never crowd one key
 * - `activeReaderActions`   payments whose reader action is `in_progress`, oldest action first (reconciler)
 * - `awaitingCaptureByAge`  `requires_capture` payments by authorization time (reconciler: approaching deadline)
 * - `awaitingCaptureByDeadline` the same payments by `captureBefore` (reconciler: expired authorizations)
 * - `unsettledRefunds`      payments with a refund not settled yet, by when the reconciler should look (reconciler)
 * - `pendingOrders`         order claims whose PaymentIntent is not recorded yet, oldest first (reconciler)
 * - `readersByLocation`     every stored reader, by location then id: one partition (`FLEET`), so one query reads
 *                           the whole fleet (the reconciler, `GET /readers` for every location) or one location's
 */
export interface KeyAttribute {
  name: string;
  type: 'S' | 'N';
}

export interface IndexDefinition {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
}

export const paymentsTable = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  /** Every change, with the item before and after it: the notifier publishes what a client can see of it. */
  streamViewType: 'NEW_AND_OLD_IMAGES',
  indexes: {
    byLocation: {
      indexName: 'byLocation',
      partitionKey: { name: 'locationKey', type: 'S' },
      sortKey: { name: 'createdKey', type: 'S' },
    },
    byCreated: {
      indexName: 'byCreated',
      partitionKey: { name: 'listKey', type: 'S' },
      sortKey: { name: 'createdKey', type: 'S' },
    },
    activeReaderActions: {
      indexName: 'activeReaderActions',
      partitionKey: { name: 'activeActionKey', type: 'S' },
      sortKey: { name: 'actionStartedAt', type: 'S' },
    },
    awaitingCaptureByAge: {
      indexName: 'awaitingCaptureByAge',
      partitionKey: { name: 'awaitingCaptureKey', type: 'S' },
      sortKey: { name: 'authorizedAt', type: 'S' },
    },
    awaitingCaptureByDeadline: {
      indexName: 'awaitingCaptureByDeadline',
      partitionKey: { name: 'awaitingCaptureKey', type: 'S' },
      sortKey: { name: 'captureBefore', type: 'S' },
    },
    unsettledRefunds: {
      indexName: 'unsettledRefunds',
      partitionKey: { name: 'unsettledRefundKey', type: 'S' },
      sortKey: { name: 'refundCheckAt', type: 'S' },
    },
    pendingOrders: {
      indexName: 'pendingOrders',
      partitionKey: { name: 'pendingOrderKey', type: 'S' },
      sortKey: { name: 'claimedAt', type: 'S' },
    },
    // Its sort key is `{locationId}#{readerId}`: a location's readers are a `begins_with` range of the one partition.
    readersByLocation: {
      indexName: 'readersByLocation',
      partitionKey: { name: 'readerFleet', type: 'S' },
      sortKey: { name: 'locationReaderId', type: 'S' },
    },
  },
} as const satisfies {
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  timeToLiveAttribute: string;
  streamViewType: 'NEW_AND_OLD_IMAGES';
  indexes: Record<string, IndexDefinition>;
};

/** How long an applied event id is remembered: longer than Stripe's 3-day retry window. */
export const EVENT_DEDUPE_TTL_SECONDS = 7 * 24 * 60 * 60;

/** Every attribute that is a key of the table or of an index, with its type (for CreateTable). */
export function keyAttributeDefinitions(): KeyAttribute[] {
  const all = [
    paymentsTable.partitionKey,
    paymentsTable.sortKey,
    ...Object.values(paymentsTable.indexes).flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return [...new Map(all.map((attribute) => [attribute.name, attribute])).values()];
}

/**
 * Payments written straight to DynamoDB Local for the reconciler's tests: thousands of healthy ones (BatchWrite)
 * and candidates whose PaymentIntents exist in the emulator, so their reads succeed.
 */
import { BatchWriteCommand, type BatchWriteCommandOutput } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import type { Store } from '../../../shared/dependencies.ts';
import { newPaymentRecord, startProcessAttempt } from '../../../shared/payments/record.ts';
import type { PaymentRecord } from '../../../shared/payments/types.ts';
import { paymentItem, savePayment } from '../../../shared/store/payments.ts';
import { paymentIntentSnapshot } from '../../../shared/stripe/snapshots.ts';
import { newPayment, paymentIntent } from '../../support/fixtures.ts';

const MINUTE = 60_000;

/** A payment record that has never touched Stripe (its id is made up), created `ageMs` ago. */
export function healthyPayment(n: number, kind: HealthyKind, nowMs: number, locationId: string): PaymentRecord {
  const createdAtMs = nowMs - 30 * MINUTE + n;
  const record = {
    ...newPayment({
      id: `pi_healthy_${String(n).padStart(6, '0')}`,
      locationId,
      createdAt: new Date(createdAtMs),
      orderId: `healthy-${n}`,
      amount: 1000 + n,
      captureMethod: kind === 'awaiting_capture' ? 'manual' : 'automatic',
    }),
    version: 1,
  };
  const startedAtMs = nowMs - 10_000;
  switch (kind) {
    case 'succeeded':
      return { ...record, status: 'succeeded', amountReceived: record.amount };
    case 'canceled':
      return { ...record, status: 'canceled', cancellationReason: 'requested_by_customer' };
    case 'open':
      return record;
    case 'processing_recently':
      // On a reader for 10 s: in the `activeReaderActions` index, but younger than the stuck threshold.
      return startProcessAttempt(record, { readerId: 'tmr_healthy', startedAtMs }, new Date(startedAtMs));
    case 'awaiting_capture': {
      // Authorized 10 minutes ago: in the `awaitingCapture*` indexes, far from the warning age and the deadline.
      const authorizedAt = new Date(nowMs - 10 * MINUTE);
      return {
        ...record,
        status: 'requires_capture',
        amountCapturable: record.amount,
        authorizedAt: authorizedAt.toISOString(),
        captureBefore: new Date(authorizedAt.getTime() + 2 * 24 * 60 * MINUTE).toISOString(),
      };
    }
  }
}

export const HEALTHY_KINDS = ['succeeded', 'canceled', 'open', 'processing_recently', 'awaiting_capture'] as const;
export type HealthyKind = (typeof HEALTHY_KINDS)[number];

/** Write records as they are (no version check), 25 per BatchWriteItem, a few requests at a time. */
export async function batchWritePayments(store: Store, records: PaymentRecord[]): Promise<void> {
  const chunks: PaymentRecord[][] = [];
  for (let start = 0; start < records.length; start += 25) chunks.push(records.slice(start, start + 25));
  const writeChunk = async (chunk: PaymentRecord[]) => {
    let requests: unknown[] | undefined = chunk.map((record) => ({ PutRequest: { Item: paymentItem(record) } }));
    while (requests !== undefined && requests.length > 0) {
      const output: BatchWriteCommandOutput = await store.db.send(
        new BatchWriteCommand({ RequestItems: { [store.table]: requests as never } }),
      );
      requests = output.UnprocessedItems?.[store.table];
    }
  };
  for (let start = 0; start < chunks.length; start += 4) {
    await Promise.all(chunks.slice(start, start + 4).map(writeChunk));
  }
}

/**
 * A payment whose PaymentIntent exists in the emulator (`requires_payment_method`) and whose record says a reader
 * action started `startedAtMs` on `readerId` is still in progress.
 */
export async function stuckPayment(
  store: Store,
  stripe: Stripe,
  input: { readerId: string; locationId: string; startedAtMs: number; orderId: string },
): Promise<PaymentRecord> {
  const intent = await stripe.paymentIntents.create({
    amount: 2000,
    currency: 'usd',
    allowed_payment_method_types: ['card_present'],
    capture_method: 'automatic',
  });
  return insertStuck(store, paymentIntentSnapshot(intent), input);
}

/** A stuck record for a PaymentIntent Stripe does not have: reading it fails with `resource_missing`. */
export function unknownStuckPayment(
  store: Store,
  input: {
    readerId: string;
    locationId: string;
    startedAtMs: number;
    orderId: string;
  },
): Promise<PaymentRecord> {
  return insertStuck(store, paymentIntent({ id: 'pi_unknown_to_stripe', amount: 2000 }), input);
}

async function insertStuck(
  store: Store,
  paymentIntent: ReturnType<typeof paymentIntentSnapshot>,
  input: { readerId: string; locationId: string; startedAtMs: number; orderId: string },
): Promise<PaymentRecord> {
  const created = newPaymentRecord(
    {
      paymentIntent,
      orderId: input.orderId,
      locationId: input.locationId,
      captureMethod: 'automatic',
      description: null,
      metadata: {},
    },
    new Date(input.startedAtMs - 1_000),
  );
  const started = startProcessAttempt(
    created,
    { readerId: input.readerId, startedAtMs: input.startedAtMs },
    new Date(input.startedAtMs),
  );
  return savePayment(store, started);
}

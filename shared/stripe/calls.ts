/**
 * Stripe calls the API makes, each with its idempotency key where it writes. Retries here are only those that
 * cannot move money twice: a request whose key is still in use by a racing twin is retried until the twin's
 * answer can be replayed.
 */
import type Stripe from 'stripe';
import { idempotencyKeys } from '../payments/idempotency.ts';
import type { CaptureMethod } from '../payments/types.ts';
import { stripe } from './client.ts';
import { isReplayedError, stripeErrorCode } from './errors.ts';

const KEY_IN_USE_RETRIES = 6;
const KEY_IN_USE_DELAY_MS = 250;
/** Fresh keys tried after replayed errors before giving up (each replay is a stored old answer). */
const MAX_REPLAYED_KEYS = 10;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run a keyed Stripe write; while a concurrent request with the same key is still running (409
 * `idempotency_key_in_use`), wait and send it again, so the loser gets the winner's answer replayed.
 */
export async function withKeyInUseRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (stripeErrorCode(error) !== 'idempotency_key_in_use' || attempt >= KEY_IN_USE_RETRIES) throw error;
      await sleep(KEY_IN_USE_DELAY_MS * (attempt + 1));
    }
  }
}

/**
 * Run a write whose key ends in a counter, moving to the next counter while Stripe only replays an error stored
 * under the current one (Stripe keeps reader errors under their key for 24 hours).
 */
export async function withFreshKeyAfterReplayedError<T>(
  firstCounter: number,
  call: (counter: number) => Promise<T>,
): Promise<{ result: T; counter: number }> {
  for (let counter = firstCounter; ; counter += 1) {
    try {
      return { result: await withKeyInUseRetry(() => call(counter)), counter };
    } catch (error) {
      if (!isReplayedError(error) || counter - firstCounter >= MAX_REPLAYED_KEYS) throw error;
    }
  }
}

export interface CreatePaymentIntentInput {
  locationId: string;
  orderId: string;
  generation: number;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  description: string | null;
  metadata: Record<string, string>;
}

/** Create the order generation's PaymentIntent for a card-present payment. */
export async function createPaymentIntent(input: CreatePaymentIntentInput): Promise<Stripe.PaymentIntent> {
  const client = await stripe();
  const params: Stripe.PaymentIntentCreateParams = {
    amount: input.amount,
    currency: input.currency,
    // Terminal payments must allow card_present (stripe 23 replaced payment_method_types with this).
    allowed_payment_method_types: ['card_present'],
    capture_method: input.captureMethod,
    metadata: { ...input.metadata, orderId: input.orderId, locationId: input.locationId },
  };
  if (input.description !== null) params.description = input.description;
  const idempotencyKey = idempotencyKeys.createPayment(input.locationId, input.orderId, input.generation);
  return withKeyInUseRetry(() => client.paymentIntents.create(params, { idempotencyKey }));
}

/** The PaymentIntent as Stripe holds it now, with its latest charge (card details, capture deadline). */
export async function retrievePaymentIntent(id: string): Promise<Stripe.PaymentIntent> {
  const client = await stripe();
  return client.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
}

/** Capture an authorized PaymentIntent; the one capture key makes a repeated capture a replay. */
export async function capturePaymentIntent(id: string, amountToCapture?: number): Promise<Stripe.PaymentIntent> {
  const client = await stripe();
  const params: Stripe.PaymentIntentCaptureParams = { expand: ['latest_charge'] };
  if (amountToCapture !== undefined) params.amount_to_capture = amountToCapture;
  return withKeyInUseRetry(() =>
    client.paymentIntents.capture(id, params, { idempotencyKey: idempotencyKeys.capturePayment(id) }),
  );
}

export type CancellationReason = 'requested_by_customer' | 'abandoned' | 'duplicate';

export async function cancelPaymentIntent(id: string, reason?: CancellationReason): Promise<Stripe.PaymentIntent> {
  const client = await stripe();
  const params: Stripe.PaymentIntentCancelParams = {};
  if (reason !== undefined) params.cancellation_reason = reason;
  return withKeyInUseRetry(() =>
    client.paymentIntents.cancel(id, params, { idempotencyKey: idempotencyKeys.cancelPayment(id) }),
  );
}

/** Change the amount; `updateNumber` counts the payment's earlier amount changes. */
export async function updatePaymentIntentAmount(
  id: string,
  amount: number,
  updateNumber: number,
): Promise<Stripe.PaymentIntent> {
  const client = await stripe();
  const { result } = await withFreshKeyAfterReplayedError(updateNumber, (n) =>
    client.paymentIntents.update(id, { amount }, { idempotencyKey: idempotencyKeys.updateAmount(id, amount, n) }),
  );
  return result;
}

/** The reader as Stripe holds it now; undefined when it does not exist (or was deleted). */
export async function retrieveReader(id: string): Promise<Stripe.Terminal.Reader | undefined> {
  const client = await stripe();
  try {
    const reader = await client.terminal.readers.retrieve(id);
    return 'deleted' in reader && reader.deleted ? undefined : (reader as Stripe.Terminal.Reader);
  } catch (error) {
    if (stripeErrorCode(error) === 'resource_missing') return undefined;
    throw error;
  }
}

/** Every reader, or those of one location. */
export async function listReaders(locationId?: string): Promise<Stripe.Terminal.Reader[]> {
  const client = await stripe();
  const params: Stripe.Terminal.ReaderListParams = { limit: 100 };
  if (locationId !== undefined) params.location = locationId;
  return client.terminal.readers.list(params).autoPagingToArray({ limit: 10_000 });
}

/**
 * Stripe calls the API makes, each with its idempotency key where it writes. Retries here are only those that
 * cannot move money twice: a request whose key is still in use by a racing twin is retried until the twin's
 * answer can be replayed, and one Stripe did not answer is sent again under the same key.
 */
import type Stripe from 'stripe';
import type { StripeAccess } from '../dependencies.ts';
import { StripeTimeoutError } from '../payments/failures.ts';
import { idempotencyKeys } from '../payments/idempotency.ts';
import { REFUND_KEY_METADATA } from '../payments/refunds.ts';
import type { CaptureMethod } from '../payments/types.ts';
import { isReplayedError, isStripeError, stripeErrorCode } from './errors.ts';

const KEY_IN_USE_RETRIES = 6;
const KEY_IN_USE_DELAY_MS = 250;
/** Fresh keys tried after replayed errors before giving up (each replay is a stored old answer). */
const MAX_REPLAYED_KEYS = 10;
/** Sends of one request under its key, the first included. */
const SAME_KEY_SENDS = 6;
/** Less time than this before a deadline is not worth a request: the answer is given instead. */
const MIN_REQUEST_MS = 250;

/**
 * Options that make one request end by `deadline` (epoch ms): Stripe's timeout cut to the time left, and no retries
 * of the SDK's own (the caller sends again only while time is left). Throws `StripeTimeoutError` when too little
 * time is left to send anything.
 */
function requestOptionsBy(deps: StripeAccess, deadline: number | undefined): Stripe.RequestOptions {
  if (deadline === undefined) return {};
  const left = deadline - deps.clock.now();
  if (left < MIN_REQUEST_MS) throw new StripeTimeoutError();
  return { timeout: Math.min(deps.settings.STRIPE_TIMEOUT_MS, left), maxNetworkRetries: 0 };
}

/** No answer came (the connection failed or the timeout passed): the request may or may not have run. */
function isUnanswered(error: unknown): boolean {
  return isStripeError(error) && error.type === 'StripeConnectionError';
}

/**
 * Whether the same request under the same key can fare better: a twin still holds the key, or (`transient`) Stripe
 * did not answer, was rate limited or failed without storing its answer. A replayed answer is final for its key.
 */
function worthSendingAgain(error: unknown, transient: boolean): boolean {
  if (!isStripeError(error) || isReplayedError(error)) return false;
  if (stripeErrorCode(error) === 'idempotency_key_in_use') return true;
  return transient && (isUnanswered(error) || error.type === 'StripeRateLimitError' || (error.statusCode ?? 0) >= 500);
}

/**
 * Send a request, and send it again (same key, so it runs at most once) while that can help, a few times at most.
 * With a `deadline`, every send ends by it and this loop, not the SDK, retries what Stripe did not answer; a request
 * still without an answer then is `StripeTimeoutError`. Without one, the SDK's own retries apply and only a key in
 * use by a twin is waited for.
 */
export async function sendUntil<T>(
  deps: StripeAccess,
  deadline: number | undefined,
  send: (options: Stripe.RequestOptions) => Promise<T>,
): Promise<T> {
  for (let sends = 1; ; sends += 1) {
    const options = requestOptionsBy(deps, deadline);
    try {
      return await send(options);
    } catch (error) {
      if (!worthSendingAgain(error, deadline !== undefined)) throw error;
      const delayMs = KEY_IN_USE_DELAY_MS * sends;
      const outOfTime = deadline !== undefined && deps.clock.now() + delayMs + MIN_REQUEST_MS > deadline;
      if (outOfTime && isUnanswered(error)) throw new StripeTimeoutError(error);
      if (outOfTime || sends >= SAME_KEY_SENDS) throw error;
      await deps.clock.sleep(delayMs);
    }
  }
}

/**
 * `work`'s result, or `StripeTimeoutError` once `deadline` passes first. For Stripe work that cannot end by a
 * deadline of its own; what it leaves running is harmless (its writes are keyed) and its failure is ignored.
 */
export function beforeDeadline<T>(deps: StripeAccess, deadline: number | undefined, work: Promise<T>): Promise<T> {
  if (deadline === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StripeTimeoutError()), Math.max(0, deadline - deps.clock.now()));
  });
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Run a keyed Stripe write; while a concurrent request with the same key is still running (409
 * `idempotency_key_in_use`), wait and send it again, so the loser gets the winner's answer replayed.
 */
export async function withKeyInUseRetry<T>(deps: StripeAccess, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (stripeErrorCode(error) !== 'idempotency_key_in_use' || attempt >= KEY_IN_USE_RETRIES) throw error;
      await deps.clock.sleep(KEY_IN_USE_DELAY_MS * (attempt + 1));
    }
  }
}

/**
 * Run a write whose key ends in a counter, moving to the next counter while Stripe only replays an error stored
 * under the current one (Stripe keeps reader errors under their key for 24 hours).
 */
export async function withFreshKeyAfterReplayedError<T>(
  deps: StripeAccess,
  firstCounter: number,
  call: (counter: number) => Promise<T>,
): Promise<{ result: T; counter: number }> {
  for (let counter = firstCounter; ; counter += 1) {
    try {
      return { result: await withKeyInUseRetry(deps, () => call(counter)), counter };
    } catch (error) {
      if (!isReplayedError(error) || counter - firstCounter >= MAX_REPLAYED_KEYS) throw error;
    }
  }
}

/** The currency whose Terminal payments also accept Interac (`interac_present`). */
export const INTERAC_CURRENCY = 'cad';

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
export async function createPaymentIntent(
  deps: StripeAccess,
  input: CreatePaymentIntentInput,
): Promise<Stripe.PaymentIntent> {
  const client = await deps.stripe();
  const params: Stripe.PaymentIntentCreateParams = {
    amount: input.amount,
    currency: input.currency,
    // Terminal payments must allow card_present (stripe 23 replaced payment_method_types with this).
    allowed_payment_method_types: ['card_present'],
    capture_method: input.captureMethod,
    metadata: { ...input.metadata, orderId: input.orderId, locationId: input.locationId },
  };
  if (input.currency === INTERAC_CURRENCY) {
    // Canada: Interac cards too. Interac is always captured at once (Stripe no longer allows it manual), so a manual
    // payment asks for manual capture of card_present alone.
    params.allowed_payment_method_types = ['card_present', 'interac_present'];
    if (input.captureMethod === 'manual') {
      params.capture_method = 'automatic';
      params.payment_method_options = { card_present: { capture_method: 'manual' } };
    }
  }
  if (input.description !== null) params.description = input.description;
  const idempotencyKey = idempotencyKeys.createPayment(input.locationId, input.orderId, input.generation);
  return withKeyInUseRetry(deps, () => client.paymentIntents.create(params, { idempotencyKey }));
}

/**
 * The PaymentIntent as Stripe holds it now, with its latest charge (card details, capture deadline); with a
 * `deadline`, read by then or `StripeTimeoutError`.
 */
export async function retrievePaymentIntent(
  deps: StripeAccess,
  id: string,
  options: { deadline?: number } = {},
): Promise<Stripe.PaymentIntent> {
  const client = await deps.stripe();
  if (options.deadline === undefined) return client.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.paymentIntents.retrieve(id, { expand: ['latest_charge'] }, requestOptions),
  );
}

/** Which key of a capture or cancel to send, and by when Stripe must have answered. */
export interface KeyedWriteOptions {
  /** The key's try counter: `capture:{id}:{try}`, `cancel:{id}:{try}`. */
  tryNumber: number;
  /** Epoch ms; unset: the client's own timeout and retries. */
  deadline?: number;
}

/** Capture an authorized PaymentIntent under try `tryNumber`'s key: the same try again is a replay. */
export async function capturePaymentIntent(
  deps: StripeAccess,
  id: string,
  amountToCapture: number | undefined,
  options: KeyedWriteOptions,
): Promise<Stripe.PaymentIntent> {
  const client = await deps.stripe();
  const params: Stripe.PaymentIntentCaptureParams = { expand: ['latest_charge'] };
  if (amountToCapture !== undefined) params.amount_to_capture = amountToCapture;
  const idempotencyKey = idempotencyKeys.capturePayment(id, options.tryNumber);
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.paymentIntents.capture(id, params, { ...requestOptions, idempotencyKey }),
  );
}

export type CancellationReason = 'requested_by_customer' | 'abandoned' | 'duplicate';

/** Cancel the PaymentIntent under try `tryNumber`'s key: the same try again is a replay. */
export async function cancelPaymentIntent(
  deps: StripeAccess,
  id: string,
  reason: CancellationReason | undefined,
  options: KeyedWriteOptions,
): Promise<Stripe.PaymentIntent> {
  const client = await deps.stripe();
  const params: Stripe.PaymentIntentCancelParams = {};
  if (reason !== undefined) params.cancellation_reason = reason;
  const idempotencyKey = idempotencyKeys.cancelPayment(id, options.tryNumber);
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.paymentIntents.cancel(id, params, { ...requestOptions, idempotencyKey }),
  );
}

/**
 * Change the amount; `updateNumber` counts the payment's earlier amount changes. With `deadline`, every send must
 * be answered by then (see `sendUntil`).
 */
export async function updatePaymentIntentAmount(
  deps: StripeAccess,
  id: string,
  amount: number,
  updateNumber: number,
  deadline?: number,
): Promise<Stripe.PaymentIntent> {
  const client = await deps.stripe();
  const { result } = await withFreshKeyAfterReplayedError(deps, updateNumber, (n) =>
    sendUntil(deps, deadline, (requestOptions) =>
      client.paymentIntents.update(
        id,
        { amount },
        { ...requestOptions, idempotencyKey: idempotencyKeys.updateAmount(id, amount, n) },
      ),
    ),
  );
  return result;
}

/** The reader as Stripe holds it now; undefined when it does not exist (or was deleted). */
export async function retrieveReader(
  deps: StripeAccess,
  id: string,
  options: { deadline?: number } = {},
): Promise<Stripe.Terminal.Reader | undefined> {
  const client = await deps.stripe();
  if (options.deadline === undefined) return existing(() => client.terminal.readers.retrieve(id));
  const { deadline } = options;
  return existing(() =>
    sendUntil(deps, deadline, (requestOptions) => client.terminal.readers.retrieve(id, {}, requestOptions)),
  );
}

/**
 * What `read` returns, or undefined when Stripe does not have the object: `resource_missing`, or the deleted
 * object Stripe answers for one that was deleted.
 */
export async function existing<T extends object>(
  read: () => Promise<T>,
): Promise<Exclude<T, { deleted: true }> | undefined> {
  try {
    const found = await read();
    if ('deleted' in found && found.deleted === true) return undefined;
    return found as Exclude<T, { deleted: true }>;
  } catch (error) {
    if (stripeErrorCode(error) === 'resource_missing') return undefined;
    throw error;
  }
}

/** Every reader, or those of one location. */
export async function listReaders(deps: StripeAccess, locationId?: string): Promise<Stripe.Terminal.Reader[]> {
  const client = await deps.stripe();
  const params: Stripe.Terminal.ReaderListParams = { limit: 100 };
  if (locationId !== undefined) params.location = locationId;
  return client.terminal.readers.list(params).autoPagingToArray({ limit: 10_000 });
}

/** Whether Stripe has this Terminal location (a deleted one is gone). */
export async function locationExists(deps: StripeAccess, id: string): Promise<boolean> {
  const client = await deps.stripe();
  return (await existing(() => client.terminal.locations.retrieve(id))) !== undefined;
}

export interface CreateRefundInput {
  paymentIntentId: string;
  /** The POS's `Idempotency-Key`: the Stripe key derives from it, and the refund's metadata carries it. */
  refundKey: string;
  amount: number;
  reason: Stripe.RefundCreateParams.Reason | null;
}

/** Refund online, under the key `refund:{payment}:{key}`: the same request again is a replay, never a second refund. */
export async function createRefund(
  deps: StripeAccess,
  input: CreateRefundInput,
  options: { deadline?: number } = {},
): Promise<Stripe.Refund> {
  const client = await deps.stripe();
  const params: Stripe.RefundCreateParams = {
    payment_intent: input.paymentIntentId,
    amount: input.amount,
    metadata: { [REFUND_KEY_METADATA]: input.refundKey },
  };
  if (input.reason !== null) params.reason = input.reason;
  const idempotencyKey = idempotencyKeys.refund(input.paymentIntentId, input.refundKey);
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.refunds.create(params, { ...requestOptions, idempotencyKey }),
  );
}

/** Every refund of the PaymentIntent, newest first (one request for up to 100). */
export async function listRefunds(
  deps: StripeAccess,
  paymentIntentId: string,
  options: { deadline?: number } = {},
): Promise<Stripe.Refund[]> {
  const client = await deps.stripe();
  const params: Stripe.RefundListParams = { payment_intent: paymentIntentId, limit: 100 };
  if (options.deadline === undefined) return client.refunds.list(params).autoPagingToArray({ limit: 1_000 });
  const page = await sendUntil(deps, options.deadline, (requestOptions) => client.refunds.list(params, requestOptions));
  return page.data;
}

/**
 * Have Stripe send its receipt to `email` (the PaymentIntent's `receipt_email`): now if it is paid, else when it is.
 * `requestId` names the request in the key: setting the same address again is harmless.
 */
export async function setReceiptEmail(
  deps: StripeAccess,
  id: string,
  email: string,
  options: { requestId: string; deadline?: number },
): Promise<Stripe.PaymentIntent> {
  const client = await deps.stripe();
  const idempotencyKey = idempotencyKeys.receiptEmail(id, options.requestId);
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.paymentIntents.update(
      id,
      { receipt_email: email, expand: ['latest_charge'] },
      { ...requestOptions, idempotencyKey },
    ),
  );
}

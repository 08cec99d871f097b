/**
 * Create the order's payment (POST /payments): a new card-present PaymentIntent for a new order, or the order's
 * live payment when the same order comes again; with a reader, also process it there at once. The order claim
 * that keeps one live PaymentIntent per order is settled here too, by the request and by the reconciler.
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import { InvalidStateError, OrderConflictError } from '../payments/failures.ts';
import { newPaymentRecord } from '../payments/record.ts';
import { decideExistingOrder } from '../payments/rules.ts';
import type { CaptureMethod, PaymentRecord } from '../payments/types.ts';
import {
  claimOrder,
  insertPaymentForOrder,
  type OrderCreateRequest,
  type OrderRecord,
  setAsideRefusedClaim,
  startNextGeneration,
} from '../store/orders.ts';
import { applyToPayment, getPayment } from '../store/payments.ts';
import { cancelPaymentIntent, createPaymentIntent } from '../stripe/calls.ts';
import { isStripeError, stripeErrorCode, toFailure } from '../stripe/errors.ts';
import { paymentIntentObservation, paymentIntentSnapshot } from '../stripe/snapshots.ts';
import type { Access } from './access.ts';
import { locateReader, readerElsewhereError } from './locate-reader.ts';
import { type Processed, type ProcessOptions, processOnReader } from './process-payment.ts';
import { refreshPayment } from './refresh-payment.ts';

export interface CreatePaymentRequest extends OrderPaymentInput {
  /** Process it on this reader at once. */
  readerId?: string;
}

export interface CreatedPayment {
  payment: PaymentRecord;
  /** False when the order's live payment was answered again. */
  created: boolean;
  /** The reader processing it, when a reader was named and the payment could still be processed. */
  processed?: Processed;
  /**
   * Why processing on the named reader failed: the payment is created and kept (the POS can process it again), and
   * `payment` is it as it is now.
   */
  processFailure?: unknown;
}

/** POST /payments: the order's payment, processed on `readerId` when one is named. */
export async function createPayment(
  deps: Dependencies,
  request: CreatePaymentRequest,
  access: Access,
  options: ProcessOptions,
): Promise<CreatedPayment> {
  const { readerId, ...order } = request;
  if (readerId !== undefined) {
    const reader = await locateReader(deps, readerId, access);
    if (reader.locationId !== request.locationId) throw readerElsewhereError();
  }
  const { payment, created } = await openOrderPayment(deps, order);
  // A repeated create of a payment that is past processing answers with it as it is.
  if (readerId === undefined || payment.status !== 'requires_payment_method') return { payment, created };
  try {
    const processed = await processOnReader(deps, payment, readerId, options);
    return { payment: processed.payment, created, processed };
  } catch (error) {
    const latest = (await getPayment(deps.store, payment.id)) ?? payment;
    return { payment: latest, created, processFailure: toFailure(error) };
  }
}

export interface OrderPaymentInput {
  locationId: string;
  orderId: string;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  description: string | null;
  metadata: Record<string, string>;
}

/** A 4xx that is not about concurrency or rate: Stripe ran nothing for it. */
function isRefusedOutright(error: unknown): boolean {
  if (!isStripeError(error) || error.statusCode === undefined) return false;
  return error.statusCode >= 400 && error.statusCode < 500 && error.statusCode !== 409 && error.statusCode !== 429;
}

/** Rounds of looking at the order again after a racing request changed it. */
const ORDER_ROUNDS = 4;

/** Longer than any create request can run (API Gateway's 30 s): a claim older than this has no request behind it. */
export const ORDER_CLAIM_GRACE_MS = 35_000;

function sameRequest(a: OrderCreateRequest, b: OrderCreateRequest): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(request: OrderCreateRequest): string {
  const metadata = Object.entries(request.metadata).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify([request.amount, request.currency, request.captureMethod, request.description, metadata]);
}

export type ClaimSettlement =
  /** The generation's PaymentIntent, recorded as the order's payment (`recordedHere`: by this call). */
  | { kind: 'payment'; payment: PaymentRecord; recordedHere: boolean }
  /** Stripe refused the create outright: no PaymentIntent exists under the generation's key. */
  | { kind: 'refused'; error: unknown };

/**
 * Send the claimed generation's create (again) under its deterministic key and record the PaymentIntent as the
 * order's payment. Stripe replays what it did the first time, so a create that failed half-way (a lost answer,
 * a timeout, a Lambda that died) ends with the same PaymentIntent, never a second one. Throws the failure when
 * Stripe cannot tell now (unavailable, rate limited): the claim stays, for a retry or the reconciler.
 */
export async function settleOrderClaim(
  deps: Dependencies,
  order: OrderRecord,
  request: OrderCreateRequest,
  now: Date,
): Promise<ClaimSettlement> {
  let paymentIntent: Stripe.PaymentIntent;
  try {
    paymentIntent = await createPaymentIntent(deps, {
      ...request,
      locationId: order.locationId,
      orderId: order.orderId,
      generation: order.generation,
    });
  } catch (error) {
    // Same key, other parameters: a claim older than the request it keeps (made before requests were kept).
    if (stripeErrorCode(error) === 'idempotency_error') throw new OrderConflictError({ paymentId: null });
    if (isRefusedOutright(error)) return { kind: 'refused', error };
    throw toFailure(error);
  }
  const record = newPaymentRecord(
    {
      paymentIntent: paymentIntentSnapshot(paymentIntent),
      orderId: order.orderId,
      locationId: order.locationId,
      captureMethod: request.captureMethod,
      description: request.description,
      metadata: request.metadata,
    },
    now,
  );
  const stored = await insertPaymentForOrder(deps.store, record, order, now);
  if (stored !== undefined) return { kind: 'payment', payment: stored, recordedHere: true };
  const racing = await getPayment(deps.store, record.id);
  if (racing === undefined)
    throw new InvalidStateError('This order is being changed by another request. Try again.', {}, true);
  return { kind: 'payment', payment: racing, recordedHere: false };
}

/** A payment no POS has processed or changed: cancelling it moves no money and breaks no register's work. */
function isUntouched(payment: PaymentRecord): boolean {
  return payment.status === 'requires_payment_method' && payment.attempts === 0 && payment.amountUpdates === 0;
}

/**
 * The order's payment: a new PaymentIntent for a new order (or after the order's payment was canceled), or the
 * order's live payment when the same amount and currency are asked for again. One live PaymentIntent per order is
 * kept by conditional writes on the order, and by the create key `create:{location}:{order}:{generation}`, which
 * makes racing creates of one generation get the same PaymentIntent from Stripe.
 *
 * A claim left without its PaymentIntent (its create failed half-way) is settled first, by sending its own request
 * again: the same request then completes with the same PaymentIntent; another request meets that payment as
 * usual (`order_conflict` naming it), except that a payment left behind by a create nobody saw succeed, and never
 * touched since, is cancelled so the new request gets a new one.
 */
export async function openOrderPayment(
  deps: Dependencies,
  input: OrderPaymentInput,
): Promise<{ payment: PaymentRecord; created: boolean }> {
  const now = new Date(deps.clock.now());
  const request: OrderCreateRequest = {
    amount: input.amount,
    currency: input.currency,
    captureMethod: input.captureMethod,
    description: input.description,
    metadata: input.metadata,
  };
  const ids = { locationId: input.locationId, orderId: input.orderId };
  for (let round = 0; round < ORDER_ROUNDS; round += 1) {
    const claim = await claimOrder(deps.store, { ...ids, request }, now);
    let order: OrderRecord;
    if (claim.claimed) {
      order = claim.order;
    } else if (claim.existing.paymentId === null) {
      const pending = claim.existing;
      // A claim from before requests were kept: only the same amount and currency can share its key.
      const pendingRequest =
        pending.request ?? (pending.amount === input.amount && pending.currency === input.currency ? request : null);
      if (pendingRequest === null) throw new OrderConflictError({ paymentId: null });
      const settled = await settleOrderClaim(deps, pending, pendingRequest, now);
      if (sameRequest(pendingRequest, request)) {
        if (settled.kind === 'refused') throw await refusedCreate(deps, pending, settled.error);
        return { payment: settled.payment, created: settled.recordedHere };
      }
      if (settled.kind === 'refused') {
        // Nothing exists under that generation's key: this request takes the next one.
        const next = await startNextGeneration(deps.store, pending, request, now);
        if (next === undefined) continue;
        order = next;
      } else {
        // Recorded here, or by a request long gone: no POS was told of it. Otherwise another request may be
        // answering with that payment right now, and it is the order's payment.
        const claimAgeMs = now.getTime() - Date.parse(pending.claimedAt);
        const unseen = settled.recordedHere || claimAgeMs >= ORDER_CLAIM_GRACE_MS;
        if (!unseen || !isUntouched(settled.payment)) {
          const decision = decideExistingOrder(settled.payment, request);
          if (decision.kind === 'same_payment') return { payment: settled.payment, created: false };
          throw new OrderConflictError({ paymentId: settled.payment.id });
        }
        await abandonPayment(deps, settled.payment);
        continue;
      }
    } else {
      const existing = await getPayment(deps.store, claim.existing.paymentId);
      if (existing === undefined) throw new Error(`Order ${input.orderId} refers to a missing payment`);
      const decision = decideExistingOrder(existing, request);
      if (decision.kind === 'same_payment') return { payment: existing, created: false };
      if (decision.kind === 'conflict') throw new OrderConflictError({ paymentId: existing.id });
      const next = await startNextGeneration(deps.store, claim.existing, request, now);
      if (next === undefined) continue;
      order = next;
    }

    const settled = await settleOrderClaim(deps, order, request, now);
    if (settled.kind === 'refused') throw await refusedCreate(deps, order, settled.error);
    return { payment: settled.payment, created: settled.recordedHere };
  }
  throw new InvalidStateError('This order is being changed by another request. Try again.', {}, true);
}

/**
 * Stripe created nothing for the claim: the claim keeps its request (a different one for the order starts the next
 * generation) but leaves the reconciler's index, as there is nothing to settle. Returns the failure to answer with.
 */
async function refusedCreate(deps: Dependencies, order: OrderRecord, error: unknown): Promise<unknown> {
  await setAsideRefusedClaim(deps.store, order);
  return toFailure(error);
}

/** Cancel a payment nobody saw created (see `isUntouched`), recording the canceled PaymentIntent. */
async function abandonPayment(deps: Dependencies, payment: PaymentRecord): Promise<void> {
  const readAtMs = deps.clock.now();
  try {
    const canceled = await cancelPaymentIntent(deps, payment.id, 'abandoned', { tryNumber: 0 });
    const observation = paymentIntentObservation(canceled, { source: 'api' }, readAtMs);
    await applyToPayment(deps.store, payment, [observation], new Date(deps.clock.now()));
  } catch (error) {
    if (stripeErrorCode(error) !== 'payment_intent_unexpected_state') throw toFailure(error);
    await refreshPayment(deps, payment);
  }
}

/**
 * The payment operations that both talk to Stripe and record the answer: processing on a reader, releasing a
 * payment's reader action, and re-reading a payment from Stripe. Every answer goes through the reducer
 * (`applyToPayment`), so what the API records follows the same rules as webhooks and the reconciler.
 */
import type Stripe from 'stripe';
import {
  type ApiError,
  InvalidStateError,
  OrderConflictError,
  ReaderBusyError,
  ReaderNotFoundError,
  ReaderOfflineError,
} from '../http/errors.ts';
import {
  canceledActionObservation,
  recordProcessAccepted,
  recordProcessRefused,
  withdrawProcessAttempt,
} from '../payments/process.ts';
import { paymentActionStatus } from '../payments/reader-action.ts';
import {
  isCommandInFlight,
  isReaderActionInProgress,
  newPaymentRecord,
  startProcessAttempt,
} from '../payments/record.ts';
import { decideExistingOrder, decideProcess } from '../payments/rules.ts';
import type { CaptureMethod, Observation, PaymentRecord } from '../payments/types.ts';
import {
  claimOrder,
  insertPaymentForOrder,
  type OrderCreateRequest,
  type OrderRecord,
  setAsideRefusedClaim,
  startNextGeneration,
} from '../store/orders.ts';
import { applyToPayment, getPayment, savePayment, updatePayment, VersionConflictError } from '../store/payments.ts';
import { unixSeconds } from '../time.ts';
import { cancelPaymentIntent, createPaymentIntent, retrievePaymentIntent, retrieveReader } from './calls.ts';
import { invalidStateMessage, isStripeError, stripeErrorCode, toApiError } from './errors.ts';
import {
  paymentIntentObservation,
  paymentIntentSnapshot,
  readerActionObservation,
  readerSnapshot,
} from './snapshots.ts';
import { cancelReaderAction, readerRunsPayment, sendProcessCommand } from './terminal.ts';

/**
 * Re-read the PaymentIntent (with its latest charge) and the latest attempt's reader from Stripe and apply both
 * (the POS's "check status"; also used when the record may be behind). A reader already read can be passed in.
 */
export async function refreshPayment(
  payment: PaymentRecord,
  alreadyRead?: { reader: Stripe.Terminal.Reader | undefined; readAtMs: number },
): Promise<PaymentRecord> {
  // Reads are stamped with the time they started: what they show is at least that fresh.
  let readAtMs = Date.now();
  const [firstRead, reader] = await Promise.all([
    retrievePaymentIntent(payment.id),
    alreadyRead !== undefined || payment.readerId === null ? alreadyRead?.reader : retrieveReader(payment.readerId),
  ]);
  let paymentIntent = firstRead;
  // Read side by side, the reader can already show the card authorized while the PaymentIntent read, answered a
  // moment earlier, does not yet: read the PaymentIntent again, so the two agree.
  const authorizedOnReader =
    reader !== undefined && paymentActionStatus(readerSnapshot(reader), payment.id) === 'succeeded';
  if (authorizedOnReader && paymentIntent.status === 'requires_payment_method') {
    readAtMs = Date.now();
    paymentIntent = await retrievePaymentIntent(payment.id);
  }
  const observations: Observation[] = [paymentIntentObservation(paymentIntent, { source: 'poll' }, readAtMs)];
  if (reader !== undefined) {
    const readerReadAt = alreadyRead?.readAtMs ?? readAtMs;
    observations.push(readerActionObservation(reader, { source: 'poll' }, unixSeconds(readerReadAt)));
  }
  return (await applyToPayment(payment, observations)).record;
}

/** Times a process request looks at the payment again after losing the race to claim its attempt. */
const MAX_CLAIM_ROUNDS = 3;

/** The answer while another request's process command for this payment is still on its way to its reader. */
function commandInFlightError(payment: PaymentRecord): InvalidStateError {
  return new InvalidStateError(
    'This payment is being sent to a reader right now. Check its status again in a few seconds.',
    { status: payment.status, readerId: payment.readerId },
    true,
  );
}

export interface ProcessOptions {
  skipTipping?: boolean;
  enableCustomerCancellation?: boolean;
  /** Epoch ms by which the answer must be ready. */
  deadline: number;
}

/**
 * Have `readerId` process the payment and record the attempt. Idempotent for a payment already running on that
 * reader. Throws `invalid_state` when the payment cannot be processed (with its current status and reader), and
 * the reader errors of the seed guide.
 */
export async function processOnReader(
  payment: PaymentRecord,
  readerId: string,
  options: ProcessOptions,
  claimRound = 1,
): Promise<{ payment: PaymentRecord; reader: Stripe.Terminal.Reader }> {
  let current = payment;
  let decision = decideProcess(current);
  if (decision.kind === 'verify_in_progress') {
    const readAtMs = Date.now();
    const reader = await retrieveReader(decision.readerId);
    if (reader !== undefined && readerRunsPayment(reader, current.id)) {
      if (decision.readerId === readerId) return { payment: current, reader };
      throw new InvalidStateError('This payment is being processed on another reader: cancel it there first.', {
        status: current.status,
        readerId: decision.readerId,
      });
    }
    // Another request's command may still reach its reader: nothing else may be sent meanwhile.
    if (isCommandInFlight(current, Date.now())) throw commandInFlightError(current);
    // The record was behind (a lost or late event): learn how the action ended, then decide again.
    current = await refreshPayment(current, { reader, readAtMs });
    decision = decideProcess(current);
    if (decision.kind === 'verify_in_progress') {
      throw new InvalidStateError(
        'The reader is still finishing this payment. Check its status again in a few seconds.',
        { status: current.status, readerId: current.readerId },
        true,
      );
    }
  }
  if (decision.kind === 'refuse') {
    throw new InvalidStateError(invalidStateMessage(current.status), {
      status: current.status,
      readerId: current.readerId,
    });
  }

  // Claim the attempt before the reader hears of it: a conditional write that only one of several racing requests
  // wins, so a payment is never sent to two readers. It also records the attempt before any of its events can
  // arrive. A request that loses the race looks again and answers as the winner left the payment.
  const attempt = current.attempts + 1;
  const firstTry = current.nextProcessTry;
  const claimedAt = new Date();
  let claimed: PaymentRecord;
  try {
    claimed = await savePayment(
      startProcessAttempt(
        current,
        { readerId, startedAtMs: claimedAt.getTime(), answerDueByMs: options.deadline },
        claimedAt,
      ),
    );
  } catch (error) {
    if (!(error instanceof VersionConflictError)) throw error;
    // Something changed the payment since it was read (a racing request's claim, or a webhook): decide again on
    // what it holds now. A racing claim then shows as an attempt in progress.
    const fresh = await getPayment(current.id);
    if (fresh === undefined) throw error;
    if (claimRound >= MAX_CLAIM_ROUNDS) {
      throw new InvalidStateError(
        'This payment is being processed already. Check its status again in a few seconds.',
        { status: fresh.status, readerId: fresh.readerId },
        true,
      );
    }
    return processOnReader(fresh, readerId, options, claimRound + 1);
  }

  const outcome = await sendProcessCommand({
    paymentIntentId: current.id,
    readerId,
    attempt,
    firstTry,
    deadline: options.deadline,
    ...(options.skipTipping === undefined ? {} : { skipTipping: options.skipTipping }),
    ...(options.enableCustomerCancellation === undefined
      ? {}
      : { enableCustomerCancellation: options.enableCustomerCancellation }),
  });
  const now = new Date();
  if (outcome.accepted) {
    const answer = readerActionObservation(
      outcome.reader,
      { source: 'api' },
      unixSeconds(outcome.startedAtMs),
      attempt,
    );
    const command = { attempt, readerId, startedAtMs: claimedAt.getTime(), answer, nextTry: outcome.nextTry };
    const { record } = await updatePayment(claimed, (r) => recordProcessAccepted(r, command, now));
    return { payment: record, reader: outcome.reader };
  }

  if (outcome.maybeDelivered) {
    // Stripe did not answer: the command may still reach the reader, so the attempt stays claimed (and in flight
    // until its deadline); after that, a read of the reader or its events settle it.
    await updatePayment(claimed, (r) => recordProcessRefused(r, outcome.nextTry, now)).catch(() => undefined);
    throw toApiError(outcome.error);
  }

  // The reader never took the command: the claimed attempt did not happen.
  const { record } = await updatePayment(claimed, (r) =>
    recordProcessRefused(withdrawProcessAttempt(r, current, attempt), outcome.nextTry, now),
  );
  const code = stripeErrorCode(outcome.error);
  if (code === 'intent_invalid_state') {
    // Stripe knows better than the record: take its status, and say it.
    const refreshed = await refreshPayment(record);
    throw new InvalidStateError(invalidStateMessage(refreshed.status), {
      status: refreshed.status,
      readerId: refreshed.readerId,
    });
  }
  throw toApiError(outcome.error, { notFound: 'reader', status: record.status, readerId: record.readerId });
}

/** A reader command cannot be undone or overtaken while it is on its way to the reader. */
export function commandOnItsWayError(): ReaderBusyError {
  return new ReaderBusyError('A command for this payment is on its way to the reader. Try again in a few seconds.');
}

/**
 * Cancel this payment's in-progress reader action, if the reader still runs it, and record that it failed with
 * `canceled`. A card already presented cannot be interrupted: `reader_busy`. With `proceedWhenOffline`, an
 * offline reader is left as it is (it cannot authorize anything while offline).
 */
export async function releaseReaderAction(
  payment: PaymentRecord,
  options: { proceedWhenOffline?: boolean } = {},
): Promise<PaymentRecord> {
  const observations = await clearReaderAction(payment, options);
  return observations.length === 0 ? payment : (await applyToPayment(payment, observations)).record;
}

/**
 * The Stripe side of `releaseReaderAction`: cancels the action if the reader still runs this payment and returns
 * what to record (nothing when there is nothing to record), so a caller can store it in the same write as its
 * own change.
 */
export async function clearReaderAction(
  payment: PaymentRecord,
  options: { proceedWhenOffline?: boolean } = {},
): Promise<Observation[]> {
  const readerId = payment.readerId;
  if (!isReaderActionInProgress(payment) || readerId === null) return [];
  const readAtMs = Date.now();
  const reader = await retrieveReader(readerId);
  if (reader === undefined) return [];
  if (!readerRunsPayment(reader, payment.id)) {
    // The reader cannot be asked to drop a command that has not reached it yet.
    if (isCommandInFlight(payment, Date.now())) throw commandOnItsWayError();
    // An offline reader's API state does not follow the device: it may still hold the command, unreachable.
    if (reader.status === 'offline') {
      if (options.proceedWhenOffline) return [];
      throw new ReaderOfflineError();
    }
    // The action already ended: record what the reader shows.
    return [readerActionObservation(reader, { source: 'poll' }, unixSeconds(readAtMs))];
  }
  try {
    await cancelReaderAction(readerId, `${payment.id}:${payment.attempts}`);
  } catch (error) {
    const code = stripeErrorCode(error);
    if (code === 'terminal_reader_busy') {
      throw new ReaderBusyError('A card is being authorized on the reader. Try again in a few seconds.');
    }
    if (code === 'terminal_reader_offline') {
      if (options.proceedWhenOffline) return [];
      throw new ReaderOfflineError(error);
    }
    if (code === 'resource_missing') throw new ReaderNotFoundError();
    throw toApiError(error);
  }
  return [canceledActionObservation(payment, readerId, new Date())];
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
 * a timeout, a Lambda that died) ends with the same PaymentIntent, never a second one. Throws the API error when
 * Stripe cannot tell now (unavailable, rate limited): the claim stays, for a retry or the reconciler.
 */
export async function settleOrderClaim(
  order: OrderRecord,
  request: OrderCreateRequest,
  now: Date,
): Promise<ClaimSettlement> {
  let paymentIntent: Stripe.PaymentIntent;
  try {
    paymentIntent = await createPaymentIntent({
      ...request,
      locationId: order.locationId,
      orderId: order.orderId,
      generation: order.generation,
    });
  } catch (error) {
    // Same key, other parameters: a claim older than the request it keeps (made before requests were kept).
    if (stripeErrorCode(error) === 'idempotency_error') throw new OrderConflictError({ paymentId: null });
    if (isRefusedOutright(error)) return { kind: 'refused', error };
    throw toApiError(error);
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
  const stored = await insertPaymentForOrder(record, order, now);
  if (stored !== undefined) return { kind: 'payment', payment: stored, recordedHere: true };
  const racing = await getPayment(record.id);
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
  input: OrderPaymentInput,
  now = new Date(),
): Promise<{ payment: PaymentRecord; created: boolean }> {
  const request: OrderCreateRequest = {
    amount: input.amount,
    currency: input.currency,
    captureMethod: input.captureMethod,
    description: input.description,
    metadata: input.metadata,
  };
  const ids = { locationId: input.locationId, orderId: input.orderId };
  for (let round = 0; round < ORDER_ROUNDS; round += 1) {
    const claim = await claimOrder({ ...ids, request }, now);
    let order: OrderRecord;
    if (claim.claimed) {
      order = claim.order;
    } else if (claim.existing.paymentId === null) {
      const pending = claim.existing;
      // A claim from before requests were kept: only the same amount and currency can share its key.
      const pendingRequest =
        pending.request ?? (pending.amount === input.amount && pending.currency === input.currency ? request : null);
      if (pendingRequest === null) throw new OrderConflictError({ paymentId: null });
      const settled = await settleOrderClaim(pending, pendingRequest, now);
      if (sameRequest(pendingRequest, request)) {
        if (settled.kind === 'refused') throw await refusedCreate(pending, settled.error);
        return { payment: settled.payment, created: settled.recordedHere };
      }
      if (settled.kind === 'refused') {
        // Nothing exists under that generation's key: this request takes the next one.
        const next = await startNextGeneration(pending, request, now);
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
        await abandonPayment(settled.payment);
        continue;
      }
    } else {
      const existing = await getPayment(claim.existing.paymentId);
      if (existing === undefined) throw new Error(`Order ${input.orderId} refers to a missing payment`);
      const decision = decideExistingOrder(existing, request);
      if (decision.kind === 'same_payment') return { payment: existing, created: false };
      if (decision.kind === 'conflict') throw new OrderConflictError({ paymentId: existing.id });
      const next = await startNextGeneration(claim.existing, request, now);
      if (next === undefined) continue;
      order = next;
    }

    const settled = await settleOrderClaim(order, request, now);
    if (settled.kind === 'refused') throw await refusedCreate(order, settled.error);
    return { payment: settled.payment, created: settled.recordedHere };
  }
  throw new InvalidStateError('This order is being changed by another request. Try again.', {}, true);
}

/**
 * Stripe created nothing for the claim: the claim keeps its request (a different one for the order starts the next
 * generation) but leaves the reconciler's index, as there is nothing to settle. Returns the API error to answer.
 */
async function refusedCreate(order: OrderRecord, error: unknown): Promise<ApiError> {
  await setAsideRefusedClaim(order);
  return toApiError(error);
}

/** Cancel a payment nobody saw created (see `isUntouched`), recording the canceled PaymentIntent. */
async function abandonPayment(payment: PaymentRecord): Promise<void> {
  const readAtMs = Date.now();
  try {
    const canceled = await cancelPaymentIntent(payment.id, 'abandoned', { tryNumber: 0 });
    await applyToPayment(payment, [paymentIntentObservation(canceled, { source: 'api' }, readAtMs)]);
  } catch (error) {
    if (stripeErrorCode(error) !== 'payment_intent_unexpected_state') throw toApiError(error);
    await refreshPayment(payment);
  }
}

/**
 * Refund a payment (POST /payments/{id}/refunds): online with `POST /v1/refunds`, or with the card on a reader
 * (`refund_payment`, the only way for Interac).
 *
 * The refund is claimed in the payment's record before Stripe hears of it: a version-conditional write that counts
 * the claim against what is left to refund, so of racing requests whose sum exceeds the balance exactly one is made.
 * The POS's `Idempotency-Key` names the refund: the same key again answers with it (finishing it first if its
 * request was cut short), the same key with another body is refused, and the Stripe keys derive from it, so no retry
 * refunds twice.
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import {
  CardPresentRefundRequiredError,
  IdempotencyKeyReusedError,
  InvalidStateError,
  invalidStateMessage,
  RefundExceedsBalanceError,
  StripeTimeoutError,
} from '../payments/failures.ts';
import { formatMoney } from '../payments/money.ts';
import { applyObservation, applyObservations } from '../payments/reducer.ts';
import {
  claimRefund,
  decideRefund,
  findRefundByKey,
  isRefundUnsettled,
  mustRefundOnReader,
  type RefundDecision,
  type RefundRequest,
  refundableAmount,
  withdrawRefundClaim,
  withRefundAnswered,
} from '../payments/refunds.ts';
import type { PaymentRecord, RefundRecord } from '../payments/types.ts';
import { applyToPayment, getPayment, savePayment, updatePayment, VersionConflictError } from '../store/payments.ts';
import { getPaymentAndReader } from '../store/readers.ts';
import { createRefund, listRefunds, retrievePaymentIntent, retrieveReader } from '../stripe/calls.ts';
import { isOutcomeUnknown, stripeErrorCode, toFailure } from '../stripe/errors.ts';
import { paymentIntentObservation, readerActionObservation, refundObservation } from '../stripe/snapshots.ts';
import { sendRefundCommand } from '../stripe/terminal.ts';
import { unixSeconds } from '../time.ts';
import { type Access, visiblePayment } from './access.ts';
import { locateReader, readerElsewhereError } from './locate-reader.ts';

export interface RefundPaymentRequest extends RefundRequest {
  paymentId: string;
  enableCustomerCancellation?: boolean | undefined;
}

/** What a refund request did: `made` online (201), `started` on the reader (202), or `existing` (200). */
export interface Refunded {
  outcome: 'made' | 'started' | 'existing';
  payment: PaymentRecord;
  refund: RefundRecord;
  reader?: Stripe.Terminal.Reader;
}

/** Times a request looks at the payment again after losing the race to claim its refund. */
const MAX_CLAIM_ROUNDS = 4;

export async function refundPayment(
  deps: Dependencies,
  request: RefundPaymentRequest,
  access: Access,
  options: { deadline: number },
): Promise<Refunded> {
  const { readerId } = request;
  const found =
    readerId === undefined
      ? { payment: await getPayment(deps.store, request.paymentId) }
      : await getPaymentAndReader(deps.store, request.paymentId, readerId);
  let payment = visiblePayment(access, found.payment);
  if (readerId !== undefined) {
    const reader = await locateReader(deps, readerId, access, 'reader' in found ? found.reader : undefined);
    if (reader.locationId !== payment.locationId) throw readerElsewhereError();
  }
  let refreshed = false;
  for (let round = 1; ; round += 1) {
    const decision = decideRefund(payment, request, refreshed);
    if (decision.kind === 'existing') return resume(deps, payment, decision.refund, options);
    if (decision.kind === 'key_reused') throw new IdempotencyKeyReusedError({ refundId: decision.refund.id });
    if (decision.kind === 'refresh') {
      // The record may be behind Stripe (a capture whose events are late): what Stripe holds decides.
      payment = await refreshPaymentIntent(deps, payment, options.deadline);
      refreshed = true;
      continue;
    }
    if (decision.kind === 'refuse') throw refusal(payment, decision);

    const claim = { request, amount: decision.amount, answerDueByMs: options.deadline };
    const claimed = await savePayment(deps.store, claimRefund(payment, claim, new Date(deps.clock.now()))).catch(
      (error: unknown) => {
        if (error instanceof VersionConflictError) return undefined;
        throw error;
      },
    );
    if (claimed !== undefined) {
      return readerId === undefined
        ? refundOnline(deps, claimed, request.key, options.deadline)
        : refundOnReader(deps, claimed, request, options.deadline);
    }
    // Another request (a racing refund, a webhook) changed the payment: decide again on what it holds now.
    const fresh = await getPayment(deps.store, payment.id);
    if (fresh === undefined) throw new VersionConflictError(payment.id);
    if (round >= MAX_CLAIM_ROUNDS) {
      throw new InvalidStateError(
        'This payment is being changed right now. Try the refund again in a few seconds.',
        { status: fresh.status },
        true,
      );
    }
    payment = fresh;
  }
}

/** The refund the same key asked for before: finished first when its online request was cut short. */
async function resume(
  deps: Dependencies,
  payment: PaymentRecord,
  refund: RefundRecord,
  options: { deadline: number },
): Promise<Refunded> {
  if (refund.method === 'api' && refund.id === null && refund.status === 'pending' && refund.key !== null) {
    // The first request did not record Stripe's answer (it timed out, or is still running): the same Stripe key
    // again makes the refund or replays what Stripe did, never a second refund.
    const made = await refundOnline(deps, payment, refund.key, options.deadline);
    return { ...made, outcome: 'existing' };
  }
  return { outcome: 'existing', payment, refund };
}

async function refundOnline(
  deps: Dependencies,
  claimed: PaymentRecord,
  key: string,
  deadline: number,
): Promise<Refunded> {
  const claim = findRefundByKey(claimed, key) as RefundRecord;
  let made: Stripe.Refund;
  try {
    made = await createRefund(
      deps,
      { paymentIntentId: claimed.id, refundKey: key, amount: claim.amount, reason: claim.reason },
      { deadline },
    );
  } catch (error) {
    // No answer: the refund may be made. The claim stays (counted against the balance) for the same request again,
    // or the reconciler, to finish.
    if (error instanceof StripeTimeoutError || isOutcomeUnknown(error)) throw toFailure(error);
    const now = new Date(deps.clock.now());
    const { record } = await updatePayment(deps.store, claimed, (r) => withdrawRefundClaim(r, key, now));
    throw await refusalFromStripe(deps, record, error, deadline);
  }
  const observation = refundObservation(made, { source: 'api' });
  const { record } = await applyToPayment(deps.store, claimed, [observation], new Date(deps.clock.now()));
  return { outcome: 'made', payment: record, refund: findRefundByKey(record, key) as RefundRecord };
}

async function refundOnReader(
  deps: Dependencies,
  claimed: PaymentRecord,
  request: RefundPaymentRequest,
  deadline: number,
): Promise<Refunded> {
  const key = request.key;
  const claim = findRefundByKey(claimed, key) as RefundRecord;
  const readerId = claim.readerId as string;
  const outcome = await sendRefundCommand(deps, {
    paymentIntentId: claimed.id,
    readerId,
    refundKey: key,
    command: claim.command ?? claimed.refundCommands,
    amount: claim.amount,
    deadline,
    ...(request.enableCustomerCancellation === undefined
      ? {}
      : { enableCustomerCancellation: request.enableCustomerCancellation }),
  });
  const now = new Date(deps.clock.now());
  if (outcome.accepted) {
    const answer = readerActionObservation(outcome.reader, { source: 'api' }, unixSeconds(outcome.startedAtMs));
    answer.forRefundKey = key;
    const { record } = await updatePayment(
      deps.store,
      claimed,
      (r) => applyObservation(withRefundAnswered(r, key), answer, now).record,
    );
    const refund = findRefundByKey(record, key) as RefundRecord;
    return { outcome: 'started', payment: record, refund, reader: outcome.reader };
  }
  if (outcome.maybeDelivered) {
    // Stripe did not answer: the reader may still take the command. The claim stays until the reader or the
    // reconciler tells.
    throw toFailure(outcome.error, { notFound: 'reader', status: claimed.status, readerId });
  }
  const { record } = await updatePayment(deps.store, claimed, (r) => withdrawRefundClaim(r, key, now));
  throw await refusalFromStripe(deps, record, outcome.error, deadline, readerId);
}

/** What a refusal of the refund by Stripe means for the POS; the record learns what Stripe knows first. */
async function refusalFromStripe(
  deps: Dependencies,
  payment: PaymentRecord,
  error: unknown,
  deadline: number,
  readerId?: string,
): Promise<unknown> {
  const code = stripeErrorCode(error);
  if (code === 'amount_too_large' || code === 'charge_already_refunded') {
    // Stripe counts refunds the record does not know (made elsewhere, or their events late): learn them.
    const refunds = await listRefunds(deps, payment.id, { deadline }).catch(() => undefined);
    let record = payment;
    if (refunds !== undefined) {
      const observations = refunds.map((refund) => refundObservation(refund, { source: 'poll' }));
      record = (await applyToPayment(deps.store, payment, observations, new Date(deps.clock.now()))).record;
    }
    const refundable = refundableAmount(record);
    return new RefundExceedsBalanceError(refundable, formatMoney(refundable, record.currency));
  }
  if (readerId === undefined && code === undefined && stripeErrorType(error) === 'invalid_request_error') {
    // Stripe refuses an online refund of a charge it only refunds in person (Interac).
    const record = payment.paymentMethodType === null ? await refreshPaymentIntent(deps, payment, deadline) : payment;
    if (mustRefundOnReader(record)) return new CardPresentRefundRequiredError();
  }
  return toFailure(error, { notFound: 'reader', status: payment.status, readerId: readerId ?? null });
}

function stripeErrorType(error: unknown): string | undefined {
  const type = (error as { rawType?: unknown } | null)?.rawType;
  return typeof type === 'string' ? type : undefined;
}

async function refreshPaymentIntent(deps: Dependencies, payment: PaymentRecord, deadline: number) {
  const readAtMs = deps.clock.now();
  const read = await retrievePaymentIntent(deps, payment.id, { deadline });
  const observation = paymentIntentObservation(read, { source: 'poll' }, readAtMs);
  return (await applyToPayment(deps.store, payment, [observation], new Date(deps.clock.now()))).record;
}

function refusal(payment: PaymentRecord, decision: Extract<RefundDecision, { kind: 'refuse' }>): Error {
  const status = payment.status;
  switch (decision.reason) {
    case 'card_present_required':
      return new CardPresentRefundRequiredError();
    case 'exceeds_balance':
      return new RefundExceedsBalanceError(decision.refundable, formatMoney(decision.refundable, payment.currency));
    case 'too_many_refunds':
      return new InvalidStateError('This payment has as many refunds as it can hold.', { status });
    case 'not_refundable':
      return new InvalidStateError(notRefundableMessage(status), { status });
  }
}

function notRefundableMessage(status: string): string {
  switch (status) {
    case 'requires_capture':
      return 'This payment is authorized but not captured: cancel it instead, which releases the hold on the card.';
    case 'canceled':
      return 'This payment was canceled: nothing was charged, so there is nothing to refund.';
    default:
      return `${invalidStateMessage(status)} Only a payment that succeeded can be refunded.`;
  }
}

/**
 * The payment's unsettled refunds re-read from Stripe and recorded (`GET /payments/{id}?refresh=true`): the readers
 * of reader refunds first, then the list of the payment's refunds, as the reconciler reads them.
 */
export async function refreshRefunds(deps: Dependencies, payment: PaymentRecord): Promise<PaymentRecord> {
  const unsettled = payment.refunds.filter(isRefundUnsettled);
  if (unsettled.length === 0) return payment;
  const readerReads = await Promise.all(
    unsettled
      .filter((refund) => refund.method === 'reader' && refund.readerId !== null && refund.key !== null)
      .map(async (refund) => {
        const readAtMs = deps.clock.now();
        const reader = await retrieveReader(deps, refund.readerId as string);
        if (reader === undefined) return [];
        const observation = readerActionObservation(reader, { source: 'poll' }, unixSeconds(readAtMs));
        observation.forRefundKey = refund.key as string;
        return [observation];
      }),
  );
  const refunds = await listRefunds(deps, payment.id);
  const observations = [
    ...refunds.map((refund) => refundObservation(refund, { source: 'poll' })),
    ...readerReads.flat(),
  ];
  const now = new Date(deps.clock.now());
  if (!applyObservations(payment, observations, now).changed) return payment;
  return (await applyToPayment(deps.store, payment, observations, now)).record;
}

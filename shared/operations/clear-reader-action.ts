/**
 * Clearing a reader's action: a payment's own (before its amount changes or it is cancelled), or whatever the
 * reader shows (a cashier resetting a stuck reader). The payment that was on the reader records its action as
 * failed with `canceled`. A card already presented cannot be interrupted, and a command still on its way to the
 * reader cannot be overtaken: both are `reader_busy`.
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import { InvalidStateError, ReaderBusyError, ReaderNotFoundError, ReaderOfflineError } from '../payments/failures.ts';
import { canceledActionObservation } from '../payments/process.ts';
import { isCommandInFlight, isReaderActionInProgress } from '../payments/record.ts';
import { canceledRefundActionObservation, findRefundByKey, refundActionSubject } from '../payments/refunds.ts';
import type { Observation, PaymentRecord } from '../payments/types.ts';
import { applyToPayment, getPayment } from '../store/payments.ts';
import { retrieveReader } from '../stripe/calls.ts';
import { stripeErrorCode, toFailure } from '../stripe/errors.ts';
import { readerActionObservation, readerSnapshot } from '../stripe/snapshots.ts';
import { cancelReaderAction, readerRunsPayment } from '../stripe/terminal.ts';
import { unixSeconds } from '../time.ts';
import { type Access, visiblePayment, visibleReader } from './access.ts';

/** A reader command cannot be undone or overtaken while it is on its way to the reader. */
export function commandOnItsWayError(): ReaderBusyError {
  return new ReaderBusyError('A command for this payment is on its way to the reader. Try again in a few seconds.');
}

function cardBeingAuthorizedError(): ReaderBusyError {
  return new ReaderBusyError('A card is being authorized on the reader. Try again in a few seconds.');
}

export interface ClearOptions {
  /** Leave an offline reader as it is (it cannot authorize anything while offline) instead of `reader_offline`. */
  proceedWhenOffline?: boolean;
}

/** Cancel this payment's in-progress reader action, if the reader still runs it, and record the outcome. */
export async function releaseReaderAction(
  deps: Dependencies,
  payment: PaymentRecord,
  options: ClearOptions = {},
): Promise<PaymentRecord> {
  const observations = await clearReaderAction(deps, payment, options);
  if (observations.length === 0) return payment;
  return (await applyToPayment(deps.store, payment, observations, new Date(deps.clock.now()))).record;
}

/**
 * The Stripe side of `releaseReaderAction`: cancels the action if the reader still runs this payment and returns
 * what to record (nothing when there is nothing to record), so a caller can store it in the same write as its
 * own change.
 */
export async function clearReaderAction(
  deps: Dependencies,
  payment: PaymentRecord,
  options: ClearOptions = {},
): Promise<Observation[]> {
  const readerId = payment.readerId;
  if (!isReaderActionInProgress(payment) || readerId === null) return [];
  const readAtMs = deps.clock.now();
  const reader = await retrieveReader(deps, readerId);
  if (reader === undefined) return [];
  if (!readerRunsPayment(reader, payment.id)) {
    // The reader cannot be asked to drop a command that has not reached it yet.
    if (isCommandInFlight(payment, deps.clock.now())) throw commandOnItsWayError();
    // An offline reader's API state does not follow the device: it may still hold the command, unreachable.
    if (reader.status === 'offline') {
      if (options.proceedWhenOffline) return [];
      throw new ReaderOfflineError();
    }
    // The action already ended: record what the reader shows.
    return [readerActionObservation(reader, { source: 'poll' }, unixSeconds(readAtMs))];
  }
  try {
    await cancelReaderAction(deps, readerId, `${payment.id}:${payment.attempts}`);
  } catch (error) {
    const code = stripeErrorCode(error);
    if (code === 'terminal_reader_busy') throw cardBeingAuthorizedError();
    if (code === 'terminal_reader_offline') {
      if (options.proceedWhenOffline) return [];
      throw new ReaderOfflineError(error);
    }
    if (code === 'resource_missing') throw new ReaderNotFoundError();
    throw toFailure(error);
  }
  return [canceledActionObservation(payment, readerId, new Date(deps.clock.now()))];
}

export interface ReaderActionClearing {
  readerId: string;
  /** Only if the reader is still on this payment (safe for readers shared by registers). */
  paymentId?: string;
  /** Names the cancel's idempotency key when the reader's action belongs to no known payment. */
  requestId: string;
}

/**
 * Clear whatever the reader shows (POST /readers/{id}/cancel-action). The reader is read from Stripe anyway, so its
 * location comes from that read: the table is only asked for the named payment.
 */
export async function clearReaderActionOnReader(
  deps: Dependencies,
  request: ReaderActionClearing,
  access: Access,
): Promise<Stripe.Terminal.Reader> {
  const { readerId, paymentId } = request;
  const named = paymentId === undefined ? undefined : await getPayment(deps.store, paymentId);
  const readAtMs = deps.clock.now();
  const found = await retrieveReader(deps, readerId);
  if (found === undefined) throw new ReaderNotFoundError();
  const reader = visibleReader(access, readerSnapshot(found));
  if (paymentId !== undefined) visiblePayment(access, named);

  const action = reader.action;
  // A payment's process action, or one of its reader refunds.
  const held =
    action?.type === 'process_payment_intent' || action?.type === 'refund_payment' ? action.paymentIntentId : null;
  const refundKey = action?.type === 'refund_payment' ? (action.refundKey ?? null) : null;
  // The named payment's command may not have reached this reader yet: clearing it now would clear nothing.
  const shown = held !== null && held === named?.id && reader.action?.status === 'in_progress';
  if (named !== undefined && named.readerId === readerId && !shown && isCommandInFlight(named, deps.clock.now())) {
    throw commandOnItsWayError();
  }
  if (named !== undefined && reader.action !== null && held !== named.id) {
    throw new InvalidStateError('The reader is now on another payment; nothing was cancelled.', { paymentId: held });
  }
  if (reader.action === null) {
    // Nothing to clear; the named payment learns that the reader no longer runs it.
    if (named !== undefined) {
      const observation = readerActionObservation(found, { source: 'poll' }, unixSeconds(readAtMs));
      await applyToPayment(deps.store, named, [observation], new Date(deps.clock.now()));
    }
    return found;
  }

  const payment = named ?? (held === null ? undefined : await getPayment(deps.store, held));
  const refund = refundKey === null || payment === undefined ? undefined : findRefundByKey(payment, refundKey);
  const subject =
    payment === undefined
      ? request.requestId
      : refund !== undefined
        ? refundActionSubject(payment.id, refund)
        : `${payment.id}:${payment.attempts}`;
  let cleared: Stripe.Terminal.Reader;
  try {
    cleared = await cancelReaderAction(deps, readerId, subject);
  } catch (error) {
    if (stripeErrorCode(error) === 'terminal_reader_busy') throw cardBeingAuthorizedError();
    throw toFailure(error, { notFound: 'reader' });
  }
  if (payment !== undefined && reader.action.status === 'in_progress') {
    const now = new Date(deps.clock.now());
    const observation =
      refundKey !== null
        ? canceledRefundActionObservation(payment.id, readerId, refundKey, now)
        : canceledActionObservation(payment, readerId, now);
    await applyToPayment(deps.store, payment, [observation], now);
  }
  return cleared;
}

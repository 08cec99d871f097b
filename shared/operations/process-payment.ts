/**
 * Process a payment on a reader (POST /payments/{id}/process, and create-and-process): settle what an earlier
 * attempt left, claim the next attempt in the table, send the reader its command, and record Stripe's answer.
 *
 * The attempt is claimed before the reader hears of it: a conditional write that only one of several racing
 * requests wins, so a payment is never sent to two readers, and the attempt is recorded before any of its events
 * can arrive. A request that loses the race looks again and answers as the winner left the payment.
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import { InvalidInputError, InvalidStateError, invalidStateMessage } from '../payments/failures.ts';
import { recordProcessAccepted, recordProcessRefused, withdrawProcessAttempt } from '../payments/process.ts';
import { currentAttempt, isCommandInFlight, startProcessAttempt } from '../payments/record.ts';
import { decideProcess } from '../payments/rules.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { getPayment, savePayment, updatePayment, VersionConflictError } from '../store/payments.ts';
import { getPaymentAndReader } from '../store/readers.ts';
import { retrieveReader } from '../stripe/calls.ts';
import { stripeErrorCode, toFailure } from '../stripe/errors.ts';
import { readerActionObservation } from '../stripe/snapshots.ts';
import { type ProcessCommandOutcome, readerRunsPayment, sendProcessCommand } from '../stripe/terminal.ts';
import { unixSeconds } from '../time.ts';
import { type Access, visiblePayment } from './access.ts';
import { locateReader, readerElsewhereError } from './locate-reader.ts';
import { refreshPayment } from './refresh-payment.ts';

export interface ProcessOptions {
  skipTipping?: boolean;
  /** The part of the amount a tip is offered on (`process_config[tipping][amount_eligible]`). */
  tippingEligibleAmount?: number;
  enableCustomerCancellation?: boolean;
  /** Epoch ms by which the answer must be ready. */
  deadline: number;
}

/** The options of a request's body (an absent field is Stripe's default), answered by `deadline`. */
export function processOptions(
  deadline: number,
  body: {
    skipTipping?: boolean | undefined;
    tipping?: { eligibleAmount?: number | undefined } | undefined;
    enableCustomerCancellation?: boolean | undefined;
  },
): ProcessOptions {
  const eligible = body.tipping?.eligibleAmount;
  return {
    deadline,
    ...(body.skipTipping === undefined ? {} : { skipTipping: body.skipTipping }),
    ...(eligible === undefined ? {} : { tippingEligibleAmount: eligible }),
    ...(body.enableCustomerCancellation === undefined
      ? {}
      : { enableCustomerCancellation: body.enableCustomerCancellation }),
  };
}

/** The payment with its attempt recorded, and the reader as Stripe answered. */
export interface Processed {
  payment: PaymentRecord;
  reader: Stripe.Terminal.Reader;
}

/** Times a request looks at the payment again after losing the race to claim its attempt. */
const MAX_CLAIM_ROUNDS = 3;

/** POST /payments/{id}/process: the payment and the reader (one table read for both), then `processOnReader`. */
export async function processPayment(
  deps: Dependencies,
  request: { paymentId: string; readerId: string },
  access: Access,
  options: ProcessOptions,
): Promise<Processed> {
  const found = await getPaymentAndReader(deps.store, request.paymentId, request.readerId);
  const payment = visiblePayment(access, found.payment);
  const reader = await locateReader(deps, request.readerId, access, found.reader);
  if (reader.locationId !== payment.locationId) throw readerElsewhereError();
  return processOnReader(deps, payment, request.readerId, options);
}

/**
 * Have `readerId` process the payment and record the attempt. Idempotent for a payment already running on that
 * reader. `invalid_state` when the payment cannot be processed (with its current status and reader), and the
 * reader failures of the seed guide.
 */
export async function processOnReader(
  deps: Dependencies,
  payment: PaymentRecord,
  readerId: string,
  options: ProcessOptions,
): Promise<Processed> {
  const eligible = options.tippingEligibleAmount;
  if (eligible !== undefined && eligible > payment.amount) {
    throw new InvalidInputError([
      { field: 'tipping.eligibleAmount', message: `At most the payment's amount (${payment.amount}).` },
    ]);
  }
  let current = payment;
  for (let round = 1; ; round += 1) {
    const ready = await settleEarlierAttempt(deps, current, readerId);
    if ('running' in ready) return ready.running;
    const claimed = await claimAttempt(deps, ready.payment, readerId, options.deadline);
    if (claimed !== undefined) return sendCommand(deps, ready.payment, claimed, readerId, options);
    // Something changed the payment since it was read (a racing request's claim, or a webhook): decide again on
    // what it holds now. A racing claim then shows as an attempt in progress.
    const fresh = await getPayment(deps.store, current.id);
    if (fresh === undefined) throw new VersionConflictError(current.id);
    if (round >= MAX_CLAIM_ROUNDS) {
      throw new InvalidStateError(
        'This payment is being processed already. Check its status again in a few seconds.',
        { status: fresh.status, readerId: fresh.readerId },
        true,
      );
    }
    current = fresh;
  }
}

/**
 * The payment ready for a new attempt, or the attempt already running on this reader. An attempt the record shows
 * in progress is checked on its reader first: the record may be behind (a lost or late event).
 */
async function settleEarlierAttempt(
  deps: Dependencies,
  payment: PaymentRecord,
  readerId: string,
): Promise<{ running: Processed } | { payment: PaymentRecord }> {
  const decision = decideProcess(payment);
  if (decision.kind === 'refuse') throw refusedError(payment);
  if (decision.kind !== 'verify_in_progress') return { payment };

  const readAtMs = deps.clock.now();
  const reader = await retrieveReader(deps, decision.readerId);
  if (reader !== undefined && readerRunsPayment(reader, payment.id)) {
    if (decision.readerId === readerId) return { running: { payment, reader } };
    throw new InvalidStateError('This payment is being processed on another reader: cancel it there first.', {
      status: payment.status,
      readerId: decision.readerId,
    });
  }
  // Another request's command may still reach its reader: nothing else may be sent meanwhile.
  if (isCommandInFlight(payment, deps.clock.now())) {
    throw new InvalidStateError(
      'This payment is being sent to a reader right now. Check its status again in a few seconds.',
      { status: payment.status, readerId: payment.readerId },
      true,
    );
  }
  // Learn how the action ended, then decide again.
  const refreshed = await refreshPayment(deps, payment, { reader, readAtMs });
  const again = decideProcess(refreshed);
  if (again.kind === 'verify_in_progress') {
    throw new InvalidStateError(
      'The reader is still finishing this payment. Check its status again in a few seconds.',
      { status: refreshed.status, readerId: refreshed.readerId },
      true,
    );
  }
  if (again.kind === 'refuse') throw refusedError(refreshed);
  return { payment: refreshed };
}

function refusedError(payment: PaymentRecord): InvalidStateError {
  return new InvalidStateError(invalidStateMessage(payment.status), {
    status: payment.status,
    readerId: payment.readerId,
  });
}

/** The payment with the next attempt claimed on `readerId`, or undefined when another writer got there first. */
async function claimAttempt(
  deps: Dependencies,
  payment: PaymentRecord,
  readerId: string,
  deadline: number,
): Promise<PaymentRecord | undefined> {
  const claimedAt = new Date(deps.clock.now());
  const attempt = { readerId, startedAtMs: claimedAt.getTime(), answerDueByMs: deadline };
  try {
    return await savePayment(deps.store, startProcessAttempt(payment, attempt, claimedAt));
  } catch (error) {
    if (error instanceof VersionConflictError) return undefined;
    throw error;
  }
}

/** Send the claimed attempt's command to the reader and record what became of it. */
async function sendCommand(
  deps: Dependencies,
  before: PaymentRecord,
  claimed: PaymentRecord,
  readerId: string,
  options: ProcessOptions,
): Promise<Processed> {
  const attempt = claimed.attempts;
  const outcome = await sendProcessCommand(deps, {
    paymentIntentId: claimed.id,
    readerId,
    attempt,
    firstTry: before.nextProcessTry,
    deadline: options.deadline,
    ...(options.skipTipping === undefined ? {} : { skipTipping: options.skipTipping }),
    ...(options.tippingEligibleAmount === undefined ? {} : { tippingEligibleAmount: options.tippingEligibleAmount }),
    ...(options.enableCustomerCancellation === undefined
      ? {}
      : { enableCustomerCancellation: options.enableCustomerCancellation }),
  });
  const now = new Date(deps.clock.now());
  if (outcome.accepted) {
    const answer = readerActionObservation(
      outcome.reader,
      { source: 'api' },
      unixSeconds(outcome.startedAtMs),
      attempt,
    );
    const startedAtMs = currentAttempt(claimed)?.startedAtMs ?? now.getTime();
    const command = { attempt, readerId, startedAtMs, answer, nextTry: outcome.nextTry };
    const { record } = await updatePayment(deps.store, claimed, (r) => recordProcessAccepted(r, command, now));
    return { payment: record, reader: outcome.reader };
  }
  throw await recordRefusal(deps, before, claimed, outcome, now);
}

/** Record a command the reader did not take (or may not have), and return the failure to answer with. */
async function recordRefusal(
  deps: Dependencies,
  before: PaymentRecord,
  claimed: PaymentRecord,
  outcome: Extract<ProcessCommandOutcome, { accepted: false }>,
  now: Date,
): Promise<unknown> {
  if (outcome.maybeDelivered) {
    // Stripe did not answer: the command may still reach the reader, so the attempt stays claimed (and in flight
    // until its deadline); after that, a read of the reader or its events settle it.
    await updatePayment(deps.store, claimed, (r) => recordProcessRefused(r, outcome.nextTry, now)).catch(
      () => undefined,
    );
    return toFailure(outcome.error);
  }
  // The reader never took the command: the claimed attempt did not happen.
  const { record } = await updatePayment(deps.store, claimed, (r) =>
    recordProcessRefused(withdrawProcessAttempt(r, before, claimed.attempts), outcome.nextTry, now),
  );
  if (stripeErrorCode(outcome.error) === 'intent_invalid_state') {
    // Stripe knows better than the record: take its status, and say it.
    return refusedError(await refreshPayment(deps, record));
  }
  return toFailure(outcome.error, { notFound: 'reader', status: record.status, readerId: record.readerId });
}

/**
 * Recording what a reader answered to the backend's own commands. Pure: the caller stores the result.
 */

import { unixSeconds } from '../time.ts';
import { currentAttempt, startProcessAttempt, withCommandAnswered, withNextProcessTry } from './record.ts';
import { applyObservation } from './reducer.ts';
import type { PaymentRecord, ReaderActionObservation } from './types.ts';

export interface AcceptedProcessCommand {
  /** The attempt number the command was sent for (`attempts + 1` when it was sent). */
  attempt: number;
  readerId: string;
  startedAtMs: number;
  /** The reader as the command (or the read after a timeout) returned it, with `forAttempt` = `attempt`. */
  answer: ReaderActionObservation;
  /** First unused key try after this command. */
  nextTry: number;
}

/**
 * A reader accepted a process command: start the attempt (unless a racing twin of the same request already did:
 * Stripe replayed the same answer to both) and apply the reader's answer to it.
 */
export function recordProcessAccepted(
  record: PaymentRecord,
  command: AcceptedProcessCommand,
  now: Date,
): PaymentRecord {
  let updated = record;
  if (record.attempts < command.attempt) {
    updated = startProcessAttempt(record, { readerId: command.readerId, startedAtMs: command.startedAtMs }, now);
  }
  // Stripe answered: the command is no longer in flight (the one write a process request adds to its claim).
  updated = withCommandAnswered(updated, command.attempt);
  return applyObservation(updated, command.answer, now).record;
}

/**
 * Undo the claim of `attempt` (the reader refused the command), restoring what `before` held, if the record still
 * shows that claim and nothing else happened to it since.
 */
export function withdrawProcessAttempt(record: PaymentRecord, before: PaymentRecord, attempt: number): PaymentRecord {
  if (record.attempts !== attempt || record.readerAction?.status !== 'in_progress') return record;
  return {
    ...record,
    attempts: before.attempts,
    attemptLog: before.attemptLog,
    readerId: before.readerId,
    readerAction: before.readerAction,
    flags: before.flags,
    nextProcessTry: before.nextProcessTry,
  };
}

/** A process command was refused: remember the keys it used up, so the next command uses a fresh one. */
export function recordProcessRefused(record: PaymentRecord, nextTry: number, now: Date): PaymentRecord {
  return withNextProcessTry(record, nextTry, now);
}

/**
 * The backend cancelled this payment's action on `readerId`: the action failed with `canceled`. It is attributed
 * to the current attempt only if that attempt ran on this reader.
 */
export function canceledActionObservation(record: PaymentRecord, readerId: string, now: Date): ReaderActionObservation {
  const attempt = currentAttempt(record);
  const observation: ReaderActionObservation = {
    kind: 'reader_action',
    origin: { source: 'api' },
    readerId,
    action: {
      type: 'process_payment_intent',
      status: 'failed',
      failureCode: 'canceled',
      failureMessage: 'The reader action was canceled.',
      paymentIntentId: record.id,
    },
    createdSeconds: unixSeconds(now.getTime()),
  };
  if (attempt !== undefined && attempt.readerId === readerId) observation.forAttempt = attempt.number;
  return observation;
}

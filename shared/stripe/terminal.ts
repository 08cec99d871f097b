/**
 * Reader commands with the seed guide's error handling. A reader runs one request at a time
 * (`terminal_reader_busy`), may be offline (`terminal_reader_offline`), and may time out
 * (`terminal_reader_timeout`) even when it did take the command, so every timeout is followed by a read of the
 * reader before anything is sent again.
 */
import type Stripe from 'stripe';
import type { StripeAccess } from '../dependencies.ts';
import { ReaderTimeoutError } from '../payments/failures.ts';
import { idempotencyKeys } from '../payments/idempotency.ts';
import { paymentActionStatus } from '../payments/reader-action.ts';
import { REFUND_KEY_METADATA } from '../payments/refunds.ts';
import { retrieveReader, sendUntil, withFreshKeyAfterReplayedError, withKeyInUseRetry } from './calls.ts';
import { isOutcomeUnknown, isReplayedError, stripeErrorCode } from './errors.ts';
import { readerSnapshot } from './snapshots.ts';

/** Replayed answers skipped (each means a key already used up) before giving up. */
const MAX_REPLAYED_TRIES = 10;

/** True when the reader's action is this PaymentIntent's, running or done: the command reached the reader. */
function readerTookCommand(reader: Stripe.Terminal.Reader, paymentIntentId: string): boolean {
  const status = paymentActionStatus(readerSnapshot(reader), paymentIntentId);
  return status === 'in_progress' || status === 'succeeded';
}

/** True while the reader is still running this PaymentIntent's action. */
export function readerRunsPayment(reader: Stripe.Terminal.Reader, paymentIntentId: string): boolean {
  return paymentActionStatus(readerSnapshot(reader), paymentIntentId) === 'in_progress';
}

export interface ProcessCommand {
  paymentIntentId: string;
  readerId: string;
  /** The attempt this command starts (the payment's attempts + 1). */
  attempt: number;
  /** First unused `try` of the attempt's idempotency key. */
  firstTry: number;
  skipTipping?: boolean;
  /** `process_config[tipping][amount_eligible]`. */
  tippingEligibleAmount?: number;
  enableCustomerCancellation?: boolean;
  /** Epoch ms by which the command must be settled (inside API Gateway's 30 s). */
  deadline: number;
}

export type ReaderCommandOutcome =
  | { accepted: true; reader: Stripe.Terminal.Reader; startedAtMs: number; nextTry: number }
  /**
   * Not taken. `maybeDelivered`: Stripe gave no answer (a lost connection, its own failure), so the command may
   * still reach the reader although a read does not show it yet.
   */
  | { accepted: false; error: unknown; nextTry: number; maybeDelivered: boolean };

export type ProcessCommandOutcome = ReaderCommandOutcome;

/** Times a command Stripe gave no answer to is sent again under its own key, before the reader is asked. */
const MAX_UNANSWERED_RESENDS = 2;

/** A command for a reader, as `sendReaderCommand` sends it. */
export interface ReaderCommand {
  readerId: string;
  /** First unused `try` of the command's idempotency key. */
  firstTry: number;
  /** The idempotency key of try `n`. */
  keyFor: (tryNumber: number) => string;
  /** Send the command under `idempotencyKey`. */
  send: (client: Stripe, idempotencyKey: string) => Promise<Stripe.Terminal.Reader>;
  /** Whether a read of the reader shows this command arrived (its action running or done). */
  took: (reader: Stripe.Terminal.Reader) => boolean;
  /** Epoch ms by which the command must be settled (inside API Gateway's 30 s). */
  deadline: number;
}

/**
 * Ask the reader to process the PaymentIntent (see `sendReaderCommand`).
 */
export async function sendProcessCommand(deps: StripeAccess, command: ProcessCommand): Promise<ProcessCommandOutcome> {
  const processConfig: Stripe.Terminal.ReaderProcessPaymentIntentParams.ProcessConfig = {};
  if (command.skipTipping !== undefined) processConfig.skip_tipping = command.skipTipping;
  if (command.tippingEligibleAmount !== undefined) {
    processConfig.tipping = { amount_eligible: command.tippingEligibleAmount };
  }
  if (command.enableCustomerCancellation !== undefined) {
    processConfig.enable_customer_cancellation = command.enableCustomerCancellation;
  }
  const params: Stripe.Terminal.ReaderProcessPaymentIntentParams = { payment_intent: command.paymentIntentId };
  if (Object.keys(processConfig).length > 0) params.process_config = processConfig;
  return sendReaderCommand(deps, {
    readerId: command.readerId,
    firstTry: command.firstTry,
    keyFor: (n) => idempotencyKeys.processPayment(command.paymentIntentId, command.attempt, n),
    send: (client, idempotencyKey) =>
      client.terminal.readers.processPaymentIntent(command.readerId, params, { idempotencyKey }),
    took: (reader) => readerTookCommand(reader, command.paymentIntentId),
    deadline: command.deadline,
  });
}

/**
 * Send a reader its command with the seed guide's error handling. A command Stripe gave no answer to (a lost
 * connection, its own failure) is sent again under the same key: Stripe then runs it, or replays what it did. After
 * `terminal_reader_timeout` the reader is read: if it shows the command it did arrive (a false negative) and that
 * is success; otherwise the command is sent again under a new key (Stripe replays a stored error for a reused key),
 * at most `READER_TIMEOUT_RETRIES` times and only while another try fits before `deadline`.
 */
export async function sendReaderCommand(deps: StripeAccess, command: ReaderCommand): Promise<ReaderCommandOutcome> {
  const client = await deps.stripe();
  const { READER_TIMEOUT_RETRIES, READER_TIMEOUT_RETRY_DELAY_MS, STRIPE_TIMEOUT_MS } = deps.settings;
  let tryNumber = command.firstTry;
  let idempotencyKey = '';
  const nextKey = () => {
    idempotencyKey = command.keyFor(tryNumber);
    tryNumber += 1;
  };
  nextKey();
  let timeouts = 0;
  let replays = 0;
  let resends = 0;
  // Once a try may have reached the reader unseen, "busy" can be the reader running that very command.
  let uncertain = false;
  for (;;) {
    const startedAtMs = deps.clock.now();
    try {
      const reader = await withKeyInUseRetry(deps, () => command.send(client, idempotencyKey));
      return { accepted: true, reader, startedAtMs, nextTry: tryNumber };
    } catch (error) {
      if (isReplayedError(error) && replays < MAX_REPLAYED_TRIES) {
        replays += 1;
        uncertain = true;
        nextKey();
        continue;
      }
      const unanswered = isOutcomeUnknown(error);
      if (unanswered && resends < MAX_UNANSWERED_RESENDS && deps.clock.now() + STRIPE_TIMEOUT_MS <= command.deadline) {
        resends += 1;
        uncertain = true;
        continue;
      }
      const code = stripeErrorCode(error);
      const unsure = unanswered || code === 'terminal_reader_timeout' || (uncertain && code === 'terminal_reader_busy');
      if (!unsure) return { accepted: false, error, nextTry: tryNumber, maybeDelivered: false };
      // A read that fails tells nothing: the command may be on the reader all the same.
      let read: { reader: Stripe.Terminal.Reader | undefined } | undefined;
      try {
        read = { reader: await retrieveReader(deps, command.readerId) };
      } catch {
        read = undefined;
      }
      if (read?.reader !== undefined && command.took(read.reader)) {
        return { accepted: true, reader: read.reader, startedAtMs, nextTry: tryNumber };
      }
      if (unanswered) return { accepted: false, error, nextTry: tryNumber, maybeDelivered: true };
      if (code === 'terminal_reader_busy') {
        // Busy after a try that may have arrived: unless the reader was read and runs something else, it may be
        // running this very command.
        if (read === undefined) {
          return { accepted: false, error: new ReaderTimeoutError(error), nextTry: tryNumber, maybeDelivered: true };
        }
        return { accepted: false, error, nextTry: tryNumber, maybeDelivered: false };
      }
      timeouts += 1;
      uncertain = true;
      const nextTryEndsBy = deps.clock.now() + READER_TIMEOUT_RETRY_DELAY_MS + STRIPE_TIMEOUT_MS;
      if (timeouts > READER_TIMEOUT_RETRIES || nextTryEndsBy > command.deadline) {
        return {
          accepted: false,
          error: new ReaderTimeoutError(),
          nextTry: tryNumber,
          maybeDelivered: read === undefined,
        };
      }
      await deps.clock.sleep(READER_TIMEOUT_RETRY_DELAY_MS);
      nextKey();
    }
  }
}

export interface RefundCommand {
  paymentIntentId: string;
  readerId: string;
  /** The POS's key for the refund, carried in the action's (and the refund's) metadata. */
  refundKey: string;
  /** The payment's reader refund command number (its keys derive from it). */
  command: number;
  amount: number;
  enableCustomerCancellation?: boolean;
  deadline: number;
}

/** True when the reader's action is this refund's `refund_payment`, running or done. */
export function readerTookRefund(reader: Stripe.Terminal.Reader, paymentIntentId: string, refundKey: string): boolean {
  const action = readerSnapshot(reader).action;
  return (
    action !== null &&
    action.type === 'refund_payment' &&
    action.paymentIntentId === paymentIntentId &&
    action.refundKey === refundKey &&
    action.status !== 'failed'
  );
}

/** Ask the reader to refund with the card presented (`refund_payment`), as `sendReaderCommand` sends commands. */
export async function sendRefundCommand(deps: StripeAccess, command: RefundCommand): Promise<ReaderCommandOutcome> {
  const params: Stripe.Terminal.ReaderRefundPaymentParams = {
    payment_intent: command.paymentIntentId,
    amount: command.amount,
    metadata: { [REFUND_KEY_METADATA]: command.refundKey },
  };
  if (command.enableCustomerCancellation !== undefined) {
    params.refund_payment_config = { enable_customer_cancellation: command.enableCustomerCancellation };
  }
  return sendReaderCommand(deps, {
    readerId: command.readerId,
    firstTry: 0,
    keyFor: (n) => idempotencyKeys.refundOnReader(command.paymentIntentId, command.command, n),
    send: (client, idempotencyKey) =>
      client.terminal.readers.refundPayment(command.readerId, params, { idempotencyKey }),
    took: (reader) => readerTookRefund(reader, command.paymentIntentId, command.refundKey),
    deadline: command.deadline,
  });
}

/**
 * Clear the reader's current action. `subject` names the action for its idempotency key. Throws Stripe's error
 * (`terminal_reader_busy` while a card is being authorized, `terminal_reader_offline`).
 */
export async function cancelReaderAction(
  deps: StripeAccess,
  readerId: string,
  subject: string,
  options: { deadline?: number } = {},
): Promise<Stripe.Terminal.Reader> {
  const client = await deps.stripe();
  const { result } = await withFreshKeyAfterReplayedError(deps, 0, (n) => {
    const idempotencyKey = idempotencyKeys.cancelReaderAction(readerId, subject, n);
    if (options.deadline === undefined) return client.terminal.readers.cancelAction(readerId, {}, { idempotencyKey });
    return sendUntil(deps, options.deadline, (requestOptions) =>
      client.terminal.readers.cancelAction(readerId, {}, { ...requestOptions, idempotencyKey }),
    );
  });
  return result as Stripe.Terminal.Reader;
}

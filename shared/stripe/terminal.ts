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
import { retrieveReader, withFreshKeyAfterReplayedError, withKeyInUseRetry } from './calls.ts';
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
  enableCustomerCancellation?: boolean;
  /** Epoch ms by which the command must be settled (inside API Gateway's 30 s). */
  deadline: number;
}

export type ProcessCommandOutcome =
  | { accepted: true; reader: Stripe.Terminal.Reader; startedAtMs: number; nextTry: number }
  /**
   * Not taken. `maybeDelivered`: Stripe gave no answer (a lost connection, its own failure), so the command may
   * still reach the reader although a read does not show it yet.
   */
  | { accepted: false; error: unknown; nextTry: number; maybeDelivered: boolean };

/** Times a command Stripe gave no answer to is sent again under its own key, before the reader is asked. */
const MAX_UNANSWERED_RESENDS = 2;

/**
 * Ask the reader to process the PaymentIntent. A command Stripe gave no answer to (a lost connection, its own
 * failure) is sent again under the same key: Stripe then runs it, or replays what it did. After
 * `terminal_reader_timeout` the reader is read: if it holds this PaymentIntent the command did arrive (a false
 * negative) and that is success; otherwise the command is sent again under a new key (Stripe replays a stored
 * error for a reused key), at most `READER_TIMEOUT_RETRIES` times and only while another try fits before
 * `deadline`.
 */
export async function sendProcessCommand(deps: StripeAccess, command: ProcessCommand): Promise<ProcessCommandOutcome> {
  const client = await deps.stripe();
  const { READER_TIMEOUT_RETRIES, READER_TIMEOUT_RETRY_DELAY_MS, STRIPE_TIMEOUT_MS } = deps.settings;
  const processConfig: Stripe.Terminal.ReaderProcessPaymentIntentParams.ProcessConfig = {};
  if (command.skipTipping !== undefined) processConfig.skip_tipping = command.skipTipping;
  if (command.enableCustomerCancellation !== undefined) {
    processConfig.enable_customer_cancellation = command.enableCustomerCancellation;
  }
  const params: Stripe.Terminal.ReaderProcessPaymentIntentParams = { payment_intent: command.paymentIntentId };
  if (Object.keys(processConfig).length > 0) params.process_config = processConfig;

  let tryNumber = command.firstTry;
  let idempotencyKey = '';
  const nextKey = () => {
    idempotencyKey = idempotencyKeys.processPayment(command.paymentIntentId, command.attempt, tryNumber);
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
      const reader = await withKeyInUseRetry(deps, () =>
        client.terminal.readers.processPaymentIntent(command.readerId, params, { idempotencyKey }),
      );
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
      const reader = await retrieveReader(deps, command.readerId).catch(() => undefined);
      if (reader !== undefined && readerTookCommand(reader, command.paymentIntentId)) {
        return { accepted: true, reader, startedAtMs, nextTry: tryNumber };
      }
      if (unanswered) return { accepted: false, error, nextTry: tryNumber, maybeDelivered: true };
      if (code === 'terminal_reader_busy') return { accepted: false, error, nextTry: tryNumber, maybeDelivered: false };
      timeouts += 1;
      uncertain = true;
      const nextTryEndsBy = deps.clock.now() + READER_TIMEOUT_RETRY_DELAY_MS + STRIPE_TIMEOUT_MS;
      if (timeouts > READER_TIMEOUT_RETRIES || nextTryEndsBy > command.deadline) {
        return { accepted: false, error: new ReaderTimeoutError(), nextTry: tryNumber, maybeDelivered: false };
      }
      await deps.clock.sleep(READER_TIMEOUT_RETRY_DELAY_MS);
      nextKey();
    }
  }
}

/**
 * Clear the reader's current action. `subject` names the action for its idempotency key. Throws Stripe's error
 * (`terminal_reader_busy` while a card is being authorized, `terminal_reader_offline`).
 */
export async function cancelReaderAction(
  deps: StripeAccess,
  readerId: string,
  subject: string,
): Promise<Stripe.Terminal.Reader> {
  const client = await deps.stripe();
  const { result } = await withFreshKeyAfterReplayedError(deps, 0, (n) =>
    client.terminal.readers.cancelAction(
      readerId,
      {},
      { idempotencyKey: idempotencyKeys.cancelReaderAction(readerId, subject, n) },
    ),
  );
  return result as Stripe.Terminal.Reader;
}

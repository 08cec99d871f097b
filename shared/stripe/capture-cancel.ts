/**
 * Capturing and cancelling a PaymentIntent, at most once however often it is asked for, by the API and the
 * reconciler alike. The keys are `capture:{id}:{try}` and `cancel:{id}:{try}`. Stripe keeps a key's first answer
 * for 24 hours, errors included, so a key that answers with a stored old error (`Idempotent-Replayed`) or that
 * another request took (`idempotency_error`) tells nothing about now: the PaymentIntent is read, and only while it
 * can still be captured (cancelled) is the next try's key used. Stripe never captures or cancels a PaymentIntent
 * twice; its refusal (`payment_intent_unexpected_state`) is answered with what the read shows.
 */
import type Stripe from 'stripe';
import type { StripeAccess } from '../dependencies.ts';
import {
  type CancellationReason,
  cancelPaymentIntent,
  capturePaymentIntent,
  type KeyedWriteOptions,
  retrievePaymentIntent,
} from './calls.ts';
import { isReplayedAnswer, isReplayedError, stripeErrorCode } from './errors.ts';

/** Keys tried before giving up: each one holds an old answer, and a payment rarely has even one. */
const MAX_TRIES = 10;

/** Statuses from which Stripe cancels a PaymentIntent (a succeeded one has to be refunded). */
const CANCELABLE_STATUSES = new Set([
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'requires_capture',
]);

/** What Stripe holds after a capture or cancel was asked for. */
export interface WriteOutcome {
  /** Stripe's answer to the write, or the PaymentIntent as read after Stripe refused it or replayed an old answer. */
  paymentIntent: Stripe.PaymentIntent;
  /** When the state shown was read: the write's or the read's start (ms). */
  observedAtMs: number;
  /** `api` for Stripe's answer to the write, `poll` for a read. */
  source: 'api' | 'poll';
  /** True when Stripe ran this very write now; false for a replayed answer, a refusal, or a read. */
  performed: boolean;
}

async function writeAtMostOnce(
  deps: StripeAccess,
  paymentIntentId: string,
  write: (options: KeyedWriteOptions) => Promise<Stripe.PaymentIntent>,
  canStillBeDone: (status: string) => boolean,
  deadline: number | undefined,
): Promise<WriteOutcome> {
  for (let tryNumber = 0; ; tryNumber += 1) {
    const sentAtMs = deps.clock.now();
    try {
      const paymentIntent = await write(deadline === undefined ? { tryNumber } : { tryNumber, deadline });
      return { paymentIntent, observedAtMs: sentAtMs, source: 'api', performed: !isReplayedAnswer(paymentIntent) };
    } catch (error) {
      const code = stripeErrorCode(error);
      const staleKey = isReplayedError(error) || code === 'idempotency_error';
      if (!staleKey && code !== 'payment_intent_unexpected_state') throw error;
      const readAtMs = deps.clock.now();
      const paymentIntent = await retrievePaymentIntent(
        deps,
        paymentIntentId,
        deadline === undefined ? {} : { deadline },
      );
      if (!staleKey || !canStillBeDone(paymentIntent.status) || tryNumber + 1 >= MAX_TRIES) {
        return { paymentIntent, observedAtMs: readAtMs, source: 'poll', performed: false };
      }
    }
  }
}

/**
 * Capture the PaymentIntent (all of it, or `amountToCapture`), or learn that it can no longer be captured: the
 * outcome's PaymentIntent says which (`succeeded` with what was captured, `canceled`, …). With a `deadline`,
 * Stripe's silence by then is `StripeTimeoutError`. Throws the Stripe errors that are not about its state.
 */
export function captureAtMostOnce(
  deps: StripeAccess,
  paymentIntentId: string,
  amountToCapture: number | undefined,
  options: { deadline?: number } = {},
): Promise<WriteOutcome> {
  return writeAtMostOnce(
    deps,
    paymentIntentId,
    (keyed) => capturePaymentIntent(deps, paymentIntentId, amountToCapture, keyed),
    (status) => status === 'requires_capture',
    options.deadline,
  );
}

/**
 * Cancel the PaymentIntent, or learn that it can no longer be cancelled: the outcome's PaymentIntent says which
 * (`canceled`, or `succeeded`: it has to be refunded). With a `deadline`, as for capture.
 */
export function cancelAtMostOnce(
  deps: StripeAccess,
  paymentIntentId: string,
  reason: CancellationReason | undefined,
  options: { deadline?: number } = {},
): Promise<WriteOutcome> {
  return writeAtMostOnce(
    deps,
    paymentIntentId,
    (keyed) => cancelPaymentIntent(deps, paymentIntentId, reason, keyed),
    (status) => CANCELABLE_STATUSES.has(status),
    options.deadline,
  );
}

/**
 * Receipts (GET /payments/{id}/receipt, POST /payments/{id}/receipt/email): the EMV fields card networks require
 * on a card-present receipt come from the authorized charge, recorded with the payment from its events, so a
 * receipt usually costs no Stripe call; a record that lacks them (its charge's events late or lost) reads the
 * PaymentIntent first.
 */
import type { Dependencies } from '../dependencies.ts';
import { InvalidStateError } from '../payments/failures.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { applyToPayment, getPayment } from '../store/payments.ts';
import { retrievePaymentIntent, setReceiptEmail } from '../stripe/calls.ts';
import { toFailure } from '../stripe/errors.ts';
import { paymentIntentObservation } from '../stripe/snapshots.ts';
import { type Access, visiblePayment } from './access.ts';

/** A payment has a receipt once a card was authorized for it. */
function hasReceipt(payment: PaymentRecord): boolean {
  return payment.status === 'requires_capture' || payment.status === 'succeeded';
}

function unpaidError(payment: PaymentRecord): InvalidStateError {
  return new InvalidStateError(
    payment.status === 'canceled'
      ? 'This payment was canceled: there is no receipt for it.'
      : 'This payment has not been paid yet: a receipt exists once a card is authorized.',
    { status: payment.status },
  );
}

async function refreshed(deps: Dependencies, payment: PaymentRecord, deadline: number): Promise<PaymentRecord> {
  const readAtMs = deps.clock.now();
  const read = await retrievePaymentIntent(deps, payment.id, { deadline });
  const observation = paymentIntentObservation(read, { source: 'poll' }, readAtMs);
  return (await applyToPayment(deps.store, payment, [observation], new Date(deps.clock.now()))).record;
}

/** The payment with its receipt fields; `invalid_state` before a card was authorized. */
export async function readReceipt(
  deps: Dependencies,
  id: string,
  access: Access,
  options: { deadline: number },
): Promise<PaymentRecord> {
  let payment = visiblePayment(access, await getPayment(deps.store, id));
  // The record may be behind Stripe: an authorization or its charge whose events have not been applied yet.
  if (payment.status !== 'canceled' && (!hasReceipt(payment) || payment.receipt === null)) {
    payment = await refreshed(deps, payment, options.deadline);
  }
  if (!hasReceipt(payment)) throw unpaidError(payment);
  return payment;
}

/** Have Stripe email its receipt to `email`: now if paid, else once paid. A canceled payment has none. */
export async function emailReceipt(
  deps: Dependencies,
  request: { paymentId: string; email: string; requestId: string },
  access: Access,
  options: { deadline: number },
): Promise<PaymentRecord> {
  const payment = visiblePayment(access, await getPayment(deps.store, request.paymentId));
  if (payment.status === 'canceled') throw unpaidError(payment);
  const readAtMs = deps.clock.now();
  const updated = await setReceiptEmail(deps, payment.id, request.email, {
    requestId: request.requestId,
    deadline: options.deadline,
  }).catch((error: unknown) => {
    throw toFailure(error, { status: payment.status });
  });
  const observation = paymentIntentObservation(updated, { source: 'api' }, readAtMs);
  return (await applyToPayment(deps.store, payment, [observation], new Date(deps.clock.now()))).record;
}

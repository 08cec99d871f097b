/**
 * Change a payment's amount (PATCH /payments/{id}; the customer added items). Only before authorization
 * (`requires_payment_method`); a reader action showing the old amount is cancelled first, and the payment must then
 * be processed again (the seed guide's rule after editing a PaymentIntent).
 */
import type { Dependencies } from '../dependencies.ts';
import { InvalidInputError, InvalidStateError, invalidStateMessage } from '../payments/failures.ts';
import { minimumAmount } from '../payments/money.ts';
import { withAmountUpdate } from '../payments/record.ts';
import { applyObservation } from '../payments/reducer.ts';
import { decideAmountUpdate } from '../payments/rules.ts';
import type { PaymentRecord } from '../payments/types.ts';
import { getPayment, updatePayment } from '../store/payments.ts';
import { beforeDeadline, updatePaymentIntentAmount } from '../stripe/calls.ts';
import { stripeErrorCode, toFailure } from '../stripe/errors.ts';
import { paymentIntentObservation } from '../stripe/snapshots.ts';
import { type Access, visiblePayment } from './access.ts';
import { releaseReaderAction } from './clear-reader-action.ts';
import { refreshPayment } from './refresh-payment.ts';

export async function updatePaymentAmount(
  deps: Dependencies,
  request: { paymentId: string; amount: number },
  access: Access,
  options: { deadline: number },
): Promise<PaymentRecord> {
  const { amount } = request;
  const stored = visiblePayment(access, await getPayment(deps.store, request.paymentId));
  const minimum = minimumAmount(stored.currency) ?? 0;
  if (amount < minimum) {
    throw new InvalidInputError([
      { field: 'amount', message: `The minimum amount for ${stored.currency} is ${minimum}.` },
    ]);
  }

  const decision = decideAmountUpdate(stored, amount);
  if (decision.kind === 'unchanged') return stored;
  if (decision.kind === 'refuse')
    throw new InvalidStateError(invalidStateMessage(stored.status), { status: stored.status });

  // The reader must not go on showing (and charging) the old amount.
  const payment = await beforeDeadline(deps, options.deadline, releaseReaderAction(deps, stored));
  try {
    const paymentIntent = await updatePaymentIntentAmount(
      deps,
      payment.id,
      amount,
      payment.amountUpdates,
      options.deadline,
    );
    // Stamped when the answer arrived: a read sent before then (a refresh racing this PATCH) may show the old
    // amount, and must not win over the change.
    const observation = paymentIntentObservation(paymentIntent, { source: 'api' }, deps.clock.now());
    const now = new Date(deps.clock.now());
    const { record } = await updatePayment(
      deps.store,
      payment,
      (r) => applyObservation(withAmountUpdate(r, now), observation, now).record,
    );
    return record;
  } catch (error) {
    if (stripeErrorCode(error) !== 'payment_intent_unexpected_state')
      throw toFailure(error, { status: payment.status });
    const latest = await refreshPayment(deps, payment);
    throw new InvalidStateError(invalidStateMessage(latest.status), { status: latest.status });
  }
}

/**
 * PATCH /payments/{id} — change the amount (the customer added items). Only before authorization
 * (`requires_payment_method`); a reader action showing the old amount is cancelled first, and the payment must
 * then be processed again (the seed guide's rule after editing a PaymentIntent).
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { visiblePayment } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { InvalidStateError, ValidationError } from '../../shared/http/errors.ts';
import { ok } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams } from '../../shared/http/schemas.ts';
import { minimumAmount } from '../../shared/payments/money.ts';
import { withAmountUpdate } from '../../shared/payments/record.ts';
import { applyObservation } from '../../shared/payments/reducer.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import { decideAmountUpdate } from '../../shared/payments/rules.ts';
import { getPayment, updatePayment } from '../../shared/store/payments.ts';
import { beforeDeadline, updatePaymentIntentAmount } from '../../shared/stripe/calls.ts';
import { invalidStateMessage, stripeErrorCode, toApiError } from '../../shared/stripe/errors.ts';
import { refreshPayment, releaseReaderAction } from '../../shared/stripe/payment-commands.ts';
import { paymentIntentObservation } from '../../shared/stripe/snapshots.ts';

const Body = z.strictObject({ amount: Amount });

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'reader_busy', 'reader_offline', 'stripe_timeout'],
  jsonBody: true,
  forbidden: false,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline }) => {
    const stored = visiblePayment(caller, await getPayment(params.id));
    if (body.amount < (minimumAmount(stored.currency) ?? 0)) {
      throw new ValidationError([
        { field: 'amount', message: `The minimum amount for ${stored.currency} is ${minimumAmount(stored.currency)}.` },
      ]);
    }

    const decision = decideAmountUpdate(stored, body.amount);
    if (decision.kind === 'unchanged') return ok({ payment: toPaymentResource(stored) });
    if (decision.kind === 'refuse')
      throw new InvalidStateError(invalidStateMessage(stored.status), { status: stored.status });

    // The reader must not go on showing (and charging) the old amount.
    const payment = await beforeDeadline(deadline, releaseReaderAction(stored));
    try {
      const paymentIntent = await updatePaymentIntentAmount(payment.id, body.amount, payment.amountUpdates, deadline);
      // Stamped when the answer arrived: a read sent before then (a refresh racing this PATCH) may show the old
      // amount, and must not win over the change.
      const observation = paymentIntentObservation(paymentIntent, { source: 'api' }, Date.now());
      const now = new Date();
      const { record } = await updatePayment(
        payment,
        (r) => applyObservation(withAmountUpdate(r, now), observation, now).record,
      );
      return ok({ payment: toPaymentResource(record) });
    } catch (error) {
      if (stripeErrorCode(error) !== 'payment_intent_unexpected_state')
        throw toApiError(error, { status: payment.status });
      const latest = await refreshPayment(payment);
      throw new InvalidStateError(invalidStateMessage(latest.status), { status: latest.status });
    }
  },
  { params: PaymentIdParams, body: Body },
);

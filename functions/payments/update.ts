/**
 * PATCH /payments/{id} — change the amount (the customer added items). Only before authorization
 * (`requires_payment_method`); a reader action showing the old amount is cancelled first, and the payment must
 * then be processed again (the seed guide's rule after editing a PaymentIntent).
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { InvalidStateError, PaymentNotFoundError, ValidationError } from '../../shared/http/errors.ts';
import { ok } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams } from '../../shared/http/schemas.ts';
import { minimumAmount } from '../../shared/payments/money.ts';
import { withAmountUpdate } from '../../shared/payments/record.ts';
import { applyObservation } from '../../shared/payments/reducer.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import { decideAmountUpdate } from '../../shared/payments/rules.ts';
import { getPayment, updatePayment } from '../../shared/store/payments.ts';
import { updatePaymentIntentAmount } from '../../shared/stripe/calls.ts';
import { invalidStateMessage, stripeErrorCode, toApiError } from '../../shared/stripe/errors.ts';
import { refreshPayment, releaseReaderAction } from '../../shared/stripe/payment-commands.ts';
import { paymentIntentObservation } from '../../shared/stripe/snapshots.ts';

const Body = z.strictObject({ amount: Amount });

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'reader_busy', 'reader_offline'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller }) => {
    const stored = await getPayment(params.id);
    if (stored === undefined) throw new PaymentNotFoundError();
    authorizeLocation(caller, stored.locationId);
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
    const payment = await releaseReaderAction(stored);
    const readAtMs = Date.now();
    try {
      const paymentIntent = await updatePaymentIntentAmount(payment.id, body.amount, payment.amountUpdates);
      const observation = paymentIntentObservation(paymentIntent, { source: 'api' }, readAtMs);
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

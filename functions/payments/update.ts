/**
 * PATCH /payments/{id} — change the amount (the customer added items). Only before authorization
 * (`requires_payment_method`); a reader action showing the old amount is cancelled first, and the payment must
 * then be processed again (the seed guide's rule after editing a PaymentIntent).
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams } from '../../shared/http/schemas.ts';
import { updatePaymentAmount } from '../../shared/operations/update-payment.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({ amount: Amount });

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'reader_busy', 'reader_offline', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const payment = await updatePaymentAmount(deps, { paymentId: params.id, amount: body.amount }, access, {
      deadline,
    });
    return ok({ payment: toPaymentResource(payment) });
  },
  { params: PaymentIdParams, body: Body },
);

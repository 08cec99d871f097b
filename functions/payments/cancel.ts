/**
 * POST /payments/{id}/cancel — cancel the payment (releasing an authorization's hold). Its in-progress reader
 * action is cancelled first; a card already presented cannot be interrupted (409 `reader_busy`). A succeeded
 * payment has to be refunded instead. Cancelling twice answers with the canceled payment. When Stripe has not
 * answered by the deadline (inside API Gateway's 30 s) it is 504 `stripe_timeout`: the same request again
 * finishes the job.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { PaymentIdParams } from '../../shared/http/schemas.ts';
import { cancelPayment } from '../../shared/operations/cancel-payment.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({
  reason: z.optional(z.enum(['requested_by_customer', 'abandoned', 'duplicate'])),
});

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'reader_busy', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const payment = await cancelPayment(deps, { paymentId: params.id, reason: body.reason }, access, { deadline });
    return ok({ payment: toPaymentResource(payment) });
  },
  { params: PaymentIdParams, body: Body },
);

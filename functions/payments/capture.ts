/**
 * POST /payments/{id}/capture — capture an authorized (`requires_capture`) payment, in full or `amountToCapture`.
 * Capturing again for the amount captured answers with the captured payment and captures nothing more; asking for
 * another amount than was captured is 409 `invalid_state` saying what was. When Stripe has not answered by the
 * deadline (inside API Gateway's 30 s) it is 504 `stripe_timeout`: the same request again finishes the job.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { Amount, PaymentIdParams } from '../../shared/http/schemas.ts';
import { capturePayment } from '../../shared/operations/capture-payment.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({ amountToCapture: z.optional(Amount) });

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const request = { paymentId: params.id, amountToCapture: body.amountToCapture };
    const payment = await capturePayment(deps, request, access, { deadline });
    return ok({ payment: toPaymentResource(payment) });
  },
  { params: PaymentIdParams, body: Body },
);

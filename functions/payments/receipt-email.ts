/**
 * POST /payments/{id}/receipt/email — have Stripe email its receipt (the PaymentIntent's `receipt_email`): now if
 * the payment is paid, else once it is. 202: Stripe sends it. A canceled payment has none: 409 `invalid_state`.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { accepted } from '../../shared/http/responses.ts';
import { PaymentIdParams, Text } from '../../shared/http/schemas.ts';
import { emailReceipt } from '../../shared/operations/receipts.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({ email: z.pipe(Text.check(z.maxLength(254)), z.email('A valid email address.')) });

export const responses = declareResponses({
  success: [202],
  errors: ['payment_not_found', 'invalid_state', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps, requestId }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const request = { paymentId: params.id, email: body.email, requestId };
    const payment = await emailReceipt(deps, request, access, { deadline });
    return accepted({ payment: toPaymentResource(payment) });
  },
  { params: PaymentIdParams, body: Body },
);

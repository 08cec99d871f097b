/**
 * GET /payments/{id}/refunds — the payment's refunds, oldest first, as recorded (`GET /payments/{id}?refresh=true`
 * re-reads them from Stripe).
 */
import { storeOnlyApiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { PaymentIdParams } from '../../shared/http/schemas.ts';
import { visiblePayment } from '../../shared/operations/access.ts';
import { toRefundResource } from '../../shared/payments/resource.ts';
import { getPayment } from '../../shared/store/payments.ts';

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found'],
  callsStripe: false,
});

export const handler = storeOnlyApiHandler(
  async ({ params, caller, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const payment = visiblePayment(access, await getPayment(deps.store, params.id));
    return ok({ refunds: payment.refunds.map((refund) => toRefundResource(payment.id, refund)) });
  },
  { params: PaymentIdParams },
);

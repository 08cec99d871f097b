/**
 * GET /payments/{id} — the payment as recorded; with `?refresh=true` it is first re-read from Stripe (the
 * PaymentIntent with its charge, and the reader) and reconciled, so the POS can recover without webhooks.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { PaymentIdParams } from '../../shared/http/schemas.ts';
import { readPayment } from '../../shared/operations/refresh-payment.ts';
import { toPaymentResource } from '../../shared/payments/resource.ts';
import * as z from '../../shared/zod.ts';

const Query = z.strictObject({
  refresh: z.optional(z.enum(['true', 'false'])),
});

export const responses = declareResponses({ success: [200], errors: ['payment_not_found'] });

export const handler = apiHandler(
  async ({ params, query, caller, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const payment = await readPayment(deps, params.id, access, { refresh: query.refresh === 'true' });
    return ok({ payment: toPaymentResource(payment) });
  },
  { params: PaymentIdParams, query: Query },
);

/**
 * GET /payments/{id}/receipt — what a card-present receipt prints: amounts (tip and refunds included), the card and
 * how it was read, and the EMV fields card networks require. Once a card is authorized; before, 409 `invalid_state`.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { PaymentIdParams } from '../../shared/http/schemas.ts';
import { readReceipt } from '../../shared/operations/receipts.ts';
import { toReceiptResource } from '../../shared/payments/resource.ts';

export const responses = declareResponses({
  success: [200],
  errors: ['payment_not_found', 'invalid_state', 'stripe_timeout'],
});

export const handler = apiHandler(
  async ({ params, caller, deadline, deps }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const payment = await readReceipt(deps, params.id, access, { deadline });
    return ok({ receipt: toReceiptResource(payment) });
  },
  { params: PaymentIdParams },
);

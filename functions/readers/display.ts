/**
 * POST /readers/{id}/display — show the cart on the reader's screen while the cashier rings it up: its lines, tax
 * and total. It changes only the screen, not what is charged. The total must be the lines' amount × quantity plus
 * tax. A reader taking a payment is `reader_busy` until it is done.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { ReaderIdParams, Text } from '../../shared/http/schemas.ts';
import { showCartOnReader } from '../../shared/operations/reader-display.ts';
import { MAXIMUM_AMOUNT, minimumAmount } from '../../shared/payments/money.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';
import * as z from '../../shared/zod.ts';

/**
 * An amount shown on the screen, in the currency's minor unit. Stripe documents cart amounts as positive integers, so
 * a negative line (a discount) is refused here rather than by Stripe.
 */
const ShownAmount = z.number().check(z.int(), z.minimum(0, 'Cannot be negative.'), z.maximum(MAXIMUM_AMOUNT));

const LineItem = z.strictObject({
  // Stripe's limit on a line's description.
  description: Text.check(z.minLength(1), z.maxLength(5000)),
  amount: ShownAmount,
  quantity: z.number().check(z.int(), z.minimum(1, 'At least 1.'), z.maximum(999_999)),
});

const Body = z.strictObject({
  cart: z.strictObject({
    currency: z.string().check(
      z.regex(/^[a-z]{3}$/, 'A lower-case ISO 4217 code such as usd.'),
      z.refine(
        (currency) => minimumAmount(currency) !== undefined,
        'Terminal payments are not offered in this currency.',
      ),
    ),
    lineItems: z
      .array(LineItem)
      .check(z.minLength(1, 'At least one line item.'), z.maxLength(100, 'At most 100 line items.')),
    tax: z.optional(ShownAmount),
    total: ShownAmount,
  }),
});

export const responses = declareResponses({
  success: [200],
  errors: ['reader_not_found', 'reader_busy', 'reader_offline', 'reader_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps, requestId }) => {
    const access = (locationId: string | null) => canActFor(caller, locationId);
    const request = { readerId: params.id, requestId, cart: body.cart };
    const reader = await showCartOnReader(deps, request, access, { deadline });
    return ok({ reader: toReaderResource(readerSnapshot(reader)) });
  },
  { params: ReaderIdParams, body: Body },
);

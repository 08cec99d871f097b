/**
 * PUT /locations/{id}/tipping — the tip suggestions the location's readers offer in one currency: up to three
 * percentages and up to three fixed amounts, with an optional smart-tip threshold (below it the reader offers the
 * fixed amounts, above it the percentages). The location's other currencies stay as they are.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeLocation } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { Amount, StripeId } from '../../shared/http/schemas.ts';
import { setLocationTipping } from '../../shared/operations/location-tipping.ts';
import { MAXIMUM_AMOUNT, minimumAmount } from '../../shared/payments/money.ts';
import * as z from '../../shared/zod.ts';

const Params = z.strictObject({ id: StripeId });

/** Stripe's readers show up to three suggestions of each kind; each once. */
const suggestions = <T extends z.ZodMiniNumber<number>>(value: T) =>
  z.array(value).check(
    z.minLength(1, 'Give 1 to 3 values, or leave the field out.'),
    z.maxLength(3, 'At most 3 values.'),
    z.refine((values) => new Set(values).size === values.length, 'Each value may appear once.'),
  );

const Body = z
  .strictObject({
    currency: z.string().check(
      z.regex(/^[a-z]{3}$/, 'A lower-case ISO 4217 code such as usd.'),
      z.refine(
        (currency) => minimumAmount(currency) !== undefined,
        'Terminal payments are not offered in this currency.',
      ),
    ),
    percentages: z.optional(
      suggestions(z.number().check(z.int(), z.minimum(1, 'At least 1.'), z.maximum(100, 'At most 100.'))),
    ),
    fixedAmounts: z.optional(suggestions(Amount)),
    smartTipThreshold: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(MAXIMUM_AMOUNT))),
  })
  .check(
    z.refine((body) => body.percentages !== undefined || body.fixedAmounts !== undefined, {
      path: ['percentages'],
      message: 'Give percentages, fixedAmounts or both.',
    }),
  );

export const responses = declareResponses({
  success: [200],
  errors: ['location_not_found', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ params, body, caller, deadline, deps, requestId }) => {
    authorizeLocation(caller, params.id);
    const change = { locationId: params.id, requestId, ...body };
    const tipping = await setLocationTipping(deps, change, { deadline });
    return ok({ tipping });
  },
  { params: Params, body: Body },
);

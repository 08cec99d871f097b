/** zod pieces the API's routes share. Objects are strict: an unknown field is a validation error. */
import { z } from 'zod';
import { MAXIMUM_AMOUNT } from '../payments/money.ts';

/**
 * Text the API stores or passes to Stripe: well-formed Unicode only. A lone surrogate (`"\ud800"`) is valid JSON
 * but cannot be URL-encoded for Stripe's form bodies, so it is refused here rather than failing there.
 */
export const Text = z.string().refine((value) => value.isWellFormed(), 'Must be valid Unicode text.');

/** A Stripe object id in a path (`pi_…`, `tmr_…`); an unknown id is a 404, not a validation error. */
export const StripeId = Text.min(1).max(255);

export const PaymentIdParams = z.strictObject({ id: StripeId });
export const ReaderIdParams = z.strictObject({ id: StripeId });

/** An amount in the currency's minor unit. */
export const Amount = z.number().int().positive().max(MAXIMUM_AMOUNT);

/** zod pieces the API's routes share. Objects are strict: an unknown field is a validation error. */
import { z } from 'zod';
import { MAXIMUM_AMOUNT } from '../payments/money.ts';

/** A Stripe object id in a path (`pi_…`, `tmr_…`); an unknown id is a 404, not a validation error. */
export const StripeId = z.string().min(1).max(255);

export const PaymentIdParams = z.strictObject({ id: StripeId });
export const ReaderIdParams = z.strictObject({ id: StripeId });

/** An amount in the currency's minor unit. */
export const Amount = z.number().int().positive().max(MAXIMUM_AMOUNT);

/** zod pieces the API's routes share. Objects are strict: an unknown field is a validation error. */
import { z } from 'zod';
import { MAXIMUM_AMOUNT } from '../payments/money.ts';
import { ValidationError } from './errors.ts';

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
/** A reader's label: what cashiers pick it by. */
export const ReaderLabel = Text.trim()
  .min(1, 'Give the label, such as Register 1.')
  .max(100, 'At most 100 characters.');

export const Amount = z.number().int().positive().max(MAXIMUM_AMOUNT);

/** A POS's `Idempotency-Key` header: 1–255 visible ASCII characters. */
export const IdempotencyKey = Text.min(1, 'Send an Idempotency-Key header naming this request.')
  .max(255, 'The Idempotency-Key header may be at most 255 characters.')
  .regex(/^[\x21-\x7e]+$/, 'The Idempotency-Key header may hold visible ASCII characters only.');

/** An optional `Idempotency-Key` header, checked: undefined when the request has none. */
export function optionalIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = IdempotencyKey.safeParse(header);
  if (parsed.success) return parsed.data;
  throw new ValidationError([
    { field: 'Idempotency-Key', message: parsed.error.issues[0]?.message ?? 'Send a valid Idempotency-Key header.' },
  ]);
}

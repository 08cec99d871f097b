/** zod pieces the API's routes share. Objects are strict: an unknown field is a validation error. */
import { MAXIMUM_AMOUNT } from '../payments/money.ts';
import * as z from '../zod.ts';
import { ValidationError } from './errors.ts';

/**
 * Text the API stores or passes to Stripe: well-formed Unicode only. A lone surrogate (`"\ud800"`) is valid JSON
 * but cannot be URL-encoded for Stripe's form bodies, so it is refused here rather than failing there.
 */
export const Text = z.string().check(z.refine((value) => value.isWellFormed(), 'Must be valid Unicode text.'));

/** A Stripe object id in a path (`pi_…`, `tmr_…`); an unknown id is a 404, not a validation error. */
export const StripeId = Text.check(z.minLength(1), z.maxLength(255));

export const PaymentIdParams = z.strictObject({ id: StripeId });
export const ReaderIdParams = z.strictObject({ id: StripeId });

/** An amount in the currency's minor unit. */
/** A reader's label: what cashiers pick it by. */
export const ReaderLabel = Text.check(
  z.trim(),
  z.minLength(1, 'Give the label, such as Register 1.'),
  z.maxLength(100, 'At most 100 characters.'),
);

export const Amount = z.number().check(z.int(), z.positive(), z.maximum(MAXIMUM_AMOUNT));

/** A POS's `Idempotency-Key` header: 1–255 visible ASCII characters. */
export const IdempotencyKey = Text.check(
  z.minLength(1, 'Send an Idempotency-Key header naming this request.'),
  z.maxLength(255, 'The Idempotency-Key header may be at most 255 characters.'),
  z.regex(/^[\x21-\x7e]+$/, 'The Idempotency-Key header may hold visible ASCII characters only.'),
);

/** An optional `Idempotency-Key` header, checked: undefined when the request has none. */
export function optionalIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = IdempotencyKey.safeParse(header);
  if (parsed.success) return parsed.data;
  throw new ValidationError([
    { field: 'Idempotency-Key', message: parsed.error.issues[0]?.message ?? 'Send a valid Idempotency-Key header.' },
  ]);
}

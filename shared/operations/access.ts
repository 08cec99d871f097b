/**
 * Who may see what: an operation is told which locations its caller acts for, and treats another location's
 * payment or reader as one that does not exist (the answer does not tell that the id exists).
 */
import { PaymentNotFoundError, ReaderNotFoundError } from '../payments/failures.ts';

/** Whether the caller may act for `locationId`. */
export type Access = (locationId: string | null) => boolean;

/** Every location: the reconciler, the webhook processor. */
export const everyLocation: Access = () => true;

/** The payment, if it exists and the caller may see it; else `payment_not_found`. */
export function visiblePayment<T extends { locationId: string }>(access: Access, payment: T | undefined): T {
  if (payment === undefined || !access(payment.locationId)) throw new PaymentNotFoundError();
  return payment;
}

/** The reader, if it exists and the caller may see it; else `reader_not_found`. */
export function visibleReader<T extends { locationId: string | null }>(access: Access, reader: T | undefined): T {
  if (reader === undefined || !access(reader.locationId)) throw new ReaderNotFoundError();
  return reader;
}

/**
 * The cart on a reader's screen (POST /readers/{id}/display): what the customer is about to pay for, shown while the
 * cashier rings it up. It changes only the screen, never what is charged, and Stripe sends no event for it, so
 * nothing is stored. A reader running a payment or refund is busy until it ends; a payment sent to a reader that
 * shows a cart replaces it.
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import { InvalidInputError, ReaderBusyError } from '../payments/failures.ts';
import { formatMoney } from '../payments/money.ts';
import { stripeErrorCode, toFailure } from '../stripe/errors.ts';
import { type CartParams, sendDisplayCommand } from '../stripe/reader-display.ts';
import type { Access } from './access.ts';
import { locateReader } from './locate-reader.ts';

export interface CartLineItem {
  description: string;
  /** Price of one, in the currency's minor unit. */
  amount: number;
  quantity: number;
}

export interface Cart {
  currency: string;
  lineItems: CartLineItem[];
  tax?: number | undefined;
  total: number;
}

export interface CartDisplay {
  readerId: string;
  /** The API request's id: the command's idempotency keys derive from it. */
  requestId: string;
  cart: Cart;
}

/** What the cart's total must be: every line's amount × quantity, plus tax. */
export function expectedCartTotal(cart: Cart): number {
  return cart.lineItems.reduce((sum, item) => sum + item.amount * item.quantity, 0) + (cart.tax ?? 0);
}

function readerBusyError(): ReaderBusyError {
  return new ReaderBusyError(
    'The reader is taking a payment or busy with another request: the cart can be shown once it is done. Try again in a few seconds.',
  );
}

/**
 * Show the cart on the reader. `invalid_input` when its total is not the sum of its lines plus tax; the reader is
 * reached as for any reader command (`reader_not_found` for another location's).
 */
export async function showCartOnReader(
  deps: Dependencies,
  request: CartDisplay,
  access: Access,
  options: { deadline: number },
): Promise<Stripe.Terminal.Reader> {
  const { cart, readerId } = request;
  const expected = expectedCartTotal(cart);
  if (cart.total !== expected) {
    throw new InvalidInputError([
      {
        field: 'cart.total',
        message: `The total must be the sum of amount × quantity over the line items plus tax: ${expected} (${formatMoney(expected, cart.currency)}).`,
      },
    ]);
  }
  await locateReader(deps, readerId, access);
  const params: CartParams = {
    currency: cart.currency,
    line_items: cart.lineItems.map((item) => ({
      description: item.description,
      amount: item.amount,
      quantity: item.quantity,
    })),
    total: cart.total,
  };
  if (cart.tax !== undefined) params.tax = cart.tax;
  const outcome = await sendDisplayCommand(deps, {
    readerId,
    requestId: request.requestId,
    cart: params,
    deadline: options.deadline,
  });
  if (outcome.accepted) return outcome.reader;
  if (stripeErrorCode(outcome.error) === 'terminal_reader_busy') throw readerBusyError();
  throw toFailure(outcome.error, { notFound: 'reader' });
}

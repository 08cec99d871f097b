/**
 * The cart on a reader's screen (`set_reader_display`, type `cart`), sent as every reader command is
 * (`sendReaderCommand`): a timeout is followed by a read of the reader, and a reader showing this cart took it.
 */
import type Stripe from 'stripe';
import type { StripeAccess } from '../dependencies.ts';
import { idempotencyKeys } from '../payments/idempotency.ts';
import { type ReaderCommandOutcome, sendReaderCommand } from './terminal.ts';

export type CartParams = Stripe.Terminal.ReaderSetReaderDisplayParams.Cart;

export interface DisplayCommand {
  readerId: string;
  /** The API request's id: the command's keys derive from it. */
  requestId: string;
  cart: CartParams;
  /** Epoch ms by which the command must be settled (inside API Gateway's 30 s). */
  deadline: number;
}

/** The cart as compared: what Stripe shows of one equals what was sent. */
function cartKey(cart: CartParams | Stripe.Terminal.Reader.Action.SetReaderDisplay.Cart): string {
  return JSON.stringify([
    cart.currency.toLowerCase(),
    cart.line_items.map((item) => [item.description, item.amount, item.quantity]),
    cart.tax ?? null,
    cart.total,
  ]);
}

/** True when the reader's action is a display of this cart (shown, or still on its way to the screen). */
export function readerShowsCart(reader: Stripe.Terminal.Reader, cart: CartParams): boolean {
  const action = reader.action;
  if (action?.type !== 'set_reader_display' || action.status === 'failed') return false;
  const shown = action.set_reader_display?.cart;
  return shown !== undefined && shown !== null && cartKey(shown) === cartKey(cart);
}

/** Show the cart on the reader (see `sendReaderCommand`). */
export function sendDisplayCommand(deps: StripeAccess, command: DisplayCommand): Promise<ReaderCommandOutcome> {
  const params: Stripe.Terminal.ReaderSetReaderDisplayParams = { type: 'cart', cart: command.cart };
  return sendReaderCommand(deps, {
    readerId: command.readerId,
    firstTry: 0,
    keyFor: (n) => idempotencyKeys.readerDisplay(command.readerId, command.requestId, n),
    send: (client, idempotencyKey) =>
      client.terminal.readers.setReaderDisplay(command.readerId, params, { idempotencyKey }),
    took: (reader) => readerShowsCart(reader, command.cart),
    deadline: command.deadline,
  });
}

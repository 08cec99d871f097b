/**
 * POST /readers/{id}/cancel-action — clear the reader's current action (a cashier resetting a stuck reader).
 * With `paymentId`, only if the reader is still on that payment (safe for readers shared by registers). The
 * payment it held records its action as failed with `canceled`. Not possible while a card is being authorized.
 */
import { z } from 'zod';
import { apiHandler } from '../../shared/http/api-handler.ts';
import { visiblePayment, visibleReader } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { InvalidStateError, ReaderBusyError, ReaderNotFoundError } from '../../shared/http/errors.ts';
import { ok } from '../../shared/http/responses.ts';
import { ReaderIdParams, StripeId } from '../../shared/http/schemas.ts';
import { canceledActionObservation } from '../../shared/payments/process.ts';
import { isCommandInFlight } from '../../shared/payments/record.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import type { PaymentRecord } from '../../shared/payments/types.ts';
import { applyToPayment, getPayment } from '../../shared/store/payments.ts';
import { retrieveReader } from '../../shared/stripe/calls.ts';
import { stripeErrorCode, toApiError } from '../../shared/stripe/errors.ts';
import { commandOnItsWayError } from '../../shared/stripe/payment-commands.ts';
import { readerActionObservation, readerSnapshot } from '../../shared/stripe/snapshots.ts';
import { cancelReaderAction } from '../../shared/stripe/terminal.ts';
import { unixSeconds } from '../../shared/time.ts';

const Body = z.strictObject({ paymentId: StripeId.optional() });

export const responses = declareResponses({
  success: [200],
  errors: ['reader_not_found', 'payment_not_found', 'invalid_state', 'reader_busy', 'reader_offline'],
  jsonBody: true,
  forbidden: false,
});

export const handler = apiHandler(
  async ({ params, body, caller, requestId }) => {
    // The reader is read from Stripe here anyway, so its location comes from that read: the table is only
    // asked for the named payment (one request), keeping the call at two DynamoDB requests.
    const named = body.paymentId === undefined ? undefined : await getPayment(body.paymentId);
    const readAtMs = Date.now();
    const found = await retrieveReader(params.id);
    if (found === undefined) throw new ReaderNotFoundError();
    const reader = visibleReader(caller, readerSnapshot(found));
    if (body.paymentId !== undefined) visiblePayment(caller, named);

    const held = reader.action?.type === 'process_payment_intent' ? reader.action.paymentIntentId : null;
    // The named payment's command may not have reached this reader yet: clearing it now would clear nothing.
    const shown = held !== null && held === named?.id && reader.action?.status === 'in_progress';
    if (named !== undefined && named.readerId === params.id && !shown && isCommandInFlight(named, Date.now())) {
      throw commandOnItsWayError();
    }
    if (named !== undefined && reader.action !== null && held !== named.id) {
      throw new InvalidStateError('The reader is now on another payment; nothing was cancelled.', { paymentId: held });
    }
    if (reader.action === null) {
      // Nothing to clear; the named payment learns that the reader no longer runs it.
      if (named !== undefined) {
        await applyToPayment(named, [readerActionObservation(found, { source: 'poll' }, unixSeconds(readAtMs))]);
      }
      return ok({ reader: toReaderResource(reader) });
    }

    const payment: PaymentRecord | undefined = named ?? (held === null ? undefined : await getPayment(held));
    const subject = payment === undefined ? requestId : `${payment.id}:${payment.attempts}`;
    let cleared: typeof found;
    try {
      cleared = await cancelReaderAction(params.id, subject);
    } catch (error) {
      if (stripeErrorCode(error) === 'terminal_reader_busy') {
        throw new ReaderBusyError('A card is being authorized on the reader. Try again in a few seconds.');
      }
      throw toApiError(error, { notFound: 'reader' });
    }

    if (payment !== undefined && reader.action.status === 'in_progress') {
      const now = new Date();
      await applyToPayment(payment, [canceledActionObservation(payment, params.id, now)], now);
    }
    return ok({ reader: toReaderResource(readerSnapshot(cleared)) });
  },
  { params: ReaderIdParams, body: Body },
);

/**
 * Read a payment, and with `refresh` first re-read it from Stripe (the POS's "check status"; also how other
 * operations catch up when the record may be behind): the PaymentIntent with its latest charge and the latest
 * attempt's reader, applied through the reducer like any webhook.
 */
import type Stripe from 'stripe';
import type { Dependencies } from '../dependencies.ts';
import { paymentActionStatus } from '../payments/reader-action.ts';
import type { Observation, PaymentRecord } from '../payments/types.ts';
import { applyToPayment, getPayment } from '../store/payments.ts';
import { retrievePaymentIntent, retrieveReader } from '../stripe/calls.ts';
import { paymentIntentObservation, readerActionObservation, readerSnapshot } from '../stripe/snapshots.ts';
import { unixSeconds } from '../time.ts';
import { type Access, visiblePayment } from './access.ts';
import { refreshRefunds } from './refund-payment.ts';

/** The payment `id` as recorded, or (`refresh`) as Stripe holds it now. */
export async function readPayment(
  deps: Dependencies,
  id: string,
  access: Access,
  options: { refresh: boolean },
): Promise<PaymentRecord> {
  const stored = visiblePayment(access, await getPayment(deps.store, id));
  return options.refresh ? refreshRefunds(deps, await refreshPayment(deps, stored)) : stored;
}

/** A reader already read by the caller, and when that read started. */
export interface ReaderRead {
  reader: Stripe.Terminal.Reader | undefined;
  readAtMs: number;
}

/** Re-read the PaymentIntent and the latest attempt's reader (unless `alreadyRead`) and record what they show. */
export async function refreshPayment(
  deps: Dependencies,
  payment: PaymentRecord,
  alreadyRead?: ReaderRead,
): Promise<PaymentRecord> {
  // Reads are stamped with the time they started: what they show is at least that fresh.
  let readAtMs = deps.clock.now();
  const [firstRead, reader] = await Promise.all([
    retrievePaymentIntent(deps, payment.id),
    alreadyRead !== undefined || payment.readerId === null
      ? alreadyRead?.reader
      : retrieveReader(deps, payment.readerId),
  ]);
  let paymentIntent = firstRead;
  // Read side by side, the reader can already show the card authorized, or declined, while the PaymentIntent read,
  // answered a moment earlier, does not yet: read the PaymentIntent again, so the two agree (a decline's
  // `last_payment_error` is on the PaymentIntent by the time the reader shows it).
  const onReader = reader === undefined ? undefined : readerSnapshot(reader);
  const actionStatus = onReader === undefined ? null : paymentActionStatus(onReader, payment.id);
  const authorizedOnReader = actionStatus === 'succeeded';
  const declinedOnReader = actionStatus === 'failed' && onReader?.action?.failureCode === 'card_declined';
  const behind =
    paymentIntent.status === 'requires_payment_method' &&
    (authorizedOnReader || (declinedOnReader && paymentIntent.last_payment_error == null));
  if (behind) {
    readAtMs = deps.clock.now();
    paymentIntent = await retrievePaymentIntent(deps, payment.id);
  }
  const observations: Observation[] = [paymentIntentObservation(paymentIntent, { source: 'poll' }, readAtMs)];
  if (reader !== undefined) {
    const readerReadAt = alreadyRead?.readAtMs ?? readAtMs;
    observations.push(readerActionObservation(reader, { source: 'poll' }, unixSeconds(readerReadAt)));
  }
  return (await applyToPayment(deps.store, payment, observations, new Date(deps.clock.now()))).record;
}

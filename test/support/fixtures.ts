/**
 * Test data, in one place for unit tests, integration tests and the benchmarks: Stripe snapshots, payment records
 * and observations, built with the domain's own constructors so they hold what the API would have stored.
 */
import { newPaymentRecord, startProcessAttempt } from '../../shared/payments/record.ts';
import type {
  ChargeSnapshot,
  ObservationOrigin,
  PaymentIntentObservation,
  PaymentIntentSnapshot,
  PaymentRecord,
  ReaderActionObservation,
  ReaderActionStatus,
} from '../../shared/payments/types.ts';
import { unixSeconds } from '../../shared/time.ts';

export const PI = 'pi_123';
export const READER = 'tmr_A';
export const OTHER_READER = 'tmr_B';
/** 2026-11-26T10:00:00.000Z */
export const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);
export const at = (ms: number) => new Date(ms);

export function paymentIntent(overrides: Partial<PaymentIntentSnapshot> = {}): PaymentIntentSnapshot {
  return {
    id: PI,
    status: 'requires_payment_method',
    amount: 1299,
    currency: 'usd',
    amountCapturable: 0,
    amountReceived: 0,
    lastPaymentError: null,
    cancellationReason: null,
    tipAmount: 0,
    receiptEmail: null,
    latestCharge: null,
    ...overrides,
  };
}

/** A payment the API has just created (`requires_payment_method`, nothing else happened), as first stored. */
export function newPayment(input: {
  id: string;
  locationId: string;
  createdAt: Date;
  orderId?: string;
  amount?: number;
  captureMethod?: PaymentRecord['captureMethod'];
}): PaymentRecord {
  return newPaymentRecord(
    {
      paymentIntent: paymentIntent({ id: input.id, amount: input.amount ?? 1299 }),
      orderId: input.orderId ?? `order-${input.id}`,
      locationId: input.locationId,
      captureMethod: input.captureMethod ?? 'automatic',
      description: null,
      metadata: {},
    },
    input.createdAt,
  );
}

/** A new payment created at T0. */
export function aPayment(overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  const record = newPaymentRecord(
    {
      paymentIntent: paymentIntent(),
      orderId: 'order-1042',
      locationId: 'tml_A',
      captureMethod: 'manual',
      description: null,
      metadata: {},
    },
    at(T0),
  );
  return { ...record, version: 1, ...overrides };
}

/** A payment with attempts on the given readers, each started one minute after the previous (or at `startedAtMs`). */
export function processing(readers: string[] = [READER], startedAtMs?: number[]): PaymentRecord {
  let record = aPayment();
  readers.forEach((readerId, index) => {
    const started = startedAtMs?.[index] ?? T0 + (index + 1) * 60_000;
    record = startProcessAttempt(record, { readerId, startedAtMs: started }, at(started));
  });
  return record;
}

export function piObservation(
  overrides: Partial<PaymentIntentSnapshot>,
  observedAtMs: number,
  origin: ObservationOrigin = { source: 'webhook' },
): PaymentIntentObservation {
  return { kind: 'payment_intent', origin, observedAtMs, paymentIntent: paymentIntent(overrides) };
}

export function charge(overrides: Partial<ChargeSnapshot> = {}): ChargeSnapshot {
  return {
    id: 'ch_1',
    paymentIntentId: PI,
    status: 'succeeded',
    brand: 'visa',
    last4: '4242',
    paymentMethodType: 'card_present',
    amountRefunded: 0,
    receipt: null,
    captureBefore: null,
    created: unixSeconds(T0) + 120,
    ...overrides,
  };
}

export function readerAction(
  status: ReaderActionStatus,
  createdSeconds: number,
  options: {
    readerId?: string;
    paymentIntentId?: string | null;
    failureCode?: string;
    origin?: ObservationOrigin;
    forAttempt?: number;
    noAction?: boolean;
  } = {},
): ReaderActionObservation {
  const observation: ReaderActionObservation = {
    kind: 'reader_action',
    origin: options.origin ?? { source: 'webhook', eventId: `evt_${createdSeconds}_${status}` },
    readerId: options.readerId ?? READER,
    action: options.noAction
      ? null
      : {
          type: 'process_payment_intent',
          status,
          failureCode: options.failureCode ?? null,
          failureMessage: options.failureCode ? 'Your card was declined.' : null,
          paymentIntentId: options.paymentIntentId === undefined ? PI : options.paymentIntentId,
        },
    createdSeconds,
  };
  if (options.forAttempt !== undefined) observation.forAttempt = options.forAttempt;
  return observation;
}

/** Unix seconds, as Stripe's `created`. */
export const sec = unixSeconds;

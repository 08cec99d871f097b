/** Builders for payment records and observations used by the domain's unit tests. */
import { newPaymentRecord, startProcessAttempt } from '../../../shared/payments/record.ts';
import type {
  ChargeSnapshot,
  ObservationOrigin,
  PaymentIntentObservation,
  PaymentIntentSnapshot,
  PaymentRecord,
  ReaderActionObservation,
  ReaderActionStatus,
} from '../../../shared/payments/types.ts';

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
    latestCharge: null,
    ...overrides,
  };
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
    captureBefore: null,
    created: Math.floor(T0 / 1000) + 120,
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

export const sec = (ms: number) => Math.floor(ms / 1000);

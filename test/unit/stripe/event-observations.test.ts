import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { newPaymentRecord, startProcessAttempt } from '../../../shared/payments/record.ts';
import { applyObservation } from '../../../shared/payments/reducer.ts';
import type { PaymentRecord, ReaderActionObservation } from '../../../shared/payments/types.ts';
import {
  mayBelongToUnrecordedAttempt,
  observationsFromEvent,
  type PaymentEvent,
  parseQueuedEvent,
} from '../../../shared/stripe/event-observations.ts';

const CREATED = 1_790_000_000;
const PI = 'pi_123';

function event(type: string, object: Record<string, unknown>, id = 'evt_1') {
  return {
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: CREATED,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

function paymentIntent(overrides: Record<string, unknown> = {}) {
  return {
    id: PI,
    object: 'payment_intent',
    status: 'requires_capture',
    amount: 1500,
    currency: 'usd',
    amount_capturable: 1500,
    amount_received: 0,
    last_payment_error: null,
    cancellation_reason: null,
    latest_charge: 'ch_1',
    ...overrides,
  };
}

function reader(action: Record<string, unknown> | null, id = 'tmr_A') {
  return { id, object: 'terminal.reader', device_type: 'simulated_wisepos_e', location: 'tml_1', action };
}

function processAction(status: string, failureCode: string | null = null, paymentIntentRef: unknown = PI) {
  return {
    type: 'process_payment_intent',
    status,
    failure_code: failureCode,
    failure_message: failureCode === null ? null : 'Failure message.',
    process_payment_intent: { payment_intent: paymentIntentRef },
  };
}

function charge(overrides: Record<string, unknown> = {}) {
  return {
    id: 'ch_1',
    object: 'charge',
    status: 'succeeded',
    created: CREATED,
    payment_intent: PI,
    amount_refunded: 0,
    payment_method_details: {
      type: 'card_present',
      card_present: { brand: 'visa', last4: '4242', capture_before: CREATED + 172_800 },
    },
    ...overrides,
  };
}

function parsePayment(body: unknown): PaymentEvent {
  const queued = parseQueuedEvent(JSON.stringify(body));
  if (queued.kind !== 'payment') throw new Error(`expected a payment event, got ${JSON.stringify(queued)}`);
  return queued;
}

describe('parseQueuedEvent', () => {
  it.each([
    ['a body that is not JSON', 'not json at all', 'not_json'],
    ['JSON that is not an event', JSON.stringify({ hello: 'world' }), 'not_an_event'],
    ['an event without data', JSON.stringify({ ...event('payment_intent.succeeded', {}), data: null }), 'not_an_event'],
    [
      'a PaymentIntent event carrying a reader',
      JSON.stringify(event('payment_intent.succeeded', reader(null))),
      'unexpected_object',
    ],
    [
      'a reader event carrying a PaymentIntent',
      JSON.stringify(event('terminal.reader.action_succeeded', paymentIntent())),
      'unexpected_object',
    ],
    [
      'a charge event without a status',
      JSON.stringify(event('charge.succeeded', charge({ status: 7 }))),
      'unexpected_object',
    ],
  ])('calls %s poison', (_case, body, reason) => {
    // Act
    const queued = parseQueuedEvent(body);

    // Assess
    expect(queued).toMatchObject({ kind: 'poison', reason });
  });

  it('ignores a well-formed event of a type the system does not use', () => {
    // Act
    const queued = parseQueuedEvent(JSON.stringify(event('customer.created', { id: 'cus_1', object: 'customer' })));

    // Assess
    expect(queued).toEqual({
      kind: 'ignored',
      event: { id: 'evt_1', type: 'customer.created', created: CREATED },
      reason: 'unhandled_type',
    });
  });
});

describe('observationsFromEvent', () => {
  it.each([
    'payment_intent.amount_capturable_updated',
    'payment_intent.succeeded',
    'payment_intent.payment_failed',
    'payment_intent.canceled',
  ])('maps %s to a PaymentIntent observation stamped with the event time', (type) => {
    // Prepare
    const body = event(type, paymentIntent({ status: 'canceled', cancellation_reason: 'abandoned' }), 'evt_pi');

    // Act
    const queued = parsePayment(body);

    // Assess
    expect(queued.paymentIntentId).toBe(PI);
    expect(queued.readPaymentIntent).toBe(false);
    expect(queued.observations).toEqual([
      {
        kind: 'payment_intent',
        origin: { source: 'webhook', eventId: 'evt_pi', eventType: type },
        observedAtMs: CREATED * 1000,
        paymentIntent: {
          id: PI,
          status: 'canceled',
          amount: 1500,
          currency: 'usd',
          amountCapturable: 1500,
          amountReceived: 0,
          lastPaymentError: null,
          cancellationReason: 'abandoned',
          tipAmount: 0,
          receiptEmail: null,
          // Webhooks carry the charge id only; card details come from the charge event.
          latestCharge: null,
        },
      },
    ]);
  });

  it('keeps the decline of a payment_failed event', () => {
    // Prepare
    const lastPaymentError = {
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Insufficient funds.',
    };
    const body = event(
      'payment_intent.payment_failed',
      paymentIntent({ status: 'requires_payment_method', last_payment_error: lastPaymentError }),
    );

    // Act
    const [observation] = parsePayment(body).observations;

    // Assess
    expect(observation).toMatchObject({
      paymentIntent: {
        status: 'requires_payment_method',
        lastPaymentError: { code: 'card_declined', declineCode: 'insufficient_funds', message: 'Insufficient funds.' },
      },
    });
  });

  it('maps charge.succeeded to the card details and capture deadline of its PaymentIntent', () => {
    // Act
    const queued = parsePayment(event('charge.succeeded', charge(), 'evt_ch'));

    // Assess
    expect(queued.paymentIntentId).toBe(PI);
    expect(queued.observations).toEqual([
      {
        kind: 'charge',
        origin: { source: 'webhook', eventId: 'evt_ch', eventType: 'charge.succeeded' },
        charge: {
          id: 'ch_1',
          paymentIntentId: PI,
          status: 'succeeded',
          brand: 'visa',
          last4: '4242',
          paymentMethodType: 'card_present',
          amountRefunded: 0,
          receipt: {
            readMethod: null,
            applicationPreferredName: null,
            dedicatedFileName: null,
            authorizationCode: null,
            authorizationResponseCode: null,
            accountType: null,
            applicationCryptogram: null,
            terminalVerificationResults: null,
            transactionStatusInformation: null,
          },
          captureBefore: CREATED + 172_800,
          created: CREATED,
        },
      },
    ]);
  });

  it('ignores a charge that belongs to no PaymentIntent', () => {
    // Act
    const queued = observationsFromEvent(
      event('charge.succeeded', charge({ payment_intent: null })) as unknown as Stripe.Event,
    );

    // Assess
    expect(queued).toMatchObject({ kind: 'ignored', reason: 'charge_without_payment_intent' });
  });

  it.each([
    ['terminal.reader.action_succeeded', processAction('succeeded'), 'succeeded', null, false],
    ['terminal.reader.action_failed', processAction('failed', 'card_declined'), 'failed', 'card_declined', false],
    [
      'terminal.reader.action_failed',
      processAction('failed', 'customer_canceled'),
      'failed',
      'customer_canceled',
      false,
    ],
    // Only the PaymentIntent can tell whether a connection error hid an authorization.
    ['terminal.reader.action_failed', processAction('failed', 'connection_error'), 'failed', 'connection_error', true],
  ])('maps %s (%o) to a reader-action observation of the PaymentIntent', (type, action, status, failureCode, read) => {
    // Act
    const queued = parsePayment(event(type, reader(action), 'evt_rd'));

    // Assess
    const expected: ReaderActionObservation = {
      kind: 'reader_action',
      origin: { source: 'webhook', eventId: 'evt_rd', eventType: type },
      readerId: 'tmr_A',
      action: {
        type: 'process_payment_intent',
        status: status as 'succeeded' | 'failed',
        failureCode,
        failureMessage: failureCode === null ? null : 'Failure message.',
        paymentIntentId: PI,
      },
      createdSeconds: CREATED,
    };
    expect(queued.paymentIntentId).toBe(PI);
    expect(queued.observations).toEqual([expected]);
    expect(queued.readerObservation).toEqual(expected);
    expect(queued.readPaymentIntent).toBe(read);
  });

  it('reads the PaymentIntent id of an expanded action', () => {
    // Act
    const queued = parsePayment(
      event('terminal.reader.action_succeeded', reader(processAction('succeeded', null, { id: PI }))),
    );

    // Assess
    expect(queued.paymentIntentId).toBe(PI);
  });

  it.each([
    ['a reader with no action', reader(null), 'no_reader_action'],
    [
      'a collect_payment_method action',
      reader({ type: 'collect_payment_method', status: 'succeeded', collect_payment_method: { payment_intent: PI } }),
      'not_a_payment_action',
    ],
    ['a refund action', reader({ type: 'refund_payment', status: 'succeeded' }), 'not_a_payment_action'],
  ])('ignores %s', (_case, object, reason) => {
    // Act
    const queued = parseQueuedEvent(JSON.stringify(event('terminal.reader.action_updated', object)));

    // Assess
    expect(queued).toMatchObject({ kind: 'ignored', reason });
  });

  it('produces observations the reducer applies to the payment, with the event in its audit trail', () => {
    // Prepare
    const record = startProcessAttempt(payment(), { readerId: 'tmr_A', startedAtMs: (CREATED - 5) * 1000 }, new Date());
    const queued = parsePayment(
      event('terminal.reader.action_succeeded', reader(processAction('succeeded')), 'evt_ok'),
    );

    // Act
    const result = applyObservation(record, queued.observations[0]!, new Date());

    // Assess
    expect(result.verdict).toBe('applied');
    expect(result.record.readerAction?.status).toBe('succeeded');
    expect(result.record.history.at(-1)).toMatchObject({
      source: 'webhook',
      eventId: 'evt_ok',
      eventType: 'terminal.reader.action_succeeded',
    });
  });
});

function payment(): PaymentRecord {
  const snapshot = {
    id: PI,
    status: 'requires_payment_method',
    amount: 1500,
    currency: 'usd',
    amountCapturable: 0,
    amountReceived: 0,
    lastPaymentError: null,
    cancellationReason: null,
    tipAmount: 0,
    receiptEmail: null,
    latestCharge: null,
  };
  const input = {
    orderId: 'o1',
    locationId: 'tml_1',
    captureMethod: 'manual' as const,
    description: null,
    metadata: {},
  };
  return newPaymentRecord({ paymentIntent: snapshot, ...input }, new Date((CREATED - 60) * 1000));
}

/** A record whose current attempt ran on `readerId` from `startedSecond` and, if given, ended in `endedSecond`. */
function withAttempt(readerId: string, startedSecond: number, endedSecond?: number): PaymentRecord {
  let record = startProcessAttempt(payment(), { readerId, startedAtMs: startedSecond * 1000 + 400 }, new Date());
  if (endedSecond !== undefined) {
    const failed = readerEvent('failed', readerId, endedSecond);
    record = applyObservation(record, failed, new Date(endedSecond * 1000 + 300)).record;
  }
  return record;
}

function readerEvent(
  status: 'in_progress' | 'succeeded' | 'failed',
  readerId: string,
  createdSeconds: number,
  paymentIntentId = PI,
) {
  const observation: ReaderActionObservation = {
    kind: 'reader_action',
    origin: { source: 'webhook', eventId: 'evt_x', eventType: 'terminal.reader.action_failed' },
    readerId,
    action: {
      type: 'process_payment_intent',
      status,
      failureCode: status === 'failed' ? 'card_declined' : null,
      failureMessage: null,
      paymentIntentId,
    },
    createdSeconds,
  };
  return observation;
}

describe('mayBelongToUnrecordedAttempt', () => {
  const T = CREATED;
  it.each([
    ['the record has no attempt yet', payment(), readerEvent('succeeded', 'tmr_A', T), true],
    ['no recorded attempt ran on its reader', withAttempt('tmr_B', T - 3), readerEvent('succeeded', 'tmr_A', T), true],
    // Every attempt is recorded before its command is sent: an event from a reader the log knows is about a
    // recorded attempt.
    [
      'the current attempt on this reader ended in an earlier second',
      withAttempt('tmr_A', T - 5, T - 2),
      readerEvent('succeeded', 'tmr_A', T),
      false,
    ],
    // The reducer settles these by itself.
    [
      'the event belongs to the running attempt',
      withAttempt('tmr_A', T - 5),
      readerEvent('succeeded', 'tmr_A', T),
      false,
    ],
    [
      'the event is the one that ended the current attempt',
      withAttempt('tmr_A', T - 5, T),
      readerEvent('failed', 'tmr_A', T),
      false,
    ],
    [
      'the event is older than the attempt on another reader',
      withAttempt('tmr_B', T),
      readerEvent('failed', 'tmr_A', T - 2),
      false,
    ],
    [
      'the event comes from the second the other reader started',
      withAttempt('tmr_B', T),
      readerEvent('failed', 'tmr_A', T),
      false,
    ],
    ['the action is still running', payment(), readerEvent('in_progress', 'tmr_A', T), false],
    ['the action is another PaymentIntent’s', payment(), readerEvent('succeeded', 'tmr_A', T, 'pi_other'), false],
  ])('when %s', (_case, record, observation, expected) => {
    // Act
    const unrecorded = mayBelongToUnrecordedAttempt(record, observation);

    // Assess
    expect(unrecorded).toBe(expected);
  });

  it('agrees with the reducer: whatever it flags, the reducer would not apply', () => {
    // Prepare
    const cases = [payment(), withAttempt('tmr_B', T - 3), withAttempt('tmr_A', T - 5, T - 2)];

    // Act
    const verdicts = cases.map(
      (record) => applyObservation(record, readerEvent('succeeded', 'tmr_A', T), new Date()).changed,
    );

    // Assess
    expect(verdicts).toEqual([false, false, false]);
  });
});

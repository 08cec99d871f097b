import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HISTORY_LIMIT, startProcessAttempt, withFlag } from '../../../shared/payments/record.ts';
import { applyObservation, applyObservations, CLOCK_SKEW_SECONDS } from '../../../shared/payments/reducer.ts';
import type { Observation, PaymentRecord, PaymentStatus } from '../../../shared/payments/types.ts';
import {
  aPayment,
  at,
  charge,
  OTHER_READER,
  PI,
  piObservation,
  processing,
  READER,
  readerAction,
  sec,
  T0,
} from '../../support/fixtures.ts';

const NOW = at(T0 + 10 * 60_000);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

describe('applyObservation: PaymentIntent status', () => {
  it.each<[PaymentStatus, PaymentStatus, boolean]>([
    ['requires_payment_method', 'processing', true],
    ['requires_payment_method', 'requires_capture', true],
    ['requires_payment_method', 'succeeded', true],
    ['processing', 'requires_capture', true],
    ['requires_capture', 'succeeded', true],
    ['requires_capture', 'canceled', true],
    ['requires_capture', 'processing', false],
    ['requires_capture', 'requires_payment_method', false],
    ['succeeded', 'canceled', false],
    ['canceled', 'succeeded', false],
    ['canceled', 'requires_payment_method', false],
    ['succeeded', 'requires_capture', false],
  ])('from %s, a newer %s snapshot is accepted: %s', (from, to, accepted) => {
    // Prepare
    const record = aPayment({ status: from, paymentIntentObservedAtMs: T0 });

    // Act
    const result = applyObservation(record, piObservation({ status: to }, T0 + 5_000), NOW);

    // Assess
    expect(result.record.status).toBe(accepted ? to : from);
    expect(result.changed).toBe(accepted);
    expect(result.verdict).toBe(accepted ? 'applied' : 'stale');
  });

  it('lets a decline return a processing PaymentIntent to requires_payment_method, with the error', () => {
    // Prepare
    const record = aPayment({ status: 'processing', paymentIntentObservedAtMs: T0 });
    const error = {
      code: 'card_declined',
      declineCode: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    };

    // Act
    const result = applyObservation(
      record,
      piObservation({ status: 'requires_payment_method', lastPaymentError: error }, T0 + 1_000),
      NOW,
    );

    // Assess
    expect(result.record.status).toBe('requires_payment_method');
    expect(result.record.lastPaymentError).toEqual(error);
  });

  it.each([
    ['without a payment error', 'processing', null, T0 + 1_000],
    [
      'from requires_capture',
      'requires_capture',
      { code: 'card_declined', declineCode: null, message: 'x' },
      T0 + 1_000,
    ],
    ['older than the record', 'processing', { code: 'card_declined', declineCode: null, message: 'x' }, T0 - 1_000],
  ] as const)('refuses a return to requires_payment_method %s', (_, from, lastPaymentError, observedAtMs) => {
    // Prepare
    const record = aPayment({ status: from, paymentIntentObservedAtMs: T0 });

    // Act
    const result = applyObservation(
      record,
      piObservation({ status: 'requires_payment_method', lastPaymentError }, observedAtMs),
      NOW,
    );

    // Assess
    expect(result.record).toBe(record);
    expect(result.verdict).toBe('stale');
  });

  it('takes same-status details only from a snapshot at least as new as the record', () => {
    // Prepare
    const declined = { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' };
    const record = aPayment({ lastPaymentError: declined, paymentIntentObservedAtMs: T0 + 5_000 });

    // Act
    const older = applyObservation(record, piObservation({ lastPaymentError: null }, T0), NOW);
    const newer = applyObservation(record, piObservation({ lastPaymentError: null }, T0 + 6_000), NOW);

    // Assess
    expect(older.record.lastPaymentError).toEqual(declined);
    expect(older.verdict).toBe('stale');
    expect(newer.record.lastPaymentError).toBeNull();
  });

  it('ignores a snapshot of another PaymentIntent and unknown statuses', () => {
    // Prepare
    const record = aPayment();

    // Act
    const other = applyObservation(record, piObservation({ id: 'pi_other', status: 'succeeded' }, T0 + 1), NOW);
    const unknown = applyObservation(record, piObservation({ status: 'requires_reauthorization' }, T0 + 1), NOW);

    // Assess
    expect(other.verdict).toBe('stale');
    expect(unknown.verdict).toBe('stale');
    expect(other.record.status).toBe('requires_payment_method');
  });

  it('follows amounts from the accepted snapshot', () => {
    // Prepare
    const record = aPayment({ status: 'requires_capture', amountCapturable: 1299 });

    // Act
    const result = applyObservation(
      record,
      piObservation({ status: 'succeeded', amountCapturable: 0, amountReceived: 1000, amount: 1299 }, T0 + 10_000),
      NOW,
    );

    // Assess
    expect(result.record).toMatchObject({ amountCapturable: 0, amountReceived: 1000, status: 'succeeded' });
  });

  it('does not mutate the record it is given', () => {
    // Prepare
    const record = deepFreeze(processing());

    // Act
    const act = () =>
      applyObservations(
        record,
        [
          piObservation({ status: 'requires_capture', latestCharge: charge() }, T0 + 200_000),
          readerAction('succeeded', sec(T0) + 200),
        ],
        NOW,
      );

    // Assess
    expect(act).not.toThrow();
    expect(record.status).toBe('requires_payment_method');
  });
});

describe('applyObservation: authorization and capture deadline', () => {
  it('records the authorization time and the charge’s capture_before while requires_capture', () => {
    // Prepare
    const record = processing();
    const captureBefore = sec(T0) + 3 * 24 * 3600;
    const authorized = charge({ captureBefore, created: sec(T0) + 100 });

    // Act
    const result = applyObservation(
      record,
      piObservation({ status: 'requires_capture', amountCapturable: 1299, latestCharge: authorized }, T0 + 101_000),
      NOW,
    );

    // Assess
    expect(result.record).toMatchObject({
      status: 'requires_capture',
      authorizedAt: new Date((sec(T0) + 100) * 1000).toISOString(),
      captureBefore: new Date(captureBefore * 1000).toISOString(),
      card: { brand: 'visa', last4: '4242' },
      chargeId: 'ch_1',
    });
  });

  it('defaults the deadline to two days after authorization when Stripe gives none', () => {
    // Prepare
    const record = processing();

    // Act
    const result = applyObservation(record, piObservation({ status: 'requires_capture' }, T0 + 100_000), NOW);

    // Assess
    expect(result.record.authorizedAt).toBe(new Date(T0 + 100_000).toISOString());
    expect(result.record.captureBefore).toBe(new Date(T0 + 100_000 + 2 * 24 * 3600 * 1000).toISOString());
  });

  it('takes a later charge’s capture_before over the default', () => {
    // Prepare
    const authorized = applyObservation(processing(), piObservation({ status: 'requires_capture' }, T0 + 100_000), NOW);
    const captureBefore = sec(T0) + 5 * 24 * 3600;

    // Act
    const result = applyObservation(
      authorized.record,
      { kind: 'charge', origin: { source: 'webhook' }, charge: charge({ captureBefore }) },
      NOW,
    );

    // Assess
    expect(result.record.captureBefore).toBe(new Date(captureBefore * 1000).toISOString());
  });

  it('raises authorization_expired when an authorization lapses, and clears capture_deadline_approaching', () => {
    // Prepare
    const record = withFlag(aPayment({ status: 'requires_capture' }), 'capture_deadline_approaching', NOW);

    // Act
    const result = applyObservation(
      record,
      piObservation({ status: 'canceled', cancellationReason: 'expired' }, T0 + 3 * 24 * 3600 * 1000),
      NOW,
    );

    // Assess
    expect(result.record.flags).toEqual(['authorization_expired']);
  });

  it('does not raise authorization_expired for a cancel the POS asked for', () => {
    // Prepare
    const record = aPayment({ status: 'requires_capture' });

    // Act
    const result = applyObservation(
      record,
      piObservation({ status: 'canceled', cancellationReason: 'requested_by_customer' }, T0 + 1_000),
      NOW,
    );

    // Assess
    expect(result.record.flags).toEqual([]);
  });

  it('marks an in-progress reader action succeeded once the PaymentIntent is authorized', () => {
    // Prepare
    const record = withFlag(processing(), 'reader_stuck', NOW);

    // Act
    const result = applyObservation(record, piObservation({ status: 'requires_capture' }, T0 + 100_000), NOW);

    // Assess
    expect(result.record.readerAction?.status).toBe('succeeded');
    expect(result.record.flags).not.toContain('reader_stuck');
  });

  it('ignores a failed charge (declined cards give no receipt card) and another PaymentIntent’s charge', () => {
    // Prepare
    const record = processing();

    // Act
    const failed = applyObservation(
      record,
      { kind: 'charge', origin: { source: 'webhook' }, charge: charge({ status: 'failed' }) },
      NOW,
    );
    const other = applyObservation(
      record,
      { kind: 'charge', origin: { source: 'webhook' }, charge: charge({ paymentIntentId: 'pi_other' }) },
      NOW,
    );

    // Assess
    expect(failed.record.card).toBeNull();
    expect(failed.changed).toBe(false);
    expect(other.verdict).toBe('stale');
  });
});

describe('applyObservation: reader actions and attempts', () => {
  const start = T0 + 60_000;

  it.each([
    ['created the second the attempt started', sec(start), 'applied'],
    ['created after the attempt started', sec(start) + 5, 'applied'],
    // Only this attempt ran on the reader: Stripe's clock a second behind ours must not make it look stale.
    ['created a second before the attempt started', sec(start) - 1, 'applied'],
  ])('applies an action %s: %s', (_, created, verdict) => {
    // Prepare
    const record = processing([READER], [start]);

    // Act
    const result = applyObservation(record, readerAction('succeeded', created), NOW);

    // Assess
    expect(result.verdict).toBe(verdict);
    expect(result.record.readerAction?.status).toBe(verdict === 'applied' ? 'succeeded' : 'in_progress');
  });

  it.each([
    ['from the second the attempt started', 0, 'ambiguous'],
    ['from a second before it (Stripe’s clock may be behind)', -1, 'ambiguous'],
    [`from ${CLOCK_SKEW_SECONDS} seconds before it`, -CLOCK_SKEW_SECONDS, 'ambiguous'],
    [`from ${CLOCK_SKEW_SECONDS + 1} seconds before it`, -CLOCK_SKEW_SECONDS - 1, 'stale'],
    ['from a second after it', 1, 'applied'],
  ])('after an earlier attempt on the same reader, calls an event %s %s', (_, offset, verdict) => {
    // Prepare
    const record = processing([READER, READER], [start - 30_000, start]);

    // Act
    const result = applyObservation(record, readerAction('failed', sec(start) + offset), NOW);

    // Assess
    expect(result.verdict).toBe(verdict);
  });

  it('ignores an action on another reader than the current attempt’s', () => {
    // Prepare
    const record = processing([READER, OTHER_READER], [start, start + 30_000]);

    // Act
    const result = applyObservation(record, readerAction('failed', sec(start) + 40, { readerId: READER }), NOW);

    // Assess
    expect(result.verdict).toBe('stale');
    expect(result.record.readerId).toBe(OTHER_READER);
    expect(result.record.readerAction?.status).toBe('in_progress');
  });

  it('calls an action ambiguous when it was created in the start second and an earlier attempt ran on the same reader', () => {
    // Prepare
    const record = processing([READER, READER], [start + 200, start + 700]);

    // Act
    const result = applyObservation(record, readerAction('failed', sec(start), { failureCode: 'card_declined' }), NOW);

    // Assess
    expect(result.verdict).toBe('ambiguous');
    expect(result.changed).toBe(false);
  });

  it('applies an action in the start second when the earlier attempt was on another reader', () => {
    // Prepare
    const record = processing([OTHER_READER, READER], [start + 200, start + 700]);

    // Act
    const result = applyObservation(record, readerAction('failed', sec(start), { failureCode: 'card_declined' }), NOW);

    // Assess
    expect(result.verdict).toBe('applied');
    expect(result.record.readerAction).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
  });

  it('treats a terminal action as final: a late in_progress or a contradicting failure changes nothing', () => {
    // Prepare
    const succeeded = applyObservation(
      processing([READER], [start]),
      readerAction('succeeded', sec(start) + 5),
      NOW,
    ).record;

    // Act
    const lateProgress = applyObservation(succeeded, readerAction('in_progress', sec(start) + 1), NOW);
    const lateFailure = applyObservation(
      succeeded,
      readerAction('failed', sec(start) + 9, { failureCode: 'connection_error' }),
      NOW,
    );

    // Assess
    expect(lateProgress.record).toBe(succeeded);
    expect(lateFailure.record).toBe(succeeded);
    expect(lateFailure.verdict).toBe('unchanged');
  });

  it('matches the backend’s own command answer by attempt number, whatever its time', () => {
    // Prepare
    const record = processing([READER, READER], [start, start + 100]);

    // Act
    const current = applyObservation(
      record,
      readerAction('failed', 0, { forAttempt: 2, failureCode: 'card_declined' }),
      NOW,
    );
    const earlier = applyObservation(record, readerAction('failed', 0, { forAttempt: 1 }), NOW);

    // Assess
    expect(current.verdict).toBe('applied');
    expect(earlier.verdict).toBe('stale');
  });

  it('ignores reader actions while the payment has no attempt', () => {
    // Prepare
    const record = aPayment();

    // Act
    const result = applyObservation(record, readerAction('succeeded', sec(T0) + 10), NOW);

    // Assess
    expect(result.verdict).toBe('stale');
  });

  it('clears reader_stuck when the action ends', () => {
    // Prepare
    const record = withFlag(processing([READER], [start]), 'reader_stuck', NOW);

    // Act
    const result = applyObservation(
      record,
      readerAction('failed', sec(start) + 3, { failureCode: 'customer_canceled' }),
      NOW,
    );

    // Assess
    expect(result.record.flags).toEqual([]);
  });

  it.each([
    ['no action', { noAction: true }, 'failed'],
    ['another payment’s action', { paymentIntentId: 'pi_other' }, 'failed'],
  ] as const)('learns from a read showing %s that the attempt ended', (_, options, status) => {
    // Prepare
    const record = processing([READER], [start]);

    // Act
    const result = applyObservation(
      record,
      readerAction('in_progress', sec(start) + 30, { ...options, origin: { source: 'poll' } }),
      NOW,
    );

    // Assess
    expect(result.record.readerAction).toMatchObject({ status, failureCode: 'canceled' });
  });

  it('reads a vanished action as succeeded when the PaymentIntent is authorized', () => {
    // Prepare
    const authorized = { ...processing([READER], [start]), status: 'requires_capture' as const };

    // Act
    const result = applyObservation(
      authorized,
      readerAction('in_progress', sec(start) + 30, { noAction: true, origin: { source: 'poll' } }),
      NOW,
    );

    // Assess
    expect(result.record.readerAction?.status).toBe('succeeded');
  });

  it.each([
    ['a read in the start second', { source: 'poll' as const }, 0],
    ['a webhook', { source: 'webhook' as const }, 30],
  ])('does not conclude the attempt ended from %s', (_, origin, offset) => {
    // Prepare
    const record = processing([READER], [start]);

    // Act
    const result = applyObservation(
      record,
      readerAction('in_progress', sec(start) + offset, { noAction: true, origin }),
      NOW,
    );

    // Assess
    expect(result.verdict).toBe('stale');
  });

  it('keeps a bounded audit trail with event ids', () => {
    // Prepare
    let record: PaymentRecord = aPayment();

    // Act
    for (let i = 0; i < 40; i += 1) {
      record = startProcessAttempt(record, { readerId: READER, startedAtMs: T0 + i * 60_000 }, at(T0 + i * 60_000));
      record = applyObservation(
        record,
        readerAction('failed', sec(T0 + i * 60_000) + 1, {
          failureCode: 'card_declined',
          origin: { source: 'webhook', eventId: `evt_${i}`, eventType: 'terminal.reader.action_failed' },
        }),
        at(T0 + i * 60_000 + 1_000),
      ).record;
    }

    // Assess
    expect(record.history).toHaveLength(HISTORY_LIMIT);
    expect(record.history.at(-1)).toMatchObject({
      source: 'webhook',
      eventId: 'evt_39',
      eventType: 'terminal.reader.action_failed',
    });
    expect(record.attempts).toBe(40);
  });
});

describe('applyObservation: order safety', () => {
  const start = T0 + 60_000;
  const startSecond = sec(start);
  const authorizedCharge = charge({ created: startSecond + 4, captureBefore: startSecond + 2 * 24 * 3600 });
  /** Everything Stripe announces for a decline on attempt 1 and an approval on attempt 2, on one reader. */
  const declineThenApproval: Observation[] = [
    piObservation({ status: 'requires_payment_method' }, start - 1_000),
    readerAction('in_progress', startSecond),
    readerAction('failed', startSecond + 2, { failureCode: 'card_declined' }),
    piObservation(
      {
        status: 'requires_payment_method',
        lastPaymentError: { code: 'card_declined', declineCode: 'generic_decline', message: 'x' },
      },
      (startSecond + 2) * 1000,
    ),
  ];
  const approval: Observation[] = [
    readerAction('succeeded', startSecond + 64),
    piObservation(
      { status: 'requires_capture', amountCapturable: 1299, latestCharge: authorizedCharge },
      (startSecond + 64) * 1000,
    ),
    { kind: 'charge', origin: { source: 'webhook' }, charge: authorizedCharge },
  ];

  it('reaches the same state whatever order the second attempt’s events arrive in, duplicates included', () => {
    // Prepare
    let afterDecline = processing([READER], [start]);
    afterDecline = applyObservations(afterDecline, declineThenApproval, NOW).record;
    const retried = startProcessAttempt(afterDecline, { readerId: READER, startedAtMs: start + 60_000 }, NOW);
    const late = [...declineThenApproval, ...approval];
    const expected = applyObservations(retried, approval, NOW).record;

    // Act & Assess
    fc.assert(
      fc.property(
        fc.shuffledSubarray(late, { minLength: late.length, maxLength: late.length }),
        fc.array(fc.nat(late.length - 1), { maxLength: 4 }),
        (order, duplicates) => {
          const deliveries = [...order, ...duplicates.map((index) => late[index]!)];
          const final = applyObservations(retried, deliveries, NOW).record;
          expect(final.status).toBe(expected.status);
          expect(final.readerAction?.status).toBe('succeeded');
          expect(final.amountCapturable).toBe(1299);
          expect(final.captureBefore).toBe(expected.captureBefore);
          expect(final.card).toEqual({ brand: 'visa', last4: '4242' });
        },
      ),
    );
  });

  it('never lets a final status move, whatever arrives after it', () => {
    // Prepare
    const statuses: PaymentStatus[] = [
      'requires_payment_method',
      'processing',
      'requires_capture',
      'succeeded',
      'canceled',
    ];

    // Act & Assess
    fc.assert(
      fc.property(
        fc.constantFrom<PaymentStatus>('succeeded', 'canceled'),
        fc.array(fc.record({ status: fc.constantFrom(...statuses), offset: fc.integer({ min: -5_000, max: 5_000 }) })),
        (finalStatus, later) => {
          const record = aPayment({ status: finalStatus, paymentIntentObservedAtMs: T0 });
          const final = applyObservations(
            record,
            later.map((o) => piObservation({ status: o.status, id: PI }, T0 + o.offset)),
            NOW,
          );
          expect(final.record.status).toBe(finalStatus);
        },
      ),
    );
  });
});

describe('applyObservation: reads that cannot end an attempt', () => {
  const started = T0 + 60_000;
  const laterRead = sec(started) + 5;
  const idleRead = (readerStatus: 'online' | 'offline') => ({
    ...readerAction('failed', laterRead, { origin: { source: 'poll' }, noAction: true }),
    readerStatus,
  });

  it.each([
    ['the reader is online and idle', 'online' as const, 'failed'],
    ['the reader is offline (its API state does not follow the device)', 'offline' as const, 'in_progress'],
  ])('a later read showing no action when %s leaves the action %s', (_case, readerStatus, expected) => {
    // Prepare
    const record = processing([READER], [started]);

    // Act
    const result = applyObservation(record, idleRead(readerStatus), at(started + 10_000));

    // Assess
    expect(result.record.readerAction?.status).toBe(expected);
  });

  it('a read that does not show the command cannot end an attempt whose command may be on its way, until its deadline', () => {
    // Prepare: a first attempt on the reader declined; the second is claimed, its answer due 20 s later
    const declined = applyObservation(
      processing([READER], [started - 60_000]),
      readerAction('failed', sec(started - 60_000) + 5, { failureCode: 'card_declined' }),
      at(started - 50_000),
    ).record;
    const claimed = startProcessAttempt(
      declined,
      { readerId: READER, startedAtMs: started, answerDueByMs: started + 20_000 },
      at(started),
    );

    // Act
    const during = applyObservation(claimed, idleRead('online'), at(started + 10_000));
    const earlierAttemptShown = applyObservation(
      claimed,
      readerAction('failed', laterRead, { origin: { source: 'poll' }, failureCode: 'card_declined' }),
      at(started + 10_000),
    );
    const after = applyObservation(claimed, idleRead('online'), at(started + 21_000));

    const landedAndDeclined = applyObservation(
      startProcessAttempt(
        aPayment(),
        { readerId: READER, startedAtMs: started, answerDueByMs: started + 20_000 },
        at(started),
      ),
      readerAction('failed', laterRead, { origin: { source: 'poll' }, failureCode: 'card_declined' }),
      at(started + 10_000),
    );

    // Assess
    expect(during).toMatchObject({ changed: false, verdict: 'stale' });
    expect(earlierAttemptShown).toMatchObject({ changed: false, verdict: 'stale' });
    expect(after.record.readerAction).toMatchObject({ status: 'failed', failureCode: 'canceled' });
    // Without an earlier attempt on the reader, its showing this payment's action proves the command arrived.
    expect(landedAndDeclined.record.readerAction).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
  });

  it('the reader’s own event still ends an attempt whose answer is on its way (a fast decline)', () => {
    // Prepare
    const claimed = startProcessAttempt(
      aPayment(),
      { readerId: READER, startedAtMs: started, answerDueByMs: started + 20_000 },
      at(started),
    );

    // Act
    const result = applyObservation(
      claimed,
      readerAction('failed', laterRead, { failureCode: 'card_declined' }),
      at(started + 2_000),
    );

    // Assess
    expect(result.record.readerAction).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
  });
});

describe('applyObservation: a write answer against a racing read', () => {
  it('keeps an amount change when a read sent before its answer arrived is applied after it', () => {
    // Prepare: a refresh's read is sent at T+100 ms and answered with the old amount; the PATCH's answer arrives at
    // T+300 ms (a write's answer is stamped when it arrives, a read with when it was sent)
    const record = aPayment({ amount: 1000, paymentIntentObservedAtMs: T0 });
    const patched = piObservation({ amount: 1500 }, T0 + 300, { source: 'api' });
    const staleRead = piObservation({ amount: 1000 }, T0 + 100, { source: 'poll' });

    // Act
    const readFirst = applyObservations(record, [staleRead, patched], NOW);
    const readLast = applyObservations(record, [patched, staleRead], NOW);

    // Assess
    expect(readFirst.record.amount).toBe(1500);
    expect(readLast.record.amount).toBe(1500);
  });
});

describe('applyObservation: tips and receipts', () => {
  it('takes the tip from the PaymentIntent once, whichever of its snapshots arrive and how often', () => {
    // Prepare
    const record = processing();
    const authorized = piObservation(
      { status: 'requires_capture', amount: 1499, amountCapturable: 1499, tipAmount: 200 },
      T0 + 120_000,
    );
    const captured = piObservation(
      { status: 'succeeded', amount: 1499, amountReceived: 1499, tipAmount: 200 },
      T0 + 180_000,
    );

    // Act
    const inOrder = applyObservations(record, [authorized, captured, authorized, captured], NOW).record;
    const reversed = applyObservations(record, [captured, authorized], NOW).record;

    // Assess
    for (const result of [inOrder, reversed]) {
      expect(result).toMatchObject({ status: 'succeeded', amount: 1499, amountReceived: 1499, tipAmount: 200 });
    }
  });

  it('keeps the receipt fields of the successful charge, not of a declined one', () => {
    // Prepare
    const receipt = {
      readMethod: 'contactless_emv',
      applicationPreferredName: 'Visa Credit',
      dedicatedFileName: 'A0000000031010',
      authorizationCode: '123456',
      authorizationResponseCode: '3030',
      accountType: 'credit',
      applicationCryptogram: 'CF6E1F1A4F2C1B3D',
      terminalVerificationResults: '0000000000',
      transactionStatusInformation: '0000',
    };
    const approved = { kind: 'charge' as const, origin: { source: 'webhook' as const }, charge: charge({ receipt }) };
    const declined = {
      kind: 'charge' as const,
      origin: { source: 'webhook' as const },
      charge: charge({ id: 'ch_2', status: 'failed', receipt: { ...receipt, authorizationCode: null } }),
    };

    // Act
    const result = applyObservations(processing(), [approved, declined], NOW).record;

    // Assess
    expect(result.receipt).toEqual(receipt);
  });
});

describe('applyObservation: a record read back from the table', () => {
  it('sees nothing new in a snapshot equal to what it holds, whatever the order of the stored keys', () => {
    // Prepare: DynamoDB keeps no order of a map's keys; the record read back holds them reversed.
    const receipt = {
      readMethod: 'contactless_emv',
      applicationPreferredName: 'Visa Credit',
      dedicatedFileName: 'A0000000031010',
      authorizationCode: '123456',
      authorizationResponseCode: '3030',
      accountType: 'credit',
      applicationCryptogram: 'CF6E1F1A4F2C1B3D',
      terminalVerificationResults: '0000000000',
      transactionStatusInformation: '0000',
    };
    const seen = { kind: 'charge' as const, origin: { source: 'webhook' as const }, charge: charge({ receipt }) };
    const recorded = applyObservations(processing(), [seen], NOW).record;
    const reversed = (value: object) => Object.fromEntries(Object.entries(value).reverse());
    const readBack = {
      ...recorded,
      receipt: reversed(recorded.receipt ?? {}) as typeof recorded.receipt,
      card: reversed(recorded.card ?? {}) as typeof recorded.card,
      readerAction: reversed(recorded.readerAction ?? {}) as typeof recorded.readerAction,
    };

    // Act
    const again = applyObservations(readBack, [seen], NOW);

    // Assess
    expect(again.changed).toBe(false);
  });
});

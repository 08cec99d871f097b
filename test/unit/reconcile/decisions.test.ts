/**
 * The reconciler's decisions over payment records (pure): which observations a stuck action's reads give, what
 * the reducer then makes of them, when a payment is flagged or its reader reset, and what an aging authorization
 * gets. Reads are taken well after the attempt started, as the reconciler's always are.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withFlag } from '../../../shared/payments/record.ts';
import { applyObservations } from '../../../shared/payments/reducer.ts';
import type {
  PaymentIntentSnapshot,
  PaymentRecord,
  ReaderActionSnapshot,
  ReaderSnapshot,
} from '../../../shared/payments/types.ts';
import {
  agingAuthorizationNeedsRead,
  canceledByReconcilerObservation,
  decideStaleAuthorization,
  decideStuckAction,
  isPastCaptureDeadline,
  markCaptureDeadlineApproaching,
  markReaderStuck,
  stuckActionObservations,
  stuckAttempt,
} from '../../../shared/reconcile/decisions.ts';
import {
  aPayment,
  at,
  charge,
  PI,
  paymentIntent,
  piObservation,
  processing,
  READER,
  readerAction,
  sec,
  T0,
} from '../../support/fixtures.ts';

/** The attempt started at T0 + 1 min; the reads are five minutes later. */
const STARTED = T0 + 60_000;
const READ_AT = STARTED + 5 * 60_000;
const NOW = at(READ_AT + 200);
const AUTO_CANCEL_AFTER_MS = 4 * 60_000;

function reader(status: 'online' | 'offline', action: ReaderActionSnapshot | null): ReaderSnapshot {
  return {
    id: READER,
    label: 'Register 1',
    locationId: 'tml_A',
    deviceType: 'simulated_wisepos_e',
    status,
    action,
    lastSeenAt: null,
    health: status === 'offline' ? 'offline' : action?.status === 'in_progress' ? 'busy' : 'ready',
  };
}

function action(overrides: Partial<ReaderActionSnapshot> = {}): ReaderActionSnapshot {
  return {
    type: 'process_payment_intent',
    status: 'in_progress',
    failureCode: null,
    failureMessage: null,
    paymentIntentId: PI,
    ...overrides,
  };
}

/** Read the reader and the PaymentIntent for the stuck payment, apply them, and decide. */
function reconcileReads(
  readerState: ReaderSnapshot | undefined,
  intent: Partial<PaymentIntentSnapshot> = {},
  options: { autoCancelAfterMs?: number | null; record?: PaymentRecord } = {},
) {
  const record = options.record ?? processing([READER], [STARTED]);
  const attempt = stuckAttempt(record)!;
  const observations = stuckActionObservations(attempt, {
    reader: readerState,
    readerReadAtMs: READ_AT,
    paymentIntent: paymentIntent(intent),
    paymentIntentReadAtMs: READ_AT + 100,
  });
  const recorded = applyObservations(record, observations, NOW).record;
  const autoCancelAfterMs = options.autoCancelAfterMs === undefined ? AUTO_CANCEL_AFTER_MS : options.autoCancelAfterMs;
  const decision = decideStuckAction(recorded, attempt, readerState, NOW.getTime() - STARTED, { autoCancelAfterMs });
  return { recorded, decision, observations };
}

describe('a stuck action whose outcome Stripe already has', () => {
  it.each([
    ['succeeded', { status: 'succeeded', amountReceived: 1299 }, action()],
    ['requires_capture', { status: 'requires_capture', amountCapturable: 1299 }, action()],
    ['requires_capture', { status: 'requires_capture', amountCapturable: 1299 }, null],
  ] as const)('records the PaymentIntent %s and the action succeeded (reader action %j)', (status, intent, held) => {
    // Act
    const { recorded, decision } = reconcileReads(reader('online', held), intent);

    // Assess
    expect(decision).toEqual({ kind: 'settled' });
    expect(recorded).toMatchObject({ status, readerAction: { status: 'succeeded' }, flags: [] });
    expect(recorded.history.at(-1)).toMatchObject({ source: 'poll' });
  });

  it("records the reader's failure (a decline) with its code", () => {
    // Prepare
    const declined = action({ status: 'failed', failureCode: 'card_declined', failureMessage: 'Declined.' });
    const lastPaymentError = { code: 'card_declined', declineCode: 'insufficient_funds', message: 'Declined.' };

    // Act
    const { recorded, decision } = reconcileReads(reader('online', declined), { lastPaymentError });

    // Assess
    expect(decision).toEqual({ kind: 'settled' });
    expect(recorded.readerAction).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
    expect(recorded.lastPaymentError).toEqual(lastPaymentError);
  });

  it('applies an outcome an offline reader still shows', () => {
    // Act
    const { recorded, decision } = reconcileReads(
      reader('offline', action({ status: 'failed', failureCode: 'customer_canceled' })),
    );

    // Assess
    expect(decision).toEqual({ kind: 'settled' });
    expect(recorded.readerAction).toMatchObject({ status: 'failed', failureCode: 'customer_canceled' });
  });

  it('is judged stale afterwards by the webhooks that were late', () => {
    // Prepare: the reconciler recorded the authorization; then the events of that moment arrive
    const { recorded } = reconcileReads(reader('online', action({ status: 'succeeded' })), {
      status: 'requires_capture',
      amountCapturable: 1299,
      latestCharge: charge({ captureBefore: sec(T0) + 2 * 86_400 }),
    });
    const authorizedAt = STARTED + 2_000;
    const lateEvents = [
      readerAction('succeeded', sec(authorizedAt)),
      piObservation({ status: 'requires_capture', amountCapturable: 1299 }, authorizedAt),
      {
        kind: 'charge' as const,
        origin: { source: 'webhook' as const },
        charge: charge({ captureBefore: sec(T0) + 2 * 86_400 }),
      },
    ];

    // Act
    const result = applyObservations(recorded, lateEvents, at(READ_AT + 60_000));

    // Assess
    expect(result.changed).toBe(false);
    expect(result.record).toBe(recorded);
  });
});

describe('a stuck action the reader no longer runs', () => {
  it.each([
    ['idle', reader('online', null)],
    ['on another payment', reader('online', action({ paymentIntentId: 'pi_other' }))],
    ['on another payment, finished', reader('online', action({ paymentIntentId: 'pi_other', status: 'succeeded' }))],
    ['gone from Stripe', undefined],
  ])('is recorded ended (failed, canceled) when the reader is %s, and its flag cleared', (_case, readerState) => {
    // Prepare
    const flagged = withFlag(processing([READER], [STARTED]), 'reader_stuck', at(STARTED + 120_000));

    // Act
    const { recorded, decision } = reconcileReads(readerState, {}, { record: flagged });

    // Assess
    expect(decision).toEqual({ kind: 'settled' });
    expect(recorded.readerAction).toMatchObject({ status: 'failed', failureCode: 'canceled' });
    expect(recorded.flags).toEqual([]);
  });
});

describe('a stuck action still running, or on an offline reader', () => {
  it.each([
    ['younger than the auto-cancel age', 10 * 60_000, false],
    ['past the auto-cancel age', 60_000, true],
    ['with auto-cancel off', null, false],
  ])('is stuck on an online reader %s (cancel: %s)', (_case, autoCancelAfterMs, cancelAction) => {
    // Act
    const { recorded, decision } = reconcileReads(reader('online', action()), {}, { autoCancelAfterMs });

    // Assess
    expect(decision).toEqual({ kind: 'stuck', reason: 'in_progress', cancelAction });
    expect(recorded.readerAction?.status).toBe('in_progress');
  });

  it.each([
    ['still showing the action', action()],
    ['showing no action', null],
  ])('is stuck, never cancelled, on an offline reader %s', (_case, held) => {
    // Act
    const { recorded, decision, observations } = reconcileReads(reader('offline', held), {}, { autoCancelAfterMs: 0 });

    // Assess
    expect(decision).toEqual({ kind: 'stuck', reason: 'offline', cancelAction: false });
    expect(observations.map((observation) => observation.kind)).toEqual(['payment_intent']);
    expect(recorded.readerAction?.status).toBe('in_progress');
  });

  it('is undecided when the reader was read in the second the attempt started, after an earlier attempt there', () => {
    // Prepare: two attempts on the same reader; the read falls into the second attempt's first second
    const record = processing([READER, READER], [STARTED - 30_000, STARTED]);
    const attempt = stuckAttempt(record)!;
    const observations = stuckActionObservations(attempt, {
      reader: reader('online', null),
      readerReadAtMs: STARTED + 100,
      paymentIntent: paymentIntent(),
      paymentIntentReadAtMs: STARTED + 150,
    });

    // Act
    const recorded = applyObservations(record, observations, at(STARTED + 200)).record;
    const decision = decideStuckAction(recorded, attempt, reader('online', null), 200, { autoCancelAfterMs: 0 });

    // Assess
    expect(decision).toEqual({ kind: 'undecided' });
  });
});

describe('markReaderStuck', () => {
  it('flags the attempt once, with an audit entry', () => {
    // Prepare
    const record = processing([READER], [STARTED]);

    // Act
    const flagged = markReaderStuck(record, 1, NOW);
    const again = markReaderStuck(flagged, 1, NOW);

    // Assess
    expect(flagged.flags).toEqual(['reader_stuck']);
    expect(flagged.history.at(-1)).toMatchObject({ source: 'poll', kind: 'flag', summary: 'reader_stuck set' });
    expect(again).toBe(flagged);
  });

  it.each([
    ['another attempt started since the reads', processing([READER, READER], [STARTED, STARTED + 60_000])],
    ['the action ended since the reads', { ...processing([READER], [STARTED]), readerAction: null }],
  ])('leaves the payment alone when %s', (_case, record) => {
    // Act
    const result = markReaderStuck(record, 1, NOW);

    // Assess
    expect(result).toBe(record);
  });

  it("is undone by recording the reconciler's cancel: failed, canceled, flag cleared", () => {
    // Prepare
    const flagged = markReaderStuck(processing([READER], [STARTED]), 1, NOW);

    // Act
    const observation = canceledByReconcilerObservation(flagged, stuckAttempt(flagged)!, NOW);
    const recorded = applyObservations(flagged, [observation], NOW).record;

    // Assess
    expect(observation).toMatchObject({ origin: { source: 'poll' }, forAttempt: 1, readerId: READER });
    expect(recorded).toMatchObject({ flags: [], readerAction: { status: 'failed', failureCode: 'canceled' } });
  });
});

describe('aging authorizations', () => {
  const authorized = aPayment({
    status: 'requires_capture',
    amountCapturable: 1299,
    authorizedAt: at(T0).toISOString(),
    captureBefore: at(T0 + 2 * 86_400_000).toISOString(),
  });
  const flagged = markCaptureDeadlineApproaching(authorized, NOW);

  it.each([
    ['not flagged yet', authorized, 'none', true],
    ['flagged, no policy', flagged, 'none', false],
    ['flagged, capture policy', flagged, 'capture', true],
    ['flagged, cancel policy', flagged, 'cancel', true],
    ['captured meanwhile', { ...authorized, status: 'succeeded' as const }, 'capture', false],
  ] as const)('is read from Stripe when %s: %s', (_case, record, policy, expected) => {
    // Act
    const needsRead = agingAuthorizationNeedsRead(record, policy);

    // Assess
    expect(needsRead).toBe(expected);
  });

  it('is flagged capture_deadline_approaching once, only while it waits for capture', () => {
    // Act
    const again = markCaptureDeadlineApproaching(flagged, NOW);
    const captured = markCaptureDeadlineApproaching({ ...authorized, status: 'succeeded' }, NOW);

    // Assess
    expect(flagged.flags).toEqual(['capture_deadline_approaching']);
    expect(flagged.history.at(-1)).toMatchObject({ source: 'poll', summary: 'capture_deadline_approaching set' });
    expect(again).toBe(flagged);
    expect(captured.flags).toEqual([]);
  });

  it.each([
    ['capture', authorized, { kind: 'capture' }],
    ['cancel', authorized, { kind: 'cancel' }],
    ['none', authorized, { kind: 'none' }],
    ['capture', { ...authorized, status: 'canceled' as const }, { kind: 'none' }],
  ] as const)('applies STALE_AUTHORIZATION_ACTION=%s while Stripe still holds it', (policy, record, step) => {
    // Act
    const decided = decideStaleAuthorization(record, policy);

    // Assess
    expect(decided).toEqual(step);
  });

  it.each([
    [T0 + 2 * 86_400_000 - 1, false],
    [T0 + 2 * 86_400_000, true],
  ])('is past its capture deadline at %i: %s', (nowMs, expected) => {
    // Act
    const past = isPastCaptureDeadline(authorized, nowMs);

    // Assess
    expect(past).toBe(expected);
  });

  it('is recorded canceled with authorization_expired when the re-read shows it expired', () => {
    // Prepare
    const expired = piObservation({ status: 'canceled', cancellationReason: 'expired' }, T0 + 2 * 86_400_000 + 5_000, {
      source: 'poll',
    });

    // Act
    const recorded = applyObservations(flagged, [expired], NOW).record;

    // Assess
    expect(recorded).toMatchObject({ status: 'canceled', flags: ['authorization_expired'] });
  });
});

describe('stuckActionObservations', () => {
  it('puts the PaymentIntent first, so an authorization is never mistaken for an abandoned action', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('requires_capture', 'succeeded'),
        fc.option(fc.constantFrom('in_progress', 'succeeded', 'failed'), { nil: null }),
        fc.boolean(),
        (status, held, online) => {
          // Prepare
          const heldAction = held === null ? null : action({ status: held as ReaderActionSnapshot['status'] });
          const readerState = reader(online ? 'online' : 'offline', heldAction);

          // Act
          const { recorded, decision } = reconcileReads(readerState, { status });

          // Assess
          expect(decision).toEqual({ kind: 'settled' });
          expect(recorded.status).toBe(status);
          expect(recorded.readerAction?.status).not.toBe('in_progress');
        },
      ),
    );
  });
});

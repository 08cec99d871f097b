import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyObservations } from '../../../shared/payments/reducer.ts';
import {
  amountRefunded,
  claimRefund,
  decideRefund,
  REFUND_CHECK_MAX_INTERVAL_MS,
  REFUND_FIRST_CHECK_AFTER_MS,
  refundableAmount,
  withdrawRefundClaim,
  withRefundAnswered,
  withRefundChecked,
} from '../../../shared/payments/refunds.ts';
import type {
  Observation,
  PaymentRecord,
  ReaderActionObservation,
  RefundObservation,
  RefundSnapshot,
} from '../../../shared/payments/types.ts';
import { aPayment, at, PI, READER, sec, T0 } from '../../support/fixtures.ts';

const NOW = at(T0 + 10 * 60_000);
const LATER = at(T0 + 11 * 60_000);

/** A payment of 1000 that succeeded, paid by `type`. */
function succeeded(type = 'card_present'): PaymentRecord {
  return aPayment({
    status: 'succeeded',
    amount: 1000,
    amountReceived: 1000,
    chargeId: 'ch_1',
    paymentMethodType: type,
    captureMethod: 'automatic',
  });
}

function claimed(
  record: PaymentRecord,
  key: string,
  amount: number,
  readerId?: string,
  answerDueByMs = NOW.getTime() + 25_000,
): PaymentRecord {
  return claimRefund(record, { request: { key, amount, readerId }, amount, answerDueByMs }, NOW);
}

function refundSeen(
  overrides: Partial<RefundSnapshot> = {},
  source: 'webhook' | 'poll' = 'webhook',
): RefundObservation {
  return {
    kind: 'refund',
    origin: { source, eventId: `evt_${Math.random()}` },
    refund: {
      id: 're_1',
      paymentIntentId: PI,
      amount: 400,
      currency: 'usd',
      status: 'pending',
      reason: null,
      failureReason: null,
      key: 'k1',
      created: sec(NOW.getTime()),
      ...overrides,
    },
  };
}

function refundAction(
  status: 'in_progress' | 'succeeded' | 'failed',
  options: {
    key?: string;
    failureCode?: string;
    refundId?: string;
    source?: 'webhook' | 'poll';
    createdMs?: number;
  } = {},
): ReaderActionObservation {
  const observation: ReaderActionObservation = {
    kind: 'reader_action',
    origin: { source: options.source ?? 'webhook' },
    readerId: READER,
    action: {
      type: 'refund_payment',
      status,
      failureCode: options.failureCode ?? null,
      failureMessage: options.failureCode ? 'failed' : null,
      paymentIntentId: PI,
      refundKey: options.key ?? 'k1',
      refundId: options.refundId ?? null,
    },
    createdSeconds: sec(options.createdMs ?? NOW.getTime() + 5_000),
  };
  return observation;
}

/** A read of the reader made for refund `k1`, showing no action. */
function idleRead(readMs: number, readerStatus: 'online' | 'offline' = 'online'): ReaderActionObservation {
  return {
    kind: 'reader_action',
    origin: { source: 'poll' },
    readerId: READER,
    action: null,
    readerStatus,
    createdSeconds: sec(readMs),
    forRefundKey: 'k1',
  };
}

describe('decideRefund', () => {
  it('refunds all that remains without an amount, and counts pending refunds and claims against it', () => {
    // Prepare
    const record = claimed(succeeded(), 'k1', 300);

    // Act
    const all = decideRefund(record, { key: 'k2' }, false);
    const tooMuch = decideRefund(record, { key: 'k3', amount: 701 }, false);

    // Assess
    expect(all).toEqual({ kind: 'refund', amount: 700 });
    expect(tooMuch).toEqual({ kind: 'refuse', reason: 'exceeds_balance', refundable: 700 });
  });

  it('answers the same key and body with its refund, and refuses the same key with another body', () => {
    // Prepare
    const record = claimed(succeeded(), 'k1', 300);

    // Act
    const same = decideRefund(record, { key: 'k1', amount: 300 }, false);
    const other = decideRefund(record, { key: 'k1', amount: 301 }, false);
    const otherReader = decideRefund(record, { key: 'k1', amount: 300, readerId: READER }, false);

    // Assess
    expect(same.kind).toBe('existing');
    expect(other.kind).toBe('key_reused');
    expect(otherReader.kind).toBe('key_reused');
  });

  it.each([
    ['requires_capture', false, 'refresh'],
    ['requires_capture', true, 'refuse'],
    ['processing', false, 'refresh'],
    ['canceled', false, 'refuse'],
    ['requires_payment_method', true, 'refuse'],
  ] as const)('a %s payment (refreshed: %s) is %s', (status, refreshed, kind) => {
    // Act
    const decision = decideRefund({ ...succeeded(), status }, { key: 'k1' }, refreshed);

    // Assess
    expect(decision.kind).toBe(kind);
  });

  it('sends Interac to a reader: refused online, allowed with a reader', () => {
    // Act
    const online = decideRefund(succeeded('interac_present'), { key: 'k1' }, false);
    const onReader = decideRefund(succeeded('interac_present'), { key: 'k1', readerId: READER }, false);

    // Assess
    expect(online).toEqual({ kind: 'refuse', reason: 'card_present_required' });
    expect(onReader).toEqual({ kind: 'refund', amount: 1000 });
  });
});

describe('refund claims', () => {
  it('claims a refund pending without an id, scheduled for the reconciler, and withdraws it while still bare', () => {
    // Act
    const record = claimed(succeeded(), 'k1', 400);
    const withdrawn = withdrawRefundClaim(record, 'k1', NOW);

    // Assess
    expect(record.refunds).toMatchObject([{ key: 'k1', id: null, status: 'pending', amount: 400, method: 'api' }]);
    expect(record.refundCheckAt).toBe(new Date(NOW.getTime() + REFUND_FIRST_CHECK_AFTER_MS).toISOString());
    expect(refundableAmount(record)).toBe(600);
    expect(withdrawn.refunds).toEqual([]);
    expect(withdrawn.refundCheckAt).toBeNull();
  });

  it('numbers reader refund commands, withdrawn ones included, so each gets keys of its own', () => {
    // Act
    const first = claimed(succeeded(), 'k1', 400, READER);
    const withdrawn = withdrawRefundClaim(first, 'k1', NOW);
    const second = claimed(withdrawn, 'k1', 400, READER);

    // Assess
    expect(first.refunds[0]).toMatchObject({ command: 1, readerAction: { status: 'in_progress' } });
    expect(second.refunds[0]?.command).toBe(2);
  });

  it('keeps a claim Stripe made a refund for', () => {
    // Prepare
    const record = applyObservations(claimed(succeeded(), 'k1', 400), [refundSeen()], NOW).record;

    // Act
    const withdrawn = withdrawRefundClaim(record, 'k1', NOW);

    // Assess
    expect(withdrawn.refunds).toHaveLength(1);
  });

  it('looks at a refund that stays pending after longer and longer waits, up to a bound', () => {
    // Prepare
    let record = claimed(succeeded(), 'k1', 400);
    const waits: number[] = [];

    // Act
    for (let look = 0; look < 12; look += 1) {
      record = withRefundChecked(record, NOW);
      waits.push(Date.parse(record.refundCheckAt ?? '') - NOW.getTime());
    }

    // Assess
    expect(waits.slice(0, 3)).toEqual([2, 4, 8].map((n) => n * REFUND_FIRST_CHECK_AFTER_MS));
    expect(Math.max(...waits)).toBe(REFUND_CHECK_MAX_INTERVAL_MS);
    expect(record.refundChecks).toBe(12);
  });
});

describe('applyObservation: refunds', () => {
  it('matches a refund to its claim by the key in its metadata, and settles the schedule once it succeeded', () => {
    // Prepare
    const record = claimed(succeeded(), 'k1', 400);

    // Act
    const pending = applyObservations(record, [refundSeen()], NOW);
    const done = applyObservations(pending.record, [refundSeen({ status: 'succeeded' })], LATER);

    // Assess
    expect(pending.record.refunds).toMatchObject([{ id: 're_1', key: 'k1', status: 'pending' }]);
    expect(pending.record.refunds[0]?.answerDueByMs).toBeUndefined();
    expect(done.record.refunds).toMatchObject([{ id: 're_1', status: 'succeeded' }]);
    expect(amountRefunded(done.record)).toBe(400);
    expect(done.record.refundCheckAt).toBeNull();
  });

  it('ignores an older pending snapshot after succeeded, and a repeated one', () => {
    // Prepare
    const done = applyObservations(
      claimed(succeeded(), 'k1', 400),
      [refundSeen(), refundSeen({ status: 'succeeded' })],
      NOW,
    ).record;

    // Act
    const late = applyObservations(done, [refundSeen()], LATER);
    const again = applyObservations(done, [refundSeen({ status: 'succeeded' })], LATER);

    // Assess
    expect(late.changed).toBe(false);
    expect(late.verdict).toBe('stale');
    expect(again.changed).toBe(false);
  });

  it('lets a succeeded refund fail later (the bank returned it), never the other way', () => {
    // Prepare
    const done = applyObservations(claimed(succeeded(), 'k1', 400), [refundSeen({ status: 'succeeded' })], NOW).record;

    // Act
    const failed = applyObservations(done, [refundSeen({ status: 'failed', failureReason: 'declined' })], LATER);
    const back = applyObservations(failed.record, [refundSeen({ status: 'succeeded' })], LATER);

    // Assess
    expect(failed.record.refunds).toMatchObject([{ status: 'failed', failureReason: 'declined' }]);
    expect(amountRefunded(failed.record)).toBe(0);
    expect(refundableAmount(failed.record)).toBe(1000);
    expect(back.changed).toBe(false);
  });

  it('adds a refund made elsewhere (the Dashboard), without a key', () => {
    // Act
    const result = applyObservations(succeeded(), [refundSeen({ id: 're_dash', key: null, status: 'succeeded' })], NOW);

    // Assess
    expect(result.record.refunds).toMatchObject([{ id: 're_dash', key: null, method: 'api', status: 'succeeded' }]);
    expect(refundableAmount(result.record)).toBe(600);
  });

  it("ignores another payment's refund", () => {
    // Act
    const result = applyObservations(succeeded(), [refundSeen({ paymentIntentId: 'pi_other' })], NOW);

    // Assess
    expect(result.verdict).toBe('stale');
    expect(result.record.refunds).toEqual([]);
  });

  it('ends in the same state whatever the order and however often the events of a refund arrive', () => {
    // Prepare
    const base = claimed(succeeded(), 'k1', 400);
    const events = [
      refundSeen(),
      refundSeen({ status: 'succeeded' }),
      refundSeen({ status: 'failed', failureReason: 'declined' }),
    ];
    const inOrder = applyObservations(base, events, NOW).record;

    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: events.length - 1 }), { minLength: 1, maxLength: 8 }), (picks) => {
        // Act: every event at least once, in a shuffled order, some repeated.
        const order = [...new Set([...picks, 0, 1, 2])].concat(picks);
        const observations: Observation[] = order.map((i) => events[i] as Observation);
        const result = applyObservations(base, observations, NOW).record;

        // Assess
        expect(result.refunds.map(({ id, status, failureReason }) => ({ id, status, failureReason }))).toEqual(
          inOrder.refunds.map(({ id, status, failureReason }) => ({ id, status, failureReason })),
        );
      }),
    );
  });
});

describe('applyObservation: a reader refund', () => {
  const onReader = () => withRefundAnswered(claimed(succeeded(), 'k1', 400, READER), 'k1');

  it('is canceled when the customer cancels on the reader, and its amount is refundable again', () => {
    // Act
    const result = applyObservations(onReader(), [refundAction('failed', { failureCode: 'customer_canceled' })], NOW);

    // Assess
    expect(result.record.refunds[0]).toMatchObject({
      id: null,
      status: 'canceled',
      failureReason: 'customer_canceled',
      readerAction: { status: 'failed', failureCode: 'customer_canceled' },
    });
    expect(refundableAmount(result.record)).toBe(1000);
  });

  it('takes the refund id from the succeeded action, then the refund events settle it', () => {
    // Act
    const acted = applyObservations(onReader(), [refundAction('succeeded', { refundId: 're_9' })], NOW);
    const settled = applyObservations(acted.record, [refundSeen({ id: 're_9', status: 'succeeded' })], NOW);

    // Assess
    expect(acted.record.refunds[0]).toMatchObject({
      id: 're_9',
      status: 'pending',
      readerAction: { status: 'succeeded' },
    });
    expect(settled.record.refunds[0]).toMatchObject({ id: 're_9', status: 'succeeded' });
  });

  it('lets a refund Stripe made win over a reader failure that came first (a lost answer: connection_error)', () => {
    // Prepare
    const failed = applyObservations(onReader(), [refundAction('failed', { failureCode: 'connection_error' })], NOW);

    // Act
    const made = applyObservations(failed.record, [refundSeen({ id: 're_7', status: 'succeeded' })], LATER);

    // Assess
    expect(failed.record.refunds[0]?.status).toBe('failed');
    expect(made.record.refunds[0]).toMatchObject({
      id: 're_7',
      status: 'succeeded',
      readerAction: { status: 'succeeded' },
    });
    expect(amountRefunded(made.record)).toBe(400);
  });

  it('is not ended by a read of an idle reader while its command may still arrive, nor by an offline reader', () => {
    // Prepare
    const inFlight = claimed(succeeded(), 'k1', 400, READER, NOW.getTime() + 25_000);

    // Act
    const early = applyObservations(inFlight, [idleRead(NOW.getTime() + 5_000)], at(NOW.getTime() + 5_000));
    const offline = applyObservations(onReader(), [idleRead(LATER.getTime(), 'offline')], LATER);
    const sameSecond = applyObservations(onReader(), [idleRead(NOW.getTime())], LATER);

    // Assess
    expect(early.changed).toBe(false);
    expect(offline.changed).toBe(false);
    expect(sameSecond.changed).toBe(false);
  });

  it('is canceled by a later read of the reader idle, with no refund at Stripe', () => {
    // Act
    const result = applyObservations(onReader(), [idleRead(LATER.getTime())], LATER);

    // Assess
    expect(result.record.refunds[0]).toMatchObject({
      status: 'canceled',
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
    expect(result.record.refundCheckAt).toBeNull();
  });

  it("ignores a refund action of another key, and a read on another reader's behalf", () => {
    // Act
    const otherKey = applyObservations(
      onReader(),
      [refundAction('failed', { key: 'k2', failureCode: 'customer_canceled' })],
      NOW,
    );

    // Assess
    expect(otherKey.changed).toBe(false);
    expect(otherKey.record.refunds[0]?.status).toBe('pending');
  });
});

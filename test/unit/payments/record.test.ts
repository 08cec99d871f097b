import { describe, expect, it } from 'vitest';
import { idempotencyKeys } from '../../../shared/payments/idempotency.ts';
import {
  allListKeys,
  LEGACY_LIST_KEY,
  LIST_SHARDS,
  listKey,
  paymentIndexAttributes,
} from '../../../shared/payments/index-attributes.ts';
import { minimumAmount } from '../../../shared/payments/money.ts';
import {
  canceledActionObservation,
  recordProcessAccepted,
  recordProcessRefused,
} from '../../../shared/payments/process.ts';
import { ATTEMPT_LOG_LIMIT, startProcessAttempt, withFlag, withoutFlag } from '../../../shared/payments/record.ts';
import { applyObservation } from '../../../shared/payments/reducer.ts';
import { toPaymentResource } from '../../../shared/payments/resource.ts';
import {
  aPayment,
  at,
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

describe('process attempts', () => {
  it('starts an attempt in progress on its reader, with a fresh key try', () => {
    // Prepare
    const record = { ...aPayment(), nextProcessTry: 3 };

    // Act
    const started = startProcessAttempt(record, { readerId: READER, startedAtMs: T0 + 1_000 }, NOW);

    // Assess
    expect(started).toMatchObject({ attempts: 1, readerId: READER, nextProcessTry: 0 });
    expect(started.readerAction).toMatchObject({
      type: 'process_payment_intent',
      status: 'in_progress',
      failureCode: null,
    });
    expect(started.attemptLog).toEqual([{ number: 1, readerId: READER, startedAtMs: T0 + 1_000 }]);
  });

  it('keeps a bounded attempt log', () => {
    // Prepare
    const readers = Array.from({ length: ATTEMPT_LOG_LIMIT + 5 }, (_, i) => (i % 2 === 0 ? READER : OTHER_READER));

    // Act
    const record = processing(readers);

    // Assess
    expect(record.attempts).toBe(ATTEMPT_LOG_LIMIT + 5);
    expect(record.attemptLog).toHaveLength(ATTEMPT_LOG_LIMIT);
    expect(record.attemptLog.at(-1)?.number).toBe(ATTEMPT_LOG_LIMIT + 5);
  });

  it('records an accepted command once, even when a racing twin of the request recorded it first', () => {
    // Prepare
    const record = aPayment();
    const command = {
      attempt: 1,
      readerId: READER,
      startedAtMs: T0 + 1_000,
      answer: readerAction('in_progress', sec(T0) + 1, { forAttempt: 1, origin: { source: 'api' } }),
      nextTry: 1,
    };

    // Act
    const once = recordProcessAccepted(record, command, NOW);
    const twice = recordProcessAccepted(once, command, NOW);

    // Assess
    expect(once.attempts).toBe(1);
    expect(twice.attempts).toBe(1);
    expect(twice.attemptLog).toHaveLength(1);
  });

  it('applies an accepted command’s answer that already shows the outcome', () => {
    // Prepare
    const command = {
      attempt: 1,
      readerId: READER,
      startedAtMs: T0,
      answer: readerAction('failed', sec(T0), {
        forAttempt: 1,
        failureCode: 'card_declined',
        origin: { source: 'api' },
      }),
      nextTry: 1,
    };

    // Act
    const record = recordProcessAccepted(aPayment(), command, NOW);

    // Assess
    expect(record.readerAction).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
  });

  it('remembers the key tries a refused command used up, never going back', () => {
    // Prepare
    const record = aPayment();

    // Act
    const refused = recordProcessRefused(record, 2, NOW);
    const older = recordProcessRefused(refused, 1, NOW);

    // Assess
    expect(refused.nextProcessTry).toBe(2);
    expect(older).toBe(refused);
  });

  it('attributes a cancelled action to the current attempt only when it ran on that reader', () => {
    // Prepare
    const record = processing([READER]);

    // Act
    const here = canceledActionObservation(record, READER, NOW);
    const elsewhere = canceledActionObservation(record, OTHER_READER, NOW);

    // Assess
    expect(here.forAttempt).toBe(1);
    expect(applyObservation(record, here, NOW).record.readerAction).toMatchObject({
      status: 'failed',
      failureCode: 'canceled',
    });
    expect(applyObservation(record, elsewhere, NOW).verdict).toBe('stale');
  });
});

describe('flags', () => {
  it('raises and clears a flag as a set', () => {
    // Prepare
    const record = aPayment();

    // Act
    const raised = withFlag(withFlag(record, 'reader_stuck', NOW), 'reader_stuck', NOW);
    const cleared = withoutFlag(raised, 'reader_stuck', NOW);

    // Assess
    expect(raised.flags).toEqual(['reader_stuck']);
    expect(cleared.flags).toEqual([]);
    expect(withoutFlag(record, 'reader_stuck', NOW)).toBe(record);
  });
});

describe('paymentIndexAttributes', () => {
  it('lists every payment by location and creation time', () => {
    // Prepare
    const record = aPayment();

    // Act
    const attributes = paymentIndexAttributes(record);

    // Assess
    expect(attributes).toEqual({
      locationKey: 'LOCATION#tml_A',
      listKey: listKey(PI),
      createdKey: `${new Date(T0).toISOString()}#${PI}`,
    });
  });

  it('spreads payments over the listing partitions by id, never into the legacy one', () => {
    // Prepare
    const ids = Array.from({ length: 4_000 }, (_, i) => `pi_3Q${(i * 7_919).toString(36).padStart(8, '0')}x${i}`);

    // Act
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(listKey(id), (counts.get(listKey(id)) ?? 0) + 1);

    // Assess
    expect(counts.size).toBe(LIST_SHARDS);
    expect([...counts.keys()].every((key) => allListKeys.includes(key) && key !== LEGACY_LIST_KEY)).toBe(true);
    for (const count of counts.values()) expect(count).toBeGreaterThan((ids.length / LIST_SHARDS) * 0.8);
    expect(listKey(PI)).toBe(listKey(PI));
  });

  it('puts a payment in the active-action index only while its reader action is in progress', () => {
    // Prepare
    const inProgress = processing([READER], [T0 + 1_000]);
    const ended = applyObservation(inProgress, readerAction('failed', sec(T0) + 5), NOW).record;

    // Act & Assess
    expect(paymentIndexAttributes(inProgress)).toMatchObject({
      activeActionKey: 'ACTIVE_ACTION',
      actionStartedAt: new Date(T0 + 1_000).toISOString(),
    });
    expect(paymentIndexAttributes(ended).activeActionKey).toBeUndefined();
    expect(paymentIndexAttributes(ended).actionStartedAt).toBeUndefined();
  });

  it('puts a payment in the awaiting-capture indexes only while it is requires_capture', () => {
    // Prepare
    const authorized = applyObservation(
      processing(),
      piObservation({ status: 'requires_capture' }, T0 + 100_000),
      NOW,
    ).record;
    const captured = applyObservation(authorized, piObservation({ status: 'succeeded' }, T0 + 200_000), NOW).record;

    // Act & Assess
    expect(paymentIndexAttributes(authorized)).toMatchObject({
      awaitingCaptureKey: 'AWAITING_CAPTURE',
      authorizedAt: authorized.authorizedAt,
      captureBefore: authorized.captureBefore,
    });
    expect(paymentIndexAttributes(captured).awaitingCaptureKey).toBeUndefined();
  });
});

describe('idempotency keys', () => {
  it.each([
    [idempotencyKeys.createPayment('tml_A', 'order-1', 2), 'create:tml_A:order-1:2'],
    [idempotencyKeys.processPayment(PI, 3, 1), `process:${PI}:3:1`],
    [idempotencyKeys.capturePayment(PI, 0), `capture:${PI}:0`],
    [idempotencyKeys.cancelPayment(PI, 1), `cancel:${PI}:1`],
    [idempotencyKeys.updateAmount(PI, 1500, 0), `update:${PI}:1500:0`],
    [idempotencyKeys.cancelReaderAction(READER, `${PI}:2`, 0), `cancel-action:${READER}:${PI}:2:0`],
  ])('derives %s', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('keeps a create key within Stripe’s 255 characters for a 200-character order id, and deterministic', () => {
    // Prepare
    const orderId = 'o'.repeat(200);

    // Act
    const key = idempotencyKeys.createPayment('tml_A', orderId, 1);

    // Assess
    expect(key.length).toBeLessThanOrEqual(255);
    expect(key).toBe(idempotencyKeys.createPayment('tml_A', orderId, 1));
    expect(key).not.toBe(idempotencyKeys.createPayment('tml_A', `${'o'.repeat(199)}p`, 1));
  });
});

describe('money', () => {
  it.each([
    ['usd', 50],
    ['gbp', 30],
    ['jpy', 50],
    ['xyz', undefined],
  ])('minimum for %s is %s', (currency, minimum) => {
    expect(minimumAmount(currency)).toBe(minimum);
  });
});

describe('toPaymentResource', () => {
  it('shows exactly the contract’s fields', () => {
    // Prepare
    const record = processing();

    // Act
    const resource = toPaymentResource(record);

    // Assess
    expect(Object.keys(resource).sort()).toEqual(
      [
        'id',
        'orderId',
        'locationId',
        'amount',
        'currency',
        'captureMethod',
        'status',
        'readerId',
        'readerAction',
        'lastPaymentError',
        'amountCapturable',
        'amountReceived',
        'card',
        'captureBefore',
        'flags',
        'attempts',
        'tipAmount',
        'receiptEmail',
        'amountRefunded',
        'refunds',
        'createdAt',
        'updatedAt',
      ].sort(),
    );
    expect(resource.readerAction).toMatchObject({ type: 'process_payment_intent', status: 'in_progress' });
  });

  it('shows the capture deadline only while the payment waits for capture', () => {
    // Prepare
    const authorized = applyObservation(
      processing(),
      piObservation({ status: 'requires_capture' }, T0 + 100_000),
      NOW,
    ).record;
    const captured = applyObservation(authorized, piObservation({ status: 'succeeded' }, T0 + 200_000), NOW).record;

    // Act & Assess
    expect(toPaymentResource(authorized).captureBefore).toBe(authorized.captureBefore);
    expect(toPaymentResource(captured).captureBefore).toBeNull();
  });
});

/**
 * What the notifier publishes for a change of the table, and which changes wake it at all (the event source
 * mapping's filter, as the local stream reader applies it).
 */
import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../../local/stream-poller.ts';
import { selectRoute } from '../../../local/websocket-gateway.ts';
import { MESSAGE_ROUTES, notifierStream } from '../../../shared/live/definition.ts';
import { publicationOf } from '../../../shared/operations/publish-change.ts';
import { paymentItem } from '../../../shared/store/payments.ts';
import { aPayment } from '../../support/fixtures.ts';

const passesFilter = (record: unknown) =>
  notifierStream.filterPatterns.some((pattern) => matchesPattern(record, pattern));
const streamRecord = (eventName: string, entity: string) => ({
  eventName,
  dynamodb: { NewImage: { pk: { S: 'X' }, entity: { S: entity } } },
});

describe('the notifier’s filter', () => {
  it.each([
    ['INSERT', 'payment', true],
    ['MODIFY', 'payment', true],
    ['MODIFY', 'reader', true],
    ['REMOVE', 'payment', false],
    ['INSERT', 'event', false],
    ['INSERT', 'order', false],
    ['INSERT', 'connection', false],
    ['MODIFY', 'connection', false],
    ['INSERT', 'subscription', false],
  ])('%s of a %s item wakes it: %s', (eventName, entity, wakes) => {
    // Assess
    expect(passesFilter(streamRecord(eventName, entity))).toBe(wakes);
  });

  it('does not match a record without a new image', () => {
    // Assess
    expect(passesFilter({ eventName: 'MODIFY', dynamodb: {} })).toBe(false);
  });
});

describe('publicationOf', () => {
  it('publishes a payment’s new state to its location and to itself, with its version', () => {
    // Prepare
    const before = aPayment({ status: 'requires_payment_method', version: 3 });
    const after = { ...before, status: 'canceled' as const, version: 4, updatedAt: '2026-12-04T10:00:01.000Z' };

    // Act
    const publication = publicationOf({ newItem: paymentItem(after), oldItem: paymentItem(before) });

    // Assess
    expect(publication?.topics).toEqual([`location#${after.locationId}`, `payment#${after.id}`]);
    expect(publication?.message).toMatchObject({
      type: 'payment.updated',
      version: 4,
      payment: { status: 'canceled' },
    });
  });

  it('publishes nothing for a change the Payment resource does not show', () => {
    // Prepare
    const before = aPayment({ version: 3 });
    const after = {
      ...before,
      version: 4,
      updatedAt: '2026-12-04T10:00:01.000Z',
      history: [
        ...before.history,
        { at: '2026-12-04T10:00:01.000Z', source: 'api' as const, kind: 'note', summary: 'n' },
      ],
      nextProcessTry: before.nextProcessTry + 1,
    };

    // Act
    const publication = publicationOf({ newItem: paymentItem(after), oldItem: paymentItem(before) });

    // Assess
    expect(publication).toBeUndefined();
  });

  it('publishes a new payment (no old image)', () => {
    // Act
    const publication = publicationOf({ newItem: paymentItem(aPayment({ version: 1 })) });

    // Assess
    expect(publication?.message.type).toBe('payment.updated');
  });

  it('publishes a stored reader to its location, and nothing for a bare location cache entry', () => {
    // Prepare
    const reader = {
      pk: 'READER#tmr_1',
      sk: 'READER',
      entity: 'reader',
      readerId: 'tmr_1',
      locationId: 'tml_1',
      label: 'Front',
      deviceType: 'bbpos_wisepos_e',
      status: 'online',
      action: {
        type: 'process_payment_intent',
        status: 'in_progress',
        failureCode: null,
        failureMessage: null,
        paymentIntentId: 'pi_1',
      },
      lastSeenAt: '2026-12-04T10:00:00.000Z',
      health: 'stuck',
      actionSince: '2026-12-04T09:57:00.000Z',
      fingerprint: '[]',
      version: 2,
    };
    const { fingerprint: _fingerprint, ...cacheEntry } = reader;

    // Act
    const publication = publicationOf({ newItem: reader });

    // Assess
    expect(publication).toEqual({
      topics: ['location#tml_1'],
      message: {
        type: 'reader.updated',
        version: 2,
        reader: {
          id: 'tmr_1',
          label: 'Front',
          locationId: 'tml_1',
          deviceType: 'bbpos_wisepos_e',
          status: 'online',
          action: {
            type: 'process_payment_intent',
            status: 'in_progress',
            failureCode: null,
            failureMessage: null,
            paymentIntentId: 'pi_1',
          },
          lastSeenAt: '2026-12-04T10:00:00.000Z',
          health: 'stuck',
          paymentId: 'pi_1',
        },
      },
    });
    expect(publicationOf({ newItem: cacheEntry })).toBeUndefined();
  });

  it('announces a deleted reader (its tombstone) as reader.removed to its location, once', () => {
    // Prepare
    const stored = {
      pk: 'READER#tmr_2',
      sk: 'READER',
      entity: 'reader',
      readerId: 'tmr_2',
      locationId: 'tml_1',
      label: 'Back',
      status: 'online',
      health: 'ready',
      fingerprint: '[]',
      version: 4,
    };
    const tombstone = {
      pk: 'READER#tmr_2',
      sk: 'READER',
      entity: 'reader',
      readerId: 'tmr_2',
      locationId: 'tml_1',
      label: 'Back',
      removed: true,
      version: 5,
      expiresAt: 1_800_000_000,
    };

    // Act
    const removed = publicationOf({ newItem: tombstone, oldItem: stored });
    const rewritten = publicationOf({ newItem: { ...tombstone, version: 6 }, oldItem: tombstone });

    // Assess
    expect(removed).toEqual({
      topics: ['location#tml_1'],
      message: { type: 'reader.removed', readerId: 'tmr_2', locationId: 'tml_1', version: 5 },
    });
    expect(rewritten).toBeUndefined();
  });
});

describe('selectRoute ($request.body.action)', () => {
  const routeKeys = MESSAGE_ROUTES.filter((route) => route !== '$default');

  it.each([
    ['{"action":"subscribe","paymentId":"pi_1"}', 'subscribe'],
    ['{"action":"ping"}', 'ping'],
    ['{"action":"unsubscribe"}', 'unsubscribe'],
    ['{"action":"dance"}', '$default'],
    ['{"action":{"nested":true}}', '$default'],
    ['not json', '$default'],
    ['null', '$default'],
  ])('%s → %s', (body, route) => {
    // Assess
    expect(selectRoute(body, routeKeys)).toBe(route);
  });
});

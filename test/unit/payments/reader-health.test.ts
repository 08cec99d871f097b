/**
 * A reader's health from what Stripe shows and since when (the table's `actionSince` / `offlineSince`): the clock
 * is passed in, so a stuck reader is found by moving time, never by waiting.
 */
import { describe, expect, it } from 'vitest';
import { readerHealth, readerSince } from '../../../shared/payments/reader-health.ts';
import type { ReaderActionSnapshot, ReaderSnapshot } from '../../../shared/payments/types.ts';

const STUCK_AFTER_MS = 120_000;
const T0 = new Date('2026-12-04T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function action(overrides: Partial<ReaderActionSnapshot> = {}): ReaderActionSnapshot {
  return {
    type: 'process_payment_intent',
    status: 'in_progress',
    failureCode: null,
    failureMessage: null,
    paymentIntentId: 'pi_1',
    ...overrides,
  };
}

type ReaderState = Pick<ReaderSnapshot, 'status' | 'action'>;
const online = (readerAction: ReaderActionSnapshot | null = null): ReaderState => ({
  status: 'online',
  action: readerAction,
});

describe('readerHealth', () => {
  it.each<[string, ReaderState, string | null, number, string]>([
    ['no action', online(), null, 0, 'ready'],
    ['a finished action', online(action({ status: 'succeeded' })), null, 0, 'ready'],
    ['a failed action', online(action({ status: 'failed', failureCode: 'card_declined' })), null, 0, 'ready'],
    ['an action just started', online(action()), T0.toISOString(), 1, 'busy'],
    ['an action at the threshold', online(action()), T0.toISOString(), 120, 'busy'],
    ['an action past the threshold', online(action()), T0.toISOString(), 121, 'stuck'],
    ['an action not stored yet (just read)', online(action()), null, 10_000, 'busy'],
    ['offline, action or not', { status: 'offline', action: action() }, T0.toISOString(), 10_000, 'offline'],
  ])('%s is %s', (_case, reader, actionSince, seconds, expected) => {
    // Act
    const health = readerHealth(reader, actionSince, at(seconds).getTime(), STUCK_AFTER_MS);

    // Assess
    expect(health).toBe(expected);
  });
});

describe('readerSince', () => {
  it('carries actionSince while the same action runs, so it turns stuck once the threshold passes', () => {
    // Prepare
    const first = readerSince(online(action()), undefined, T0);

    // Act
    const later = readerSince(online(action()), { ...online(action()), ...first }, at(150));

    // Assess
    expect(first).toEqual({ actionSince: T0.toISOString(), offlineSince: null });
    expect(later.actionSince).toBe(T0.toISOString());
    expect(readerHealth(online(action()), later.actionSince, at(150).getTime(), STUCK_AFTER_MS)).toBe('stuck');
  });

  it('starts again for another payment, and clears once the action ends', () => {
    // Prepare
    const stored = { ...online(action()), actionSince: T0.toISOString(), offlineSince: null };

    // Act
    const next = readerSince(online(action({ paymentIntentId: 'pi_2' })), stored, at(150));
    const done = readerSince(online(action({ status: 'succeeded' })), stored, at(150));

    // Assess
    expect(next.actionSince).toBe(at(150).toISOString());
    expect(done.actionSince).toBeNull();
  });

  it('carries offlineSince while offline, and clears it when the reader is back', () => {
    // Prepare
    const offline: ReaderState = { status: 'offline', action: null };
    const first = readerSince(offline, { ...online(), actionSince: null, offlineSince: null }, T0);

    // Act
    const still = readerSince(offline, { ...offline, ...first }, at(700));
    const back = readerSince(online(), { ...offline, ...still }, at(800));

    // Assess
    expect(first.offlineSince).toBe(T0.toISOString());
    expect(still.offlineSince).toBe(T0.toISOString());
    expect(back.offlineSince).toBeNull();
  });
});

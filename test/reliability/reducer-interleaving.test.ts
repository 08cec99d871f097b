/**
 * Property: whatever order Stripe's events for a payment arrive in — late by any number of steps, duplicated,
 * reordered among themselves and around the API's own commands — the reducer ends where delivering each event
 * once, in order, ends. Events go through the processor's parser (`parseQueuedEvent`) and, for a reader's
 * `connection_error`, the PaymentIntent read the processor makes first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildTimeline,
  type Delivery,
  deliverySchedule,
  inOrderSchedule,
  isKnownOrderDependence,
  type PaymentStory,
  paymentStory,
  playThroughReducer,
  stripeOutcome,
  type Timeline,
  visibleState,
} from './support/payment-story.ts';

const BASE_MS = Date.UTC(2026, 10, 26, 10, 0, 0);
const RUNS = 400;

// The one order dependence found is pinned by the failing tests at the end of this file, not rediscovered here.
const timelines = paymentStory(fc.constant('pi_story'))
  .filter((story) => !isKnownOrderDependence(story))
  .map((story) => buildTimeline(story, BASE_MS));
const withSchedule = timelines.chain((timeline) => fc.tuple(fc.constant(timeline), deliverySchedule(timeline)));

/** A PaymentIntent whose final status the record must reach, from what Stripe holds at the end. */
function expectMatchesStripe(timeline: Timeline, record: ReturnType<typeof visibleState>): void {
  const stripe = stripeOutcome(timeline);
  expect(record).toMatchObject(stripe);
}

describe('the reducer under any delivery of events', () => {
  it('delivering each event once, in order, ends in Stripe’s state', () => {
    // Prepare, Act & Assess
    fc.assert(
      fc.property(timelines, (timeline) => {
        const final = visibleState(playThroughReducer(timeline, inOrderSchedule(timeline)));
        expectMatchesStripe(timeline, final);
        expect(final.readerAction?.status).not.toBe('in_progress');
      }),
      { numRuns: RUNS },
    );
  });

  it('ends in the in-order state when events are delayed, duplicated and reordered', () => {
    // Prepare, Act & Assess
    let deliveries = 0;
    fc.assert(
      fc.property(withSchedule, ([timeline, schedule]) => {
        deliveries += schedule.length;
        const expected = visibleState(playThroughReducer(timeline, inOrderSchedule(timeline)));
        const final = visibleState(playThroughReducer(timeline, schedule));
        expect(final).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
    expect(deliveries).toBeGreaterThan(RUNS * 4);
  });

  it('ends in the in-order state when every event is held until the payment is over', () => {
    // Prepare, Act & Assess
    const heldToTheEnd = timelines.chain((timeline) =>
      fc.tuple(
        fc.constant(timeline),
        fc.shuffledSubarray(
          timeline.events.map((_, index) => index),
          { minLength: timeline.events.length, maxLength: timeline.events.length },
        ),
      ),
    );
    fc.assert(
      fc.property(heldToTheEnd, ([timeline, order]) => {
        const last = timeline.entries.length - 1;
        const schedule = order.map((event, rank) => ({ event, afterEntry: last, rank }));
        const expected = visibleState(playThroughReducer(timeline, inOrderSchedule(timeline)));
        expect(visibleState(playThroughReducer(timeline, schedule))).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('a reader’s connection_error for an authorization that is then released', () => {
  /** Authorized on the reader, which still reports `connection_error` (Stripe's false negative). */
  const story = (afterwards: 'cancel' | 'expire'): PaymentStory => ({
    paymentIntentId: 'pi_story',
    captureMethod: 'manual',
    amount: 1500,
    failedAttempts: [],
    end: {
      kind: 'authorized',
      readerId: 'tmr_story_A',
      tip: 0,
      connectionErrorAfterAuthorization: true,
      amountBefore: null,
      afterwards,
    },
    jitterMs: [0],
  });
  const lateAll = (timeline: Timeline, readerEventFirst: boolean): Delivery[] =>
    timeline.events.map(({ event }, index) => ({
      event: index,
      afterEntry: timeline.entries.length - 1,
      rank: readerEventFirst && event.type === 'terminal.reader.action_failed' ? -1 : index,
    }));

  // Known limitation, kept visible: the money fields always agree, but the reader action's last word depends on
  // order here, because a PaymentIntent canceled before its events arrive no longer shows it was authorized.
  // `it.fails` turns red the day the reducer gets it right.
  it.fails.each([
    ['the cashier cancels before any event arrives', 'cancel', false],
    ['the authorization expires before the events arrive, the reader’s first', 'expire', true],
  ] as const)('ends with the same reader action as in order when %s', (_case, afterwards, readerEventFirst) => {
    // Prepare
    const timeline = buildTimeline(story(afterwards), BASE_MS);
    const inOrder = visibleState(playThroughReducer(timeline, inOrderSchedule(timeline)));

    // Act
    const late = visibleState(playThroughReducer(timeline, lateAll(timeline, readerEventFirst)));

    // Assess
    expect(inOrder.readerAction).toEqual({ status: 'succeeded', failureCode: null, failureMessage: null });
    expect(late.status).toBe('canceled');
    expect(late.readerAction).toEqual(inOrder.readerAction);
  });
});

/**
 * Bounded work: a run stops taking new candidates when its time is up and the next run continues after the last
 * one it examined; a payment that fails is logged and counted, and the others are still reconciled. Runs here use
 * a virtual clock (Stripe calls spaced 100 virtual ms apart), so where a run stops does not depend on the
 * machine's speed.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcile } from '../../../shared/operations/reconcile.ts';
import type { PaymentRecord } from '../../../shared/payments/types.ts';
import type { ReconcileLogger } from '../../../shared/reconcile/run-context.ts';
import { reconcileSettings } from '../../../shared/reconcile/settings.ts';
import type { Clock } from '../../../shared/time.ts';
import type { LocalStack } from '../../support/stack.ts';
import { stuckPayment, unknownStuckPayment } from './fixtures.ts';
import {
  directRun,
  emulator,
  emulatorRequests,
  paymentView,
  reconcilerContext,
  startReconcileStack,
  stripeFor,
} from './support.ts';

const CALL_INTERVAL_MS = 100;

let stack: LocalStack;
let stripe: Stripe;
let stuck: PaymentRecord[];
/** What the runs logged at error level. */
const errors: { message: string; attributes: Record<string, unknown> }[] = [];
const logger: ReconcileLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: unknown, ...extra: unknown[]) => {
    errors.push({ message: String(message), attributes: Object.assign({}, ...(extra as object[])) });
  },
} as unknown as ReconcileLogger;

beforeAll(async () => {
  stack = await startReconcileStack({ STUCK_ACTION_AFTER_SECONDS: '1' });
  stripe = stripeFor(stack);
  const location = stack.state.locations[0]!;
  const readerId = location.readers[0]!;
  // An offline reader: every one of its payments stays stuck (flagged), so each run reads them all again.
  await emulator(stack, `readers/${readerId}/offline`);
  const startedAtMs = Date.now() - 60_000;
  stuck = [];
  for (const n of [0, 1, 2, 3]) {
    stuck.push(
      await stuckPayment(stack.deps.store, stripe, {
        readerId,
        locationId: location.id,
        startedAtMs: startedAtMs + n * 1_000,
        orderId: `bounded-${n}`,
      }),
    );
  }
});

afterAll(async () => {
  await stack?.stop();
});

let requestsSeen = 0;
beforeEach(async () => {
  requestsSeen = (await emulatorRequests(stack)).length;
});

/** A clock whose time moves only when the run waits for its next Stripe call. */
function virtualClock(): Clock {
  let now = Date.now();
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

/** One run allowed `budgetMs` of virtual time. */
function boundedRun(budgetMs: number) {
  const clock = virtualClock();
  const settings = { ...reconcileSettings(stack.deps.settings), stripeCallIntervalMs: CALL_INTERVAL_MS };
  return reconcile({ ...stack.deps, clock }, { logger, settings, deadlineMs: clock.now() + budgetMs });
}

/** The PaymentIntents the emulator was asked for since the test began, in order. */
async function paymentIntentsRead(): Promise<string[]> {
  const requests = (await emulatorRequests(stack)).slice(requestsSeen);
  requestsSeen += requests.length;
  return requests
    .filter((request) => request.method === 'GET' && request.path.startsWith('/v1/payment_intents/'))
    .map((request) => request.path.slice('/v1/payment_intents/'.length));
}

describe('a run with more candidates than time', () => {
  it('stops at its budget, and the next run continues after the last candidate it examined', async () => {
    // Prepare: each stuck payment costs two calls (reader, PaymentIntent); the first pass may use a third of
    // the 1,000 virtual ms, so two payments fit in a run
    const ids = stuck.map((payment) => payment.id);

    // Act
    const first = await boundedRun(1_000);
    const readByFirst = await paymentIntentsRead();
    const second = await boundedRun(1_000);
    const readBySecond = await paymentIntentsRead();
    const third = await boundedRun(1_000);
    const readByThird = await paymentIntentsRead();

    // Assess
    expect(first).toMatchObject({ cutShort: true, failures: 0, flagsSet: { reader_stuck: 2 } });
    expect(readByFirst).toEqual(ids.slice(0, 2));
    expect(second).toMatchObject({ cutShort: false, failures: 0, flagsSet: { reader_stuck: 2 } });
    expect(readBySecond).toEqual(ids.slice(2, 4));
    // The index was read to its end: the next run starts again at the oldest candidate.
    expect(third.cutShort).toBe(true);
    expect(readByThird).toEqual(ids.slice(0, 2));
    for (const id of ids) expect((await paymentView(stack, id)).flags).toEqual(['reader_stuck']);
  });

  it('takes no candidate when the Lambda has less time left than one Stripe call may take', async () => {
    // Prepare: STRIPE_TIMEOUT_MS is 8 s; the context says 7 s remain

    // Act
    const summary = await directRun(stack, reconcilerContext(7));

    // Assess
    expect(summary).toMatchObject({ cutShort: true, indexQueries: 0, failures: 0 });
    expect(await paymentIntentsRead()).toEqual([]);
  });
});

describe('a payment that fails', () => {
  it('is counted and logged, and the payments after it are still reconciled', async () => {
    // Prepare: a run to the end of the index (the next one starts at the oldest candidate), then a new oldest
    // candidate whose PaymentIntent does not exist at Stripe
    await boundedRun(60_000);
    await paymentIntentsRead();
    const location = stack.state.locations[0]!;
    const failing = await unknownStuckPayment(stack.deps.store, {
      readerId: location.readers[1]!,
      locationId: location.id,
      startedAtMs: Date.now() - 5 * 60_000,
      orderId: 'bounded-failing',
    });

    // Act
    const summary = await boundedRun(60_000);
    const read = await paymentIntentsRead();

    // Assess
    expect(summary).toMatchObject({ failures: 1, cutShort: false, candidates: { activeReaderActions: 5 } });
    expect(read).toEqual([failing.id, ...stuck.map((payment) => payment.id)]);
    expect(errors).toEqual([
      {
        message: 'Payment not reconciled; retried next run',
        attributes: expect.objectContaining({ paymentId: failing.id, index: 'activeReaderActions' }),
      },
    ]);
    expect((await paymentView(stack, failing.id)).readerAction?.status).toBe('in_progress');
    for (const payment of stuck) expect((await paymentView(stack, payment.id)).flags).toEqual(['reader_stuck']);
  });
});

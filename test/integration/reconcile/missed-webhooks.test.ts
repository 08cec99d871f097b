/**
 * Lost and late webhooks on the local stack: the emulator drops (or holds) every event, so only the reconciler's
 * reads can tell the backend how a payment ended. What it records is what the webhook processor would have
 * recorded; the events that arrive afterwards change nothing.
 */
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import { isHandledEventType } from '../../../shared/stripe/event-types.ts';
import type { LocalStack } from '../../support/stack.ts';
import {
  advance,
  drained,
  emulator,
  eventsOf,
  paymentView,
  scheduledRun,
  startPayment,
  startReconcileStack,
  stored,
  stripeFor,
  tap,
  waitFor,
  watchBatches,
} from './support.ts';

let stack: LocalStack;
let stripe: Stripe;
let batches: ReturnType<typeof watchBatches>;

beforeAll(async () => {
  stack = await startReconcileStack({ STUCK_ACTION_AFTER_SECONDS: '1' });
  stripe = stripeFor(stack);
  batches = watchBatches(stack);
});

afterAll(async () => {
  await stack?.stop();
});

afterEach(async () => {
  await emulator(stack, 'webhooks', {});
});

/** Wait until the payment's reader action is older than the stuck threshold. */
async function pastStuckThreshold(payment: PaymentResource): Promise<void> {
  const record = await stored(stack, payment.id);
  await advance(stack, record.attemptLog.at(-1)!.startedAtMs + 1_100 - stack.deps.clock.now());
}

async function stripeStatus(id: string, status: Stripe.PaymentIntent.Status): Promise<Stripe.PaymentIntent> {
  return waitFor(
    () => stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] }),
    (intent) => intent.status === status,
  );
}

describe('a payment whose webhooks were all lost', () => {
  it.each([
    ['automatic', 'succeeded', { amountReceived: 1500, amountCapturable: 0 }],
    ['manual', 'requires_capture', { amountReceived: 0, amountCapturable: 1500 }],
  ] as const)(
    'is recorded %s → %s from Stripe, and the events resent later change nothing',
    async (captureMethod, status, amounts) => {
      // Prepare
      const readerId = stack.state.locations[0]!.readers[0]!;
      await emulator(stack, 'webhooks', { mode: 'drop' });
      const payment = await startPayment(stack, readerId, { captureMethod });
      await tap(stack, readerId);
      const intent = await stripeStatus(payment.id, status);
      await pastStuckThreshold(payment);
      expect((await paymentView(stack, payment.id)).readerAction?.status).toBe('in_progress');

      // Act
      const summary = await scheduledRun(stack);
      const recorded = await stored(stack, payment.id);
      await emulator(stack, 'webhooks', {});
      const events = await eventsOf(stack, payment.id);
      for (const event of events) await emulator(stack, `events/${event.id}/resend`);
      await waitFor(
        async () => batches.count,
        (count) => count > 0,
      );
      await drained(stack, batches);

      // Assess
      expect(summary).toMatchObject({ outcomesRecorded: 1, failures: 0, flagsSet: { reader_stuck: 0 } });
      const charge = intent.latest_charge as Stripe.Charge;
      expect(await paymentView(stack, payment.id)).toMatchObject({
        status,
        ...amounts,
        flags: [],
        readerAction: { status: 'succeeded', failureCode: null },
        card: { brand: 'visa', last4: '4242' },
        captureBefore:
          status === 'requires_capture'
            ? new Date(charge.payment_method_details!.card_present!.capture_before! * 1000).toISOString()
            : null,
      });
      expect(recorded.history.at(-1)).toMatchObject({ source: 'poll' });
      expect(events.map((event) => event.type)).toEqual(
        expect.arrayContaining(['terminal.reader.action_succeeded', 'charge.succeeded']),
      );
      const after = await stored(stack, payment.id);
      expect(after.version).toBe(recorded.version);
      expect(after.history.filter((entry) => entry.source === 'webhook')).toEqual([]);
    },
  );

  it('is recorded declined, and the held events released afterwards change nothing', async () => {
    // Prepare
    const readerId = stack.state.locations[1]!.readers[0]!;
    await emulator(stack, 'webhooks', { mode: 'hold' });
    const payment = await startPayment(stack, readerId, { captureMethod: 'manual' });
    await tap(stack, readerId, '4000000000009995');
    await waitFor(
      () => stripe.terminal.readers.retrieve(readerId) as Promise<Stripe.Terminal.Reader>,
      (reader) => reader.action?.status === 'failed',
    );
    await pastStuckThreshold(payment);

    // Act
    const summary = await scheduledRun(stack);
    const recorded = await stored(stack, payment.id);
    const held = (await eventsOf(stack, payment.id)).filter((event) => isHandledEventType(event.type));
    const receivedBefore = batches.received;
    await emulator(stack, 'webhooks', {});
    await emulator(stack, 'webhooks/release');
    await waitFor(
      async () => batches.received,
      (received) => received >= receivedBefore + held.length,
    );
    await drained(stack, batches);

    // Assess
    expect(summary).toMatchObject({ outcomesRecorded: 1, failures: 0 });
    expect(await paymentView(stack, payment.id)).toMatchObject({
      status: 'requires_payment_method',
      readerAction: { status: 'failed', failureCode: 'card_declined' },
      lastPaymentError: { code: 'card_declined', declineCode: 'insufficient_funds' },
      flags: [],
    });
    expect(held.map((event) => event.type)).toContain('terminal.reader.action_failed');
    expect(batches.received - receivedBefore).toBe(held.length);
    expect((await stored(stack, payment.id)).version).toBe(recorded.version);
  });
});

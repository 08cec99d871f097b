/**
 * Lost events: Stripe gives up on a delivery after three days, and the processor sends a record that keeps failing
 * to the DLQ, so some events of a payment may never be applied. The reconciler exists to put such payments right.
 * Here the PaymentIntent's and the charge's events of an approved payment are lost and only the reader's
 * `terminal.reader.action_succeeded` arrives; after a reconciler run the record must be what Stripe holds.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentResource } from '../../shared/payments/resource.ts';
import { createStripeClient } from '../../shared/stripe/client.ts';
import { api, type LocalStack, startTestStack } from '../support/stack.ts';
import { emulatorControl, queueDrained, waitFor } from './support/probes.ts';

let stack: LocalStack;
let stripe: Stripe;
let location: { id: string; readers: string[]; token: string };

beforeAll(async () => {
  stack = await startTestStack({
    // Runs only when the test asks.
    reconcileIntervalSeconds: 3600,
    // A record that fails under load is back in seconds, not the queue's 3 minutes.
    queue: { visibilityTimeoutSeconds: 3 },
    emulator: { authorizationDelayMs: 20 },
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true', STUCK_ACTION_AFTER_SECONDS: '0' },
    log: () => undefined,
  });
  stripe = createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
  location = stack.state.locations[0] as typeof location;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a payment whose PaymentIntent events were lost', () => {
  it.each([
    ['automatic', 'succeeded'],
    ['manual', 'requires_capture'],
  ] as const)('(%s capture) is recorded as Stripe holds it after a reconciler run', async (captureMethod, expected) => {
    // Prepare: approved on the reader while every delivery is lost; then only the reader's event arrives.
    const readerId = location.readers[captureMethod === 'manual' ? 1 : 0] as string;
    const created = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
      token: location.token,
      body: {
        orderId: `lost-${captureMethod}`,
        locationId: location.id,
        amount: 1500,
        currency: 'usd',
        captureMethod,
        readerId,
      },
    });
    const id = created.body.payment.id;
    await emulatorControl(stack, 'webhooks', { mode: 'drop' });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, {
      card_present: { number: '4242424242424242' },
    });
    await waitFor(
      () => stripe.paymentIntents.retrieve(id),
      (paymentIntent) => paymentIntent.status === expected,
    );
    await emulatorControl(stack, 'webhooks', {});
    const readerEvent = (await stripe.events.list({ type: 'terminal.reader.action_succeeded', limit: 10 })).data.find(
      (event) => (event.data.object as Stripe.Terminal.Reader).action?.process_payment_intent?.payment_intent === id,
    ) as Stripe.Event;
    await emulatorControl(stack, `events/${readerEvent.id}/resend`);
    await waitFor(
      async () =>
        (await api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${id}`, { token: location.token })).body,
      (body) => body.payment.readerAction?.status === 'succeeded',
    );
    await queueDrained(stack);

    // Act
    const run = await stack.scheduler.runNow();
    await queueDrained(stack);

    // Assess
    expect(run?.error).toBeUndefined();
    const { payment } = (
      await api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${id}`, { token: location.token })
    ).body;
    expect(payment.readerAction?.status).toBe('succeeded');
    expect(payment.status).toBe(expected);
  });
});

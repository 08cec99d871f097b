/**
 * A tip chosen on the reader, learnt from webhooks alone (never `refresh=true`): delivered twice, in reverse order,
 * or held back until after the capture. It is recorded once, in `tipAmount`, and the amounts include it.
 */
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import type { LocalStack } from '../../support/stack.ts';
import {
  drained,
  emulator,
  paymentView,
  startPayment,
  startReconcileStack,
  stored,
  stripeFor,
  waitFor,
  watchBatches,
} from '../reconcile/support.ts';

let stack: LocalStack;
let stripe: Stripe;
let batches: ReturnType<typeof watchBatches>;
let readers: string[];

beforeAll(async () => {
  stack = await startReconcileStack({});
  stripe = stripeFor(stack);
  batches = watchBatches(stack);
  const location = stack.state.locations[0]!;
  readers = location.readers;
  const configuration = await stripe.terminal.configurations.create({
    tipping: { usd: { percentages: [10, 15, 20] } },
  });
  await stripe.terminal.locations.update(location.id, { configuration_overrides: configuration.id });
});

afterAll(async () => {
  await stack?.stop();
});

afterEach(async () => {
  await emulator(stack, 'webhooks', {});
  await emulator(stack, 'webhooks/release');
  await drained(stack, batches);
});

const tip = (readerId: string, amount: number) =>
  stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, { amount_tip: amount });

describe('tip-carrying events', () => {
  it('record the tip once when every event is delivered twice and in reverse order', async () => {
    // Prepare
    await emulator(stack, 'webhooks', { duplicate: 1, reverse: true, delayMs: 200 });
    const payment = await startPayment(stack, readers[0]!, { captureMethod: 'manual', amount: 1000 });

    // Act
    await tip(readers[0]!, 250);
    const view = await waitFor(
      () => paymentView(stack, payment.id),
      (p: PaymentResource) => p.status === 'requires_capture' && p.card !== null,
    );
    await drained(stack, batches);
    const record = await stored(stack, payment.id);

    // Assess
    expect(view).toMatchObject({ amount: 1250, amountCapturable: 1250, tipAmount: 250 });
    expect(record).toMatchObject({ amount: 1250, tipAmount: 250 });
  });

  it('keep the tip when its authorization events arrive after the capture', async () => {
    // Prepare
    await emulator(stack, 'webhooks', { mode: 'hold' });
    const payment = await startPayment(stack, readers[1]!, { captureMethod: 'automatic', amount: 1000 });
    await tip(readers[1]!, 120);
    const atStripe = await waitFor(
      () => stripe.paymentIntents.retrieve(payment.id),
      (intent) => intent.status === 'succeeded',
    );

    // Act
    await emulator(stack, 'webhooks', { reverse: true });
    await emulator(stack, 'webhooks/release');
    await drained(stack, batches);
    const view = await paymentView(stack, payment.id);

    // Assess
    expect(atStripe.amount_details?.tip?.amount).toBe(120);
    expect(view).toMatchObject({ status: 'succeeded', amount: 1120, amountReceived: 1120, tipAmount: 120 });
  });
});

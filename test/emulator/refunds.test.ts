/**
 * The emulator's refunds through the official SDK: pending then succeeded on the emulator's clock, partial and full,
 * the charge's refunded amounts, the events, Stripe's refusals, an armed fault (failed, or pending for good), and an
 * uncaptured authorization released by a refund.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { type Emulator, type NextRefundFault, startEmulator } from '../../local/stripe-emulator/index.ts';
import { control, FAST, firstReader, sdk, settledReader, stripeError, terminalPaymentIntent } from './support.ts';

let emulator: Emulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startEmulator({ ...FAST, refundDelayMs: 2_000 });
  stripe = sdk(emulator);
});
afterAll(() => emulator.close());
beforeEach(() => control(emulator, '/reset'));

/** A card-present payment authorized on the reader; captured unless `captureMethod` is manual. */
async function paid(captureMethod: 'automatic' | 'manual' = 'automatic'): Promise<Stripe.PaymentIntent> {
  const paymentIntent = await terminalPaymentIntent(stripe, { amount: 2000, capture_method: captureMethod });
  const reader = firstReader(emulator);
  await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
  await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
  await settledReader(stripe, reader);
  return stripe.paymentIntents.retrieve(paymentIntent.id);
}

const advance = (seconds: number) => emulatorControls(emulator.url).advanceClock(seconds);
const nextRefund = (fault: NextRefundFault) => emulatorControls(emulator.url).nextRefund(fault);

async function eventTypes(): Promise<string[]> {
  const events = await stripe.events.list({ limit: 100 });
  return events.data
    .map((event) => event.type)
    .filter((type) => type.startsWith('refund.') || type.startsWith('charge.refund'))
    .reverse();
}

describe('refunds', () => {
  it('refunds part of a payment: pending, then succeeded once the delay has passed on the clock', async () => {
    // Prepare
    const paymentIntent = await paid();

    // Act
    const refund = await stripe.refunds.create({
      payment_intent: paymentIntent.id,
      amount: 500,
      reason: 'requested_by_customer',
      metadata: { pos: 'r-1' },
    });
    const chargeNow = await stripe.charges.retrieve(refund.charge as string);
    await advance(3);
    const settled = await stripe.refunds.retrieve(refund.id);

    // Assess
    expect(refund).toMatchObject({
      object: 'refund',
      amount: 500,
      currency: 'usd',
      status: 'pending',
      payment_intent: paymentIntent.id,
      charge: paymentIntent.latest_charge,
      reason: 'requested_by_customer',
      metadata: { pos: 'r-1' },
    });
    expect(chargeNow).toMatchObject({ amount_refunded: 500, refunded: false });
    expect(settled.status).toBe('succeeded');
    expect(settled.balance_transaction).toMatch(/^txn_/);
    expect(await eventTypes()).toEqual([
      'refund.created',
      'charge.refunded',
      'refund.updated',
      'charge.refund.updated',
    ]);
  });

  it('refunds what is left by default, then refuses another refund as Stripe does', async () => {
    // Prepare
    const paymentIntent = await paid();
    await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 1200 });

    // Act
    const rest = await stripe.refunds.create({ charge: paymentIntent.latest_charge as string });
    const again = await stripeError(stripe.refunds.create({ payment_intent: paymentIntent.id }));
    const charge = await stripe.charges.retrieve(paymentIntent.latest_charge as string);

    // Assess
    expect(rest.amount).toBe(800);
    expect(charge).toMatchObject({ amount_refunded: 2000, refunded: true });
    expect(again).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
  });

  it('refuses more than is left (amount_too_large) and a PaymentIntent with nothing to refund', async () => {
    // Prepare
    const paymentIntent = await paid();
    const unpaid = await terminalPaymentIntent(stripe, { amount: 1000 });

    // Act
    const tooMuch = await stripeError(stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 2001 }));
    const nothing = await stripeError(stripe.refunds.create({ payment_intent: unpaid.id }));
    const neither = await stripeError(stripe.refunds.create({}));

    // Assess
    expect(tooMuch).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(nothing).toMatchObject({ statusCode: 400, param: 'payment_intent' });
    expect(neither).toMatchObject({ statusCode: 400 });
  });

  it('fails the next refund when armed, giving the amount back to the charge', async () => {
    // Prepare
    const paymentIntent = await paid();
    const armed = await nextRefund({ fault: 'fail', failureReason: 'expired_or_canceled_card' });

    // Act
    const refund = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 700 });
    await advance(3);
    const failed = await stripe.refunds.retrieve(refund.id);
    const charge = await stripe.charges.retrieve(paymentIntent.latest_charge as string);

    // Assess
    expect(armed).toEqual({ fault: 'fail', failureReason: 'expired_or_canceled_card' });
    expect(failed).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
    expect(failed.failure_balance_transaction).toMatch(/^txn_/);
    expect(charge.amount_refunded).toBe(0);
    expect(await eventTypes()).toEqual(['refund.created', 'charge.refunded', 'refund.failed', 'charge.refund.updated']);
  });

  it('fails with declined when no failureReason is given, and only the next refund', async () => {
    // Prepare
    const paymentIntent = await paid();
    await nextRefund({ fault: 'fail' });

    // Act
    const first = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 300 });
    await advance(3);
    const second = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 400 });
    await advance(3);

    // Assess
    expect(await stripe.refunds.retrieve(first.id)).toMatchObject({ status: 'failed', failure_reason: 'declined' });
    expect((await stripe.refunds.retrieve(second.id)).status).toBe('succeeded');
  });

  it('leaves the next refund pending for good (pending_forever), and settles the one after it', async () => {
    // Prepare
    const paymentIntent = await paid();
    const armed = await nextRefund({ fault: 'pending_forever' });

    // Act
    const stuck = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 500 });
    await advance(3_600);
    const stillPending = await stripe.refunds.retrieve(stuck.id);
    const eventsWhileStuck = await eventTypes();
    const next = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 200 });
    await advance(3);
    const charge = await stripe.charges.retrieve(paymentIntent.latest_charge as string);

    // Assess
    expect(armed).toEqual({ fault: 'pending_forever' });
    expect(stillPending).toMatchObject({ status: 'pending', balance_transaction: null });
    expect(eventsWhileStuck).toEqual(['refund.created', 'charge.refunded']);
    expect((await stripe.refunds.retrieve(next.id)).status).toBe('succeeded');
    expect((await stripe.refunds.retrieve(stuck.id)).status).toBe('pending');
    expect(charge.amount_refunded).toBe(700);
  });

  it('keeps a refund pending for good when a failure is armed after it', async () => {
    // Prepare
    const paymentIntent = await paid();
    await nextRefund({ fault: 'pending_forever' });
    const stuck = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 500 });

    // Act
    await nextRefund({ fault: 'fail', failureReason: 'insufficient_funds' });
    await advance(60);
    const failedNext = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 100 });
    await advance(3);

    // Assess
    expect((await stripe.refunds.retrieve(stuck.id)).status).toBe('pending');
    expect(await stripe.refunds.retrieve(failedNext.id)).toMatchObject({
      status: 'failed',
      failure_reason: 'insufficient_funds',
    });
  });

  it.each([
    ['an unknown fault', { fault: 'explode' }],
    ['no fault (the older shape)', { failureReason: 'declined' }],
    ['an unknown failure reason', { fault: 'fail', failureReason: 'bored' }],
    ['a failure reason with pending_forever', { fault: 'pending_forever', failureReason: 'declined' }],
    ['an unknown field', { fault: 'fail', reason: 'declined' }],
  ])('answers 400 to %s, arming nothing', async (_case, body) => {
    // Prepare
    const paymentIntent = await paid();

    // Act
    const answer = await control(emulator, '/refunds/next', body);
    const refund = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 100 });
    await advance(3);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ message: expect.any(String) });
    expect((await stripe.refunds.retrieve(refund.id)).status).toBe('succeeded');
  });

  it('releases an uncaptured authorization: the refund is done and the PaymentIntent canceled', async () => {
    // Prepare
    const paymentIntent = await paid('manual');

    // Act
    const refund = await stripe.refunds.create({ payment_intent: paymentIntent.id });
    const after = await stripe.paymentIntents.retrieve(paymentIntent.id);

    // Assess
    expect(refund).toMatchObject({ status: 'succeeded', amount: 2000 });
    expect(after.status).toBe('canceled');
  });

  it('lists a PaymentIntent’s refunds newest first, updates metadata, and cancels none of a card’s', async () => {
    // Prepare
    const paymentIntent = await paid();
    const first = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 100 });
    const second = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 200 });

    // Act
    const listed = await stripe.refunds.list({ payment_intent: paymentIntent.id });
    const updated = await stripe.refunds.update(first.id, { metadata: { note: 'kept' } });
    const cancel = await stripeError(stripe.refunds.cancel(second.id));
    const missing = await stripeError(stripe.refunds.retrieve('re_missing'));

    // Assess
    expect(listed.data.map((refund) => refund.id)).toEqual([second.id, first.id]);
    expect(updated.metadata).toEqual({ note: 'kept' });
    expect(cancel).toMatchObject({ statusCode: 400 });
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('refunds on the reader (refund_payment)', () => {
  /** An Interac payment (cad), taken with Stripe's Interac test card; Interac is captured at once. */
  async function interacPaid(): Promise<Stripe.PaymentIntent> {
    const paymentIntent = await terminalPaymentIntent(stripe, {
      amount: 3000,
      currency: 'cad',
      allowed_payment_method_types: ['card_present', 'interac_present'],
      capture_method: 'automatic',
    });
    const reader = firstReader(emulator);
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, {
      type: 'interac_present',
      interac_present: { number: '4506445006931933' },
    });
    await settledReader(stripe, reader);
    return stripe.paymentIntents.retrieve(paymentIntent.id);
  }

  it('waits for the card, then refunds and succeeds the action with the refund', async () => {
    // Prepare
    const paymentIntent = await paid();
    const reader = firstReader(emulator);

    // Act
    const asked = await stripe.terminal.readers.refundPayment(reader, {
      payment_intent: paymentIntent.id,
      amount: 600,
      metadata: { pos: 'r-2' },
    });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    const done = await stripe.terminal.readers.retrieve(reader);

    // Assess
    expect(asked.action).toMatchObject({
      type: 'refund_payment',
      status: 'in_progress',
      refund_payment: { amount: 600, charge: paymentIntent.latest_charge, payment_intent: paymentIntent.id },
    });
    const action = (done as Stripe.Terminal.Reader).action;
    expect(action).toMatchObject({ type: 'refund_payment', status: 'succeeded' });
    expect(action?.refund_payment?.refund).toMatch(/^re_/);
    const refund = await stripe.refunds.retrieve(action?.refund_payment?.refund as string);
    expect(refund).toMatchObject({ amount: 600, payment_intent: paymentIntent.id, metadata: { pos: 'r-2' } });
    const succeeded = await stripe.events.list({ type: 'terminal.reader.action_succeeded', limit: 1 });
    const announced = succeeded.data[0]?.data.object as Stripe.Terminal.Reader | undefined;
    expect(announced?.action).toMatchObject({
      type: 'refund_payment',
      status: 'succeeded',
      refund_payment: { refund: refund.id, metadata: { pos: 'r-2' } },
    });
  });

  it('refunds Interac only with the Interac card on a reader', async () => {
    // Prepare
    const paymentIntent = await interacPaid();
    const reader = firstReader(emulator);

    // Act
    const online = await stripeError(stripe.refunds.create({ payment_intent: paymentIntent.id }));
    await stripe.terminal.readers.refundPayment(reader, { payment_intent: paymentIntent.id });
    const otherCard = await stripeError(stripe.testHelpers.terminal.readers.presentPaymentMethod(reader));
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, {
      type: 'interac_present',
      interac_present: { number: '4506445006931933' },
    });
    const done = (await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader;

    // Assess
    expect(paymentIntent).toMatchObject({ status: 'succeeded', currency: 'cad' });
    expect(online).toMatchObject({ statusCode: 400, param: 'charge' });
    expect(otherCard).toMatchObject({ statusCode: 400 });
    expect(done.action).toMatchObject({ type: 'refund_payment', status: 'succeeded' });
    const refund = await stripe.refunds.retrieve(done.action?.refund_payment?.refund as string);
    expect(refund.amount).toBe(3000);
  });

  it('refuses too large an amount at once, keeps a busy reader busy, and lets the customer cancel', async () => {
    // Prepare
    const paymentIntent = await paid();
    const reader = firstReader(emulator);

    // Act
    const tooMuch = await stripeError(
      stripe.terminal.readers.refundPayment(reader, { payment_intent: paymentIntent.id, amount: 5000 }),
    );
    await stripe.terminal.readers.refundPayment(reader, {
      payment_intent: paymentIntent.id,
      refund_payment_config: { enable_customer_cancellation: true },
    });
    const busy = await stripeError(stripe.terminal.readers.refundPayment(reader, { payment_intent: paymentIntent.id }));
    const canceled = await control(emulator, `/readers/${reader}/customer-cancel`);

    // Assess
    expect(tooMuch).toMatchObject({ statusCode: 400, code: 'amount_too_large' });
    expect(busy).toMatchObject({ code: 'terminal_reader_busy' });
    expect(canceled.status).toBe(200);
    expect(canceled.body.action).toMatchObject({
      type: 'refund_payment',
      status: 'failed',
      failure_code: 'customer_canceled',
    });
    expect((await stripe.refunds.list({ payment_intent: paymentIntent.id })).data).toEqual([]);
    const failed = await stripe.events.list({ type: 'terminal.reader.action_failed', limit: 1 });
    expect((failed.data[0]?.data.object as Stripe.Terminal.Reader | undefined)?.action).toMatchObject({
      type: 'refund_payment',
      status: 'failed',
      failure_code: 'customer_canceled',
    });
  });

  it('refuses a customer cancel when refund_payment did not enable it, and the refund goes on', async () => {
    // Prepare
    const paymentIntent = await paid();
    const reader = firstReader(emulator);
    await stripe.terminal.readers.refundPayment(reader, { payment_intent: paymentIntent.id, amount: 400 });

    // Act
    const refused = await control(emulator, `/readers/${reader}/customer-cancel`);
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    const done = (await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader;

    // Assess
    expect(refused.status).toBe(409);
    expect(done.action).toMatchObject({ type: 'refund_payment', status: 'succeeded' });
  });

  it('leaves a reader refund pending for good when pending_forever is armed', async () => {
    // Prepare
    const paymentIntent = await paid();
    const reader = firstReader(emulator);
    await nextRefund({ fault: 'pending_forever' });

    // Act
    await stripe.terminal.readers.refundPayment(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    await advance(600);
    const done = (await stripe.terminal.readers.retrieve(reader)) as Stripe.Terminal.Reader;

    // Assess
    expect(done.action).toMatchObject({ type: 'refund_payment', status: 'succeeded' });
    const refund = await stripe.refunds.retrieve(done.action?.refund_payment?.refund as string);
    expect(refund).toMatchObject({ status: 'pending', amount: 2000 });
  });
});

import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import { control, FAST, firstReader, sdk, settledReader, terminalPaymentIntent } from './support.ts';

const DECLINED = 'Your card was declined.';

describe('Test cards and test amounts', () => {
  let emulator: Emulator;
  let stripe: Stripe;
  let reader: string;

  beforeAll(async () => {
    emulator = await startEmulator(FAST);
    stripe = sdk(emulator);
    reader = firstReader(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(() => control(emulator, '/reset'));

  async function pay(
    amount: number,
    number?: string,
  ): Promise<{ reader: Stripe.Terminal.Reader; paymentIntent: Stripe.PaymentIntent }> {
    const paymentIntent = await terminalPaymentIntent(stripe, { amount });
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(
      reader,
      number === undefined ? {} : { card_present: { number } },
    );
    const settled = await settledReader(stripe, reader);
    return {
      reader: settled,
      paymentIntent: await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] }),
    };
  }

  it.each([
    ['4000000000000002', 'card_declined', 'generic_decline', DECLINED],
    ['4000000000009995', 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.'],
    ['4000000000009987', 'card_declined', 'lost_card', DECLINED],
    ['4000000000009979', 'card_declined', 'stolen_card', DECLINED],
    ['4000000000000069', 'expired_card', null, 'Your card has expired.'],
    [
      '4000000000000119',
      'processing_error',
      null,
      'An error occurred while processing your card. Try again in a little bit.',
    ],
  ])('card %s declines with %s / %s', async (number, code, declineCode, message) => {
    // Act
    const { reader: settled, paymentIntent } = await pay(1000, number);

    // Assess
    expect(settled.action).toMatchObject({ status: 'failed', failure_code: code, failure_message: message });
    expect(settled.action?.api_error).toMatchObject({ type: 'card_error', code, message });
    expect(settled.action?.api_error?.decline_code).toBe(declineCode ?? undefined);
    expect(paymentIntent.status).toBe('requires_payment_method');
    expect(paymentIntent.last_payment_error).toMatchObject({ type: 'card_error', code, message });
    expect(paymentIntent.last_payment_error?.decline_code).toBe(declineCode ?? undefined);
    const charge = paymentIntent.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ status: 'failed', paid: false, failure_code: code, failure_message: message });
    expect(paymentIntent.last_payment_error?.charge).toBe(charge.id);
  });

  it.each([
    [1001, 'call_issuer'],
    [1005, 'generic_decline'],
    [1055, 'incorrect_pin'],
    [1065, 'withdrawal_count_limit_exceeded'],
    [1075, 'pin_try_exceeded'],
  ])('amount %i declines with card_declined / %s', async (amount, declineCode) => {
    // Act
    const { reader: settled, paymentIntent } = await pay(amount);

    // Assess
    expect(settled.action).toMatchObject({
      status: 'failed',
      failure_code: 'card_declined',
      failure_message: DECLINED,
    });
    expect(paymentIntent.last_payment_error).toMatchObject({ code: 'card_declined', decline_code: declineCode });
    expect(paymentIntent.status).toBe('requires_payment_method');
  });

  it.each([1000, 1002, 1003])(
    'amount %i approves (02 / 03 ask for the PIN, which the reader enters)',
    async (amount) => {
      // Act
      const { reader: settled, paymentIntent } = await pay(amount);

      // Assess
      expect(settled.action?.status).toBe('succeeded');
      expect(paymentIntent).toMatchObject({
        status: 'requires_capture',
        amount_capturable: amount,
        last_payment_error: null,
      });
    },
  );

  it('last_payment_error carries the declined card_present PaymentMethod, as does the action api_error', async () => {
    // Act
    const { reader: settled, paymentIntent } = await pay(1000, '4000000000009995');

    // Assess
    const paymentMethod = paymentIntent.last_payment_error?.payment_method;
    expect(paymentMethod).toMatchObject({
      id: expect.stringMatching(/^pm_/),
      object: 'payment_method',
      type: 'card_present',
      card_present: { brand: 'visa', last4: '9995' },
    });
    expect(paymentIntent.last_payment_error?.payment_method_type).toBe('card_present');
    expect((paymentIntent.latest_charge as Stripe.Charge).payment_method).toBe(paymentMethod?.id);
    expect(settled.action?.api_error?.payment_method).toEqual(paymentMethod);
  });

  it('a decline card wins over a decline amount', async () => {
    // Act
    const { paymentIntent } = await pay(1001, '4000000000009995');

    // Assess
    expect(paymentIntent.last_payment_error).toMatchObject({
      code: 'card_declined',
      decline_code: 'insufficient_funds',
    });
  });

  it('the same PaymentIntent can be paid with another card after a decline', async () => {
    // Prepare
    const { paymentIntent: declined } = await pay(1000, '4000000000000002');

    // Act
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: declined.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader);
    const settled = await settledReader(stripe, reader);

    // Assess
    expect(settled.action?.status).toBe('succeeded');
    const paid = await stripe.paymentIntents.retrieve(declined.id);
    expect(paid).toMatchObject({ status: 'requires_capture', last_payment_error: null });
    expect(paid.latest_charge).not.toBe((declined.latest_charge as Stripe.Charge).id);
  });
});

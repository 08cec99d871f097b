import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/stripe-emulator/index.ts';
import { control, FAST, firstReader, sdk, settledReader, stripeError, terminalPaymentIntent } from './support.ts';

type PresentParams = NonNullable<Parameters<Stripe['testHelpers']['terminal']['readers']['presentPaymentMethod']>[1]>;

describe('Receipts: the EMV data on card-present charges, and receipt_email', () => {
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

  /** Pay `paymentIntent` on the reader with `present`; the charge of the attempt. */
  async function pay(paymentIntent: Stripe.PaymentIntent, present: PresentParams = {}): Promise<Stripe.Charge> {
    await stripe.terminal.readers.processPaymentIntent(reader, { payment_intent: paymentIntent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader, present);
    await settledReader(stripe, reader);
    const paid = await stripe.paymentIntents.retrieve(paymentIntent.id, { expand: ['latest_charge'] });
    return paid.latest_charge as Stripe.Charge;
  }

  it.each([
    ['visa', '4242424242424242', 'A0000000031010', 'Visa Credit'],
    ['mastercard', '5555555555554444', 'A0000000041010', 'Mastercard'],
    ['amex', '378282246310005', 'A00000002501', 'American Express'],
    ['discover', '6011111111111117', 'A0000001523010', 'Discover'],
  ])('a %s charge carries the receipt fields of its EMV application', async (brand, number, aid, name) => {
    // Act
    const charge = await pay(await terminalPaymentIntent(stripe), { card_present: { number } });

    // Assess
    const cardPresent = charge.payment_method_details?.card_present;
    expect(cardPresent).toMatchObject({ brand, read_method: 'contactless_emv' });
    expect(cardPresent?.receipt).toEqual({
      account_type: 'credit',
      application_cryptogram: expect.stringMatching(/^[0-9A-F]{16}$/),
      application_preferred_name: name,
      authorization_code: expect.stringMatching(/^\d{6}$/),
      authorization_response_code: '3030',
      cardholder_verification_method: 'approval',
      dedicated_file_name: aid,
      terminal_verification_results: expect.stringMatching(/^[0-9A-F]{10}$/),
      transaction_status_information: expect.stringMatching(/^[0-9A-F]{4}$/),
    });
  });

  it('gives the same receipt values for the same card every time', async () => {
    // Act
    const first = await pay(await terminalPaymentIntent(stripe));
    const second = await pay(await terminalPaymentIntent(stripe));

    // Assess
    expect(second.payment_method_details?.card_present?.receipt).toEqual(
      first.payment_method_details?.card_present?.receipt,
    );
  });

  it('an Interac charge carries its receipt under interac_present, with a bank account type', async () => {
    // Prepare
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'cad',
      allowed_payment_method_types: ['interac_present'],
    });

    // Act
    const charge = await pay(paymentIntent, { type: 'interac_present' });

    // Assess
    const interac = charge.payment_method_details?.interac_present;
    expect(charge.payment_method_details?.card_present).toBeUndefined();
    expect(interac).toMatchObject({ brand: 'interac', read_method: 'contactless_emv' });
    expect(['checking', 'savings', 'unknown']).toContain(interac?.receipt?.account_type);
    expect(interac?.receipt).toMatchObject({
      application_preferred_name: 'Interac',
      dedicated_file_name: 'A0000002771010',
      authorization_code: expect.stringMatching(/^\d{6}$/),
      authorization_response_code: '3030',
      cardholder_verification_method: expect.any(String),
      application_cryptogram: expect.any(String),
      terminal_verification_results: expect.any(String),
      transaction_status_information: expect.any(String),
    });
  });

  it('a declined charge has no authorization code, the decline response code, and no receipt_url', async () => {
    // Act
    const charge = await pay(await terminalPaymentIntent(stripe), { card_present: { number: '4000000000000002' } });

    // Assess
    expect(charge).toMatchObject({ status: 'failed', receipt_url: null });
    expect(charge.payment_method_details?.card_present?.receipt).toMatchObject({
      authorization_code: null,
      authorization_response_code: '3035',
    });
  });

  it('a paid charge carries receipt_email from the PaymentIntent and a receipt_url; no receipt is sent in test mode', async () => {
    // Prepare
    const paymentIntent = await terminalPaymentIntent(stripe, { receipt_email: 'jenny@example.com' });

    // Act
    const charge = await pay(paymentIntent);

    // Assess
    expect(paymentIntent.receipt_email).toBe('jenny@example.com');
    expect(charge).toMatchObject({
      receipt_email: 'jenny@example.com',
      receipt_url: expect.stringMatching(/^https:\/\/pay\.stripe\.com\/receipts\/payment\/[\w-]+$/),
      receipt_number: null,
    });
  });

  it.each(['requires_capture', 'succeeded'] as const)(
    'receipt_email set on a %s PaymentIntent after the payment reaches its charge; an empty value removes it',
    async (status) => {
      // Prepare
      const created = await terminalPaymentIntent(stripe);
      const charge = await pay(created);
      if (status === 'succeeded') await stripe.paymentIntents.capture(created.id);

      // Act
      const updated = await stripe.paymentIntents.update(created.id, { receipt_email: 'sam@example.com' });
      const afterUpdate = await stripe.charges.retrieve(charge.id);
      const removed = await stripe.paymentIntents.update(created.id, { receipt_email: '' });
      const afterRemoval = await stripe.charges.retrieve(charge.id);

      // Assess
      expect(charge.receipt_email).toBeNull();
      expect(updated).toMatchObject({ status, receipt_email: 'sam@example.com' });
      expect(afterUpdate).toMatchObject({ receipt_email: 'sam@example.com', receipt_url: charge.receipt_url });
      expect(removed.receipt_email).toBeNull();
      expect(afterRemoval.receipt_email).toBeNull();
    },
  );

  it('leaves a declined charge out of a receipt_email update', async () => {
    // Prepare
    const created = await terminalPaymentIntent(stripe);
    const declined = await pay(created, { card_present: { number: '4000000000000002' } });

    // Act
    await stripe.paymentIntents.update(created.id, { receipt_email: 'sam@example.com' });

    // Assess
    expect((await stripe.charges.retrieve(declined.id)).receipt_email).toBeNull();
  });

  it.each([
    ['create', () => terminalPaymentIntent(stripe, { receipt_email: 'not-an-email' })],
    [
      'update',
      async () => stripe.paymentIntents.update((await terminalPaymentIntent(stripe)).id, { receipt_email: 'a@b' }),
    ],
  ])('refuses an invalid receipt_email on %s', async (_operation, call) => {
    // Act
    const error = await stripeError(call());

    // Assess
    expect(error).toMatchObject({ statusCode: 400, code: 'email_invalid', param: 'receipt_email' });
  });
});

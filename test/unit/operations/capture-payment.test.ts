/**
 * The capture operation in memory: the store is a map, Stripe a fake client, the clock a fixed instant. What the
 * integration tests show over HTTP (`test/integration/api/capture-amounts.test.ts`), shown here without a network.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config.ts';
import type { Dependencies } from '../../../shared/dependencies.ts';
import { capturePayment } from '../../../shared/operations/capture-payment.ts';
import { InvalidStateError, PaymentNotFoundError, StripeTimeoutError } from '../../../shared/payments/failures.ts';
import type { PaymentRecord } from '../../../shared/payments/types.ts';
import { getPayment, savePayment } from '../../../shared/store/payments.ts';
import { newPayment, T0 } from '../../support/fixtures.ts';
import { type MemoryStore, memoryStore } from '../../support/memory-store.ts';

const LOCATION = 'tml_A';
const everyLocation = () => true;

/** A PaymentIntent as Stripe's API returns it, with what the record follows. */
function stripePaymentIntent(fields: Partial<Stripe.PaymentIntent> & { id: string }): Stripe.PaymentIntent {
  return {
    object: 'payment_intent',
    amount: 1299,
    currency: 'usd',
    status: 'requires_capture',
    amount_capturable: 1299,
    amount_received: 0,
    last_payment_error: null,
    cancellation_reason: null,
    latest_charge: null,
    ...fields,
  } as Stripe.PaymentIntent;
}

/** A Stripe client whose capture and retrieve answer from `paymentIntents`, recording every call. */
function fakeStripe(answers: {
  capture?: (id: string) => Stripe.PaymentIntent;
  retrieve?: (id: string) => Stripe.PaymentIntent;
}) {
  const calls: { method: string; id: string; idempotencyKey?: string | undefined }[] = [];
  const client = {
    paymentIntents: {
      capture: async (id: string, _params: unknown, options: { idempotencyKey?: string } = {}) => {
        calls.push({ method: 'capture', id, idempotencyKey: options.idempotencyKey });
        if (answers.capture === undefined) throw new Error('capture was not expected');
        return answers.capture(id);
      },
      retrieve: async (id: string) => {
        calls.push({ method: 'retrieve', id });
        if (answers.retrieve === undefined) throw new Error('retrieve was not expected');
        return answers.retrieve(id);
      },
    },
  } as unknown as Stripe;
  return { client, calls };
}

function dependencies(store: MemoryStore, stripe: Stripe, nowMs = T0): Dependencies {
  return {
    store,
    stripe: async () => stripe,
    clock: { now: () => nowMs, sleep: async () => undefined },
    settings: parseConfig({ TABLE_NAME: store.table }),
  };
}

/** An authorized (`requires_capture`) payment, stored. */
async function authorized(store: MemoryStore): Promise<PaymentRecord> {
  const created = newPayment({ id: 'pi_auth', locationId: LOCATION, createdAt: new Date(T0), captureMethod: 'manual' });
  return savePayment(store, {
    ...created,
    status: 'requires_capture',
    amountCapturable: created.amount,
    authorizedAt: new Date(T0).toISOString(),
  });
}

describe('capturePayment, in memory', () => {
  it('captures once under the first key, and a repeat answers from the record without asking Stripe', async () => {
    // Prepare
    const store = memoryStore();
    const payment = await authorized(store);
    const stripe = fakeStripe({
      capture: (id) => stripePaymentIntent({ id, status: 'succeeded', amount_capturable: 0, amount_received: 1299 }),
    });
    const deps = dependencies(store, stripe.client);
    const request = { paymentId: payment.id };

    // Act
    const first = await capturePayment(deps, request, everyLocation, { deadline: T0 + 25_000 });
    const again = await capturePayment(deps, request, everyLocation, { deadline: T0 + 25_000 });

    // Assess
    expect(first).toMatchObject({ status: 'succeeded', amountReceived: 1299 });
    expect(again).toMatchObject({ status: 'succeeded', amountReceived: 1299, version: first.version });
    expect(stripe.calls).toEqual([{ method: 'capture', id: payment.id, idempotencyKey: `capture:${payment.id}:0` }]);
    expect((await getPayment(store, payment.id))?.status).toBe('succeeded');
  });

  it('treats another location’s payment as unknown, and asks Stripe nothing', async () => {
    // Prepare
    const store = memoryStore();
    const payment = await authorized(store);
    const stripe = fakeStripe({});

    // Act
    const capture = capturePayment(
      dependencies(store, stripe.client),
      { paymentId: payment.id },
      (locationId) => locationId === 'tml_other',
      { deadline: T0 + 25_000 },
    );

    // Assess
    await expect(capture).rejects.toBeInstanceOf(PaymentNotFoundError);
    expect(stripe.calls).toEqual([]);
  });

  it('records what Stripe holds when it refuses the capture, and says so: the authorization expired', async () => {
    // Prepare
    const store = memoryStore();
    const payment = await authorized(store);
    const stripe = fakeStripe({
      capture: () => {
        throw Stripe.errors.StripeError.generate({
          type: 'invalid_request_error',
          code: 'payment_intent_unexpected_state',
          message: 'This PaymentIntent could not be captured.',
          statusCode: 400,
        } as never);
      },
      retrieve: (id) =>
        stripePaymentIntent({ id, status: 'canceled', amount_capturable: 0, cancellation_reason: 'automatic' }),
    });

    // Act
    const capture = capturePayment(dependencies(store, stripe.client), { paymentId: payment.id }, everyLocation, {
      deadline: T0 + 25_000,
    });

    // Assess
    await expect(capture).rejects.toBeInstanceOf(InvalidStateError);
    await expect(capture).rejects.toMatchObject({ details: { status: 'canceled' } });
    expect((await getPayment(store, payment.id))?.status).toBe('canceled');
    expect(stripe.calls.map((call) => call.method)).toEqual(['capture', 'retrieve']);
  });

  it('answers stripe_timeout without sending anything once the deadline has passed on the injected clock', async () => {
    // Prepare
    const store = memoryStore();
    const payment = await authorized(store);
    const stripe = fakeStripe({});

    // Act
    const capture = capturePayment(
      dependencies(store, stripe.client, T0 + 30_000),
      { paymentId: payment.id },
      everyLocation,
      {
        deadline: T0 + 25_000,
      },
    );

    // Assess
    await expect(capture).rejects.toBeInstanceOf(StripeTimeoutError);
    expect(stripe.calls).toEqual([]);
    expect((await getPayment(store, payment.id))?.status).toBe('requires_capture');
  });
});

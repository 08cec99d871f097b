/**
 * Twenty requests at once on one payment, through the gateway: however they interleave, Stripe sees exactly one
 * write take effect (counted in the emulator's request log: POSTs answered 2xx that were not idempotent replays),
 * every caller gets the winner's result or a 409, and the stored payment ends as Stripe's PaymentIntent.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentResource } from '../../shared/payments/resource.ts';
import { createStripeClient } from '../../shared/stripe/client.ts';
import { type ApiResponse, api, type LocalStack, startTestStack } from '../support/stack.ts';
import { effectiveWrites, emulatorRequests, waitFor } from './support/probes.ts';

const CALLERS = 20;

let stack: LocalStack;
let stripe: Stripe;
let location: { id: string; readers: string[]; token: string };
let orders = 0;

beforeAll(async () => {
  stack = await startTestStack({
    reconcileIntervalSeconds: 3600,
    emulator: { authorizationDelayMs: 30 },
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    log: () => undefined,
  });
  stripe = createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
  location = stack.state.locations[0] as typeof location;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

type PaymentAnswer = ApiResponse<{ payment: PaymentResource; error?: { code: string } }>;

function newOrder(): string {
  orders += 1;
  return `race-${Date.now()}-${orders}`;
}

async function createPayment(body: Record<string, unknown> = {}): Promise<PaymentResource> {
  const response = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
    token: location.token,
    body: { orderId: newOrder(), locationId: location.id, amount: 2500, currency: 'usd', ...body },
  });
  expect(response.status).toBe(201);
  return response.body.payment;
}

/** A manual-capture payment authorized on `readerId`, as the API records it. */
async function authorizedPayment(readerId: string): Promise<PaymentResource> {
  const payment = await createPayment({ captureMethod: 'manual', readerId });
  await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, {
    card_present: { number: '4242424242424242' },
  });
  const view = await waitFor(
    () =>
      api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${payment.id}?refresh=true`, {
        token: location.token,
      }),
    (response) => response.body.payment.status === 'requires_capture',
  );
  expect(view.body.payment.status).toBe('requires_capture');
  return view.body.payment;
}

/** Run `request` `CALLERS` times at once; the Stripe requests they caused come back with the answers. */
async function race<T>(requests: (() => Promise<T>)[]) {
  const logged = (await emulatorRequests(stack)).length;
  const answers = await Promise.all(requests.map((request) => request()));
  const requests_ = (await emulatorRequests(stack)).slice(logged);
  return { answers, stripeRequests: requests_ };
}

const times = <T>(count: number, make: (index: number) => T): T[] => Array.from({ length: count }, (_, i) => make(i));

function post(path: string, body: unknown = {}) {
  return () =>
    api<{ payment: PaymentResource; error?: { code: string } }>(stack, 'POST', path, { token: location.token, body });
}

async function stored(id: string): Promise<PaymentResource> {
  return (await api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${id}`, { token: location.token })).body
    .payment;
}

/** Every answer is the winner's result (2xx with `status`) or a 409; at least one is the winner's. */
function expectOneOutcome(answers: PaymentAnswer[], status: string): void {
  for (const answer of answers) {
    if (answer.status < 300) expect(answer.body.payment.status).toBe(status);
    else expect(answer.status, answer.text).toBe(409);
  }
  expect(answers.some((answer) => answer.status < 300)).toBe(true);
}

describe(`${CALLERS} simultaneous requests on one payment`, () => {
  it('captures once', async () => {
    // Prepare
    const payment = await authorizedPayment(location.readers[0] as string);

    // Act
    const { answers, stripeRequests } = await race(times(CALLERS, () => post(`/payments/${payment.id}/capture`)));

    // Assess
    expectOneOutcome(answers, 'succeeded');
    expect(effectiveWrites(stripeRequests, /\/capture$/)).toHaveLength(1);
    const paymentIntent = await stripe.paymentIntents.retrieve(payment.id);
    expect(paymentIntent).toMatchObject({ status: 'succeeded', amount_received: 2500, amount_capturable: 0 });
    expect(await stored(payment.id)).toMatchObject({ status: 'succeeded', amountReceived: 2500 });
  });

  it('cancels once', async () => {
    // Prepare
    const payment = await authorizedPayment(location.readers[1] as string);

    // Act
    const { answers, stripeRequests } = await race(times(CALLERS, () => post(`/payments/${payment.id}/cancel`)));

    // Assess
    expectOneOutcome(answers, 'canceled');
    expect(effectiveWrites(stripeRequests, /\/cancel$/)).toHaveLength(1);
    expect((await stripe.paymentIntents.retrieve(payment.id)).status).toBe('canceled');
    expect(await stored(payment.id)).toMatchObject({ status: 'canceled', amountCapturable: 0 });
  });

  it('captures or cancels, never both, when captures race cancels', async () => {
    // Prepare
    const payment = await authorizedPayment(location.readers[0] as string);

    // Act
    const { answers, stripeRequests } = await race(
      times(CALLERS, (index) => post(`/payments/${payment.id}/${index % 2 === 0 ? 'capture' : 'cancel'}`)),
    );

    // Assess
    const effects = effectiveWrites(stripeRequests, /\/(capture|cancel)$/);
    expect(effects).toHaveLength(1);
    const winner = effects[0]?.path.endsWith('/capture') ? 'succeeded' : 'canceled';
    const paymentIntent = await stripe.paymentIntents.retrieve(payment.id);
    expect(paymentIntent.status).toBe(winner);
    for (const answer of answers) {
      if (answer.status < 300) expect(answer.body.payment.status).toBe(winner);
      else expect(answer.status, answer.text).toBe(409);
    }
    expect((await stored(payment.id)).status).toBe(winner);
  });

  it.each([
    ['one reader', 1],
    ['two readers of its location', 2],
  ])('sends the payment to a reader once when asked on %s', async (_case, readerCount) => {
    // Prepare
    const payment = await createPayment();
    const readers = location.readers.slice(0, readerCount);

    // Act
    const { answers, stripeRequests } = await race(
      times(CALLERS, (index) => post(`/payments/${payment.id}/process`, { readerId: readers[index % readers.length] })),
    );

    // Assess
    const sent = effectiveWrites(stripeRequests, /\/process_payment_intent$/);
    expect(sent).toHaveLength(1);
    const readerId = sent[0]?.path.split('/')[4] as string;
    for (const answer of answers) {
      if (answer.status === 202) expect(answer.body.payment).toMatchObject({ readerId, attempts: 1 });
      else expect(answer.status, answer.text).toBe(409);
    }
    expect(await stored(payment.id)).toMatchObject({ readerId, attempts: 1, readerAction: { status: 'in_progress' } });
    // The customer pays once.
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, {
      card_present: { number: '4242424242424242' },
    });
    const done = await waitFor(
      () => stored(payment.id),
      (view) => view.status === 'succeeded',
    );
    expect(done).toMatchObject({ status: 'succeeded', amountReceived: 2500, attempts: 1 });
  });

  it('creates one PaymentIntent for one order', async () => {
    // Prepare
    const orderId = newOrder();
    const body = { orderId, locationId: location.id, amount: 2500, currency: 'usd' };

    // Act
    const { answers, stripeRequests } = await race(times(CALLERS, () => post('/payments', body)));

    // Assess
    expect(effectiveWrites(stripeRequests, /^\/v1\/payment_intents$/)).toHaveLength(1);
    const ids = new Set(answers.map((answer) => answer.body.payment?.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1);
    expect(answers.every((answer) => answer.status === 200 || answer.status === 201)).toBe(true);
    const forOrder = await stripe.paymentIntents.list({ limit: 100 });
    expect(forOrder.data.filter((paymentIntent) => paymentIntent.metadata.orderId === orderId)).toHaveLength(1);
  });

  it('clears a reader’s action once', async () => {
    // Prepare
    const readerId = location.readers[1] as string;
    const payment = await createPayment({ readerId });

    // Act
    const { answers, stripeRequests } = await race(
      times(
        CALLERS,
        () => () =>
          api<{ reader: { action: unknown } }>(stack, 'POST', `/readers/${readerId}/cancel-action`, {
            token: location.token,
            body: { paymentId: payment.id },
          }),
      ),
    );

    // Assess
    expect(effectiveWrites(stripeRequests, /\/cancel_action$/)).toHaveLength(1);
    for (const answer of answers) {
      if (answer.status === 200) expect(answer.body.reader.action).toBeNull();
      else expect(answer.status, answer.text).toBe(409);
    }
    expect(await stored(payment.id)).toMatchObject({
      status: 'requires_payment_method',
      readerAction: { status: 'failed', failureCode: 'canceled' },
    });
  });
});

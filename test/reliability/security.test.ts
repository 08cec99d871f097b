/**
 * Security checks on the local stack: nothing secret reaches a log line even at DEBUG, across approvals, declines,
 * reader faults and refused requests; and the webhook route refuses a Stripe event replayed with a signature
 * older than Stripe's five-minute tolerance, so a captured delivery cannot be played back later.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentResource } from '../../shared/payments/resource.ts';
import { createStripeClient } from '../../shared/stripe/client.ts';
import { SIGNATURE_TOLERANCE_SECONDS } from '../../shared/stripe/webhook-signature.ts';
import { api, type LocalStack, startTestStack } from '../support/stack.ts';
import { type CapturedOutput, captureOutput, findLeaks, TEST_CARDS } from './support/log-capture.ts';
import { emulatorControl, queueDepth, queueDrained, waitFor } from './support/probes.ts';

let stack: LocalStack;
let stripe: Stripe;
let location: { id: string; readers: string[]; token: string };
let output: CapturedOutput & { add(line: string): void };

beforeAll(async () => {
  output = captureOutput();
  stack = await startTestStack({
    reconcileIntervalSeconds: 3600,
    // A record that fails under load is back in seconds, not the queue's 3 minutes.
    queue: { visibilityTimeoutSeconds: 3 },
    emulator: { authorizationDelayMs: 20 },
    env: {
      // The most the handlers ever log.
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_METRICS_DISABLED: 'true',
      READER_TIMEOUT_RETRY_DELAY_MS: '20',
    },
    log: (line) => output.add(line),
  });
  stripe = createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
  location = stack.state.locations[0] as typeof location;
}, 120_000);

afterAll(async () => {
  output?.stop();
  await stack?.stop();
});

let orders = 0;

async function payOnReader(readerId: string, cards: string[], captureMethod: 'manual' | 'automatic') {
  orders += 1;
  const created = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
    token: location.token,
    body: {
      orderId: `security-${orders}`,
      locationId: location.id,
      amount: 2000,
      currency: 'usd',
      captureMethod,
      readerId,
    },
  });
  let payment = created.body.payment;
  for (const [index, number] of cards.entries()) {
    if (index > 0) {
      await api(stack, 'POST', `/payments/${payment.id}/process`, { token: location.token, body: { readerId } });
    }
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(readerId, { card_present: { number } });
    payment = (
      await waitFor(
        () =>
          api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${payment.id}?refresh=true`, {
            token: location.token,
          }),
        (response) => response.body.payment.readerAction?.status !== 'in_progress',
      )
    ).body.payment;
  }
  return payment;
}

describe('what the handlers log', () => {
  it('holds no Stripe key, webhook secret, bearer token or card number, even at DEBUG', async () => {
    // Prepare
    const [first, second] = location.readers as [string, string];

    // Act: approvals, every decline card, reader faults, refused requests, bad webhooks.
    const approved = await payOnReader(
      first,
      [TEST_CARDS.genericDecline, TEST_CARDS.insufficientFunds, TEST_CARDS.visa],
      'manual',
    );
    await api(stack, 'POST', `/payments/${approved.id}/capture`, { token: location.token, body: {} });
    await payOnReader(
      second,
      [TEST_CARDS.expiredCard, TEST_CARDS.processingError, TEST_CARDS.lostCard, TEST_CARDS.stolenCard, TEST_CARDS.visa],
      'automatic',
    );
    await emulatorControl(stack, `readers/${first}/offline`);
    const offline = await api(stack, 'POST', '/payments', {
      token: location.token,
      body: { orderId: 'security-offline', locationId: location.id, amount: 2000, currency: 'usd', readerId: first },
    });
    await emulatorControl(stack, `readers/${first}/online`);
    await emulatorControl(stack, `readers/${first}/next-command`, { fault: 'timeout' });
    const timedOut = await api(stack, 'POST', '/payments', {
      token: location.token,
      body: { orderId: 'security-timeout', locationId: location.id, amount: 2000, currency: 'usd', readerId: first },
    });
    await api(stack, 'POST', '/payments', { token: `${location.token}x`, body: {} });
    await api(stack, 'POST', '/payments', { token: location.token, body: { orderId: 4242424242424242 } });
    await fetch(`${stack.apiUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=1,v1=${'0'.repeat(64)}` },
      body: JSON.stringify({ card: TEST_CARDS.visa, key: stack.state.stripe.secretKey }),
    });
    await queueDrained(stack, { quietMs: 700 }).catch((error: Error) => {
      const trouble = output.lines().filter((line) => /"level":"(WARN|ERROR)"|failed/.test(line));
      throw new Error(`${error.message}\n${trouble.join('\n')}`);
    });

    // Assess
    expect(offline.status).toBe(503);
    // A timeout the backend verified and retried past, or gave up on.
    expect([201, 504]).toContain(timedOut.status);
    const lines = output.lines();
    expect(lines.length).toBeGreaterThan(50);
    const leaks = findLeaks(lines, {
      secrets: [stack.state.stripe.secretKey, stack.state.stripe.webhookSecret],
      tokens: [location.token, stack.state.adminToken, ...stack.state.locations.map((l) => l.token)],
      cardNumbers: Object.values(TEST_CARDS),
    });
    expect(leaks).toEqual([]);
  }, 120_000);
});

describe('a replayed webhook delivery', () => {
  let event: Stripe.Event;

  beforeAll(async () => {
    const events = await stripe.events.list({ type: 'payment_intent.succeeded', limit: 1 });
    event = events.data[0] as Stripe.Event;
    // From here nothing is processed, so whatever the receiver queues stays countable.
    await queueDrained(stack, { quietMs: 500 });
    await stack.poller.stop();
  });

  async function deliver(payload: string, signedSecondsAgo: number) {
    const header = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: stack.state.stripe.webhookSecret,
      timestamp: Math.floor(Date.now() / 1000) - signedSecondsAgo,
    });
    return api<{ error?: { code: string }; received?: boolean }>(stack, 'POST', '/webhooks/stripe', {
      headers: { 'stripe-signature': header, 'content-type': 'application/json' },
      body: JSON.parse(payload),
    });
  }

  it.each([SIGNATURE_TOLERANCE_SECONDS + 5, 3_600, 86_400])(
    'is refused with 400 invalid_signature when signed %i s ago, and nothing is queued',
    async (age) => {
      // Act
      const response = await deliver(JSON.stringify(event), age);

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.error?.code).toBe('invalid_signature');
      expect(await queueDepth(stack, stack.sqs.queueUrl)).toBe(0);
    },
  );

  it('is refused when the body was changed under a fresh signature’s timestamp', async () => {
    // Prepare
    const header = Stripe.webhooks.generateTestHeaderString({
      payload: JSON.stringify(event),
      secret: stack.state.stripe.webhookSecret,
    });
    const tampered = { ...event, data: { object: { ...(event.data.object as object), amount_received: 1 } } };

    // Act
    const response = await api<{ error?: { code: string } }>(stack, 'POST', '/webhooks/stripe', {
      headers: { 'stripe-signature': header },
      body: tampered,
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error?.code).toBe('invalid_signature');
    expect(await queueDepth(stack, stack.sqs.queueUrl)).toBe(0);
  });

  it('is accepted inside the tolerance (the check is not simply refusing everything)', async () => {
    // Act
    const response = await deliver(JSON.stringify(event), SIGNATURE_TOLERANCE_SECONDS - 20);

    // Assess
    expect(response.status).toBe(200);
    expect(await queueDepth(stack, stack.sqs.queueUrl)).toBe(1);
  });
});

/**
 * Two local stacks in one process: each hands its handlers its own table, emulator, clock and settings, so neither
 * sees the other's payments, time or thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControls } from '../../local/stripe-emulator/control-client.ts';
import { api, type LocalStack, startTestStack } from '../support/stack.ts';

let first: LocalStack;
let second: LocalStack;

beforeAll(async () => {
  [first, second] = await Promise.all([
    startTestStack({ env: { STUCK_ACTION_AFTER_SECONDS: '7' } }),
    startTestStack({ env: { STUCK_ACTION_AFTER_SECONDS: '9' } }),
  ]);
});

afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
});

async function createPayment(stack: LocalStack, orderId: string) {
  const location = stack.state.locations[0]!;
  return api<{ payment: { id: string; createdAt: string } }>(stack, 'POST', '/payments', {
    token: location.token,
    body: { orderId, locationId: location.id, amount: 1500, currency: 'usd' },
  });
}

describe('two stacks in one process', () => {
  it('keep each its own payments, settings and clock', async () => {
    // Prepare: the first stack's time an hour ahead of the second's
    const hourMs = 60 * 60 * 1000;
    await emulatorControls(first.state.stripe.apiBase).advanceClock(hourMs / 1000);

    // Act
    const [inFirst, inSecond] = await Promise.all([
      createPayment(first, 'order-two-stacks'),
      createPayment(second, 'order-two-stacks'),
    ]);
    const firstSeesSecond = await api(first, 'GET', `/payments/${inSecond.body.payment.id}`, {
      token: first.state.adminToken,
    });
    const secondSeesOwn = await api(second, 'GET', `/payments/${inSecond.body.payment.id}`, {
      token: second.state.adminToken,
    });

    // Assess: the same order made two payments, one in each stack's table and emulator
    expect(inFirst.status).toBe(201);
    expect(inSecond.status).toBe(201);
    expect(inFirst.body.payment.id).not.toBe(inSecond.body.payment.id);
    expect(firstSeesSecond.status).toBe(404);
    expect(secondSeesOwn.status).toBe(200);
    // Each handler read its own stack's clock
    const gapMs = Date.parse(inFirst.body.payment.createdAt) - Date.parse(inSecond.body.payment.createdAt);
    expect(gapMs).toBeGreaterThan(hourMs - 60_000);
    expect(gapMs).toBeLessThan(hourMs + 60_000);
    // … and its own settings
    expect(first.deps.settings.STUCK_ACTION_AFTER_SECONDS).toBe(7);
    expect(second.deps.settings.STUCK_ACTION_AFTER_SECONDS).toBe(9);
    expect(first.deps.store.table).not.toBe(second.deps.store.table);
  });
});

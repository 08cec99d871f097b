/**
 * The two refund events the processor cannot apply alone: `charge.refunded` telling of refunds whose own events were
 * lost (or made in the Dashboard), and a reader refund's action failing with `connection_error` although the refund
 * was made. Both make it read the payment's refunds from Stripe first; an event that needs no read costs none.
 */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvent } from '../../../shared/operations/apply-event.ts';
import { StripeTimeoutError } from '../../../shared/payments/failures.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { parseQueuedEvent } from '../../../shared/stripe/event-observations.ts';
import { claimsFor, emulatorControl, type LocalParts, presentCard, startLocalParts } from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, paymentThroughReader } from '../api/client.ts';

let parts: LocalParts;
let cashier: ApiClient;
let stripe: Stripe;
let location: { id: string; readers: string[] };
const log = { warn: () => undefined };

beforeAll(async () => {
  parts = await startLocalParts();
  location = parts.locations[0]!;
  cashier = apiClient(claimsFor([location.id]));
  stripe = createStripeClient('sk_test_integration', parts.emulator.url);
});
afterAll(() => parts?.close());

const paid = () =>
  paymentThroughReader(cashier, parts.emulator.url, {
    locationId: location.id,
    readerId: location.readers[0]!,
    captureMethod: 'automatic',
    amount: 1000,
  });

/** An event as Stripe would deliver it, through the processor's parser. */
function queued(type: string, object: unknown) {
  const body = JSON.stringify({
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    type,
    created: Math.floor(parts.deps.clock.now() / 1000),
    data: { object },
  });
  const parsed = parseQueuedEvent(body);
  if (parsed.kind !== 'payment') throw new Error(`not a payment event: ${JSON.stringify(parsed)}`);
  return parsed;
}

const refundLists = async () =>
  (await emulatorRequests(parts.emulator.url)).filter((r) => r.method === 'GET' && r.path === '/v1/refunds').length;

describe('refund events that need a read', () => {
  it('charge.refunded with refunds the record does not know: reads them, Dashboard refunds included', async () => {
    // Prepare
    const payment = await paid();
    await cashier.refund(payment.id, `k-${randomUUID()}`, { amount: 400 });
    await stripe.refunds.create({ payment_intent: payment.id, amount: 300 });
    const charge = await stripe.charges.retrieve(
      (await stripe.paymentIntents.retrieve(payment.id)).latest_charge as string,
    );
    const before = await refundLists();

    // Act
    const outcome = await applyEvent(parts.deps, queued('charge.refunded', charge), log);
    const after = (await cashier.get(payment.id)).body.payment;

    // Assess
    expect(charge.amount_refunded).toBe(700);
    expect(outcome).toBe('applied');
    expect((await refundLists()) - before).toBe(1);
    expect(after.refunds).toHaveLength(2);
    expect(after.refunds[1]).toMatchObject({ idempotencyKey: null, amount: 300, method: 'api' });
  });

  it('a read Stripe does not answer ends with the invocation’s time: the record fails alone, nothing written', async () => {
    // Prepare: refunds the record does not know of, so the event needs a read, and that read held without an answer.
    const payment = await paid();
    await stripe.refunds.create({ payment_intent: payment.id, amount: 250 });
    const charge = await stripe.charges.retrieve(
      (await stripe.paymentIntents.retrieve(payment.id)).latest_charge as string,
    );
    const event = queued('charge.refunded', charge);
    await emulatorControl(parts.emulator, '/_emulator/faults', {
      method: 'GET',
      path: '/v1/refunds',
      fault: 'timeout',
      count: 10,
    });

    // Act: 700 ms of the invocation left for this record's calls.
    const startedAt = Date.now();
    const outOfTime = await applyEvent(parts.deps, event, log, {
      remainingMs: () => 700 - (Date.now() - startedAt),
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const tookMs = Date.now() - startedAt;
    await fetch(`${parts.emulator.url}/_emulator/faults`, { method: 'DELETE' });
    const untouched = (await cashier.get(payment.id)).body.payment;
    const later = await applyEvent(parts.deps, event, log);

    // Assess
    expect(outOfTime).toBeInstanceOf(StripeTimeoutError);
    expect(tookMs).toBeLessThan(5_000);
    expect(untouched.refunds).toEqual([]);
    expect(later).toBe('applied');
    expect((await cashier.get(payment.id)).body.payment.refunds).toEqual([expect.objectContaining({ amount: 250 })]);
  });

  it('charge.refunded that the record already accounts for: no Stripe call', async () => {
    // Prepare
    const payment = await paid();
    await cashier.refund(payment.id, `k-${randomUUID()}`, { amount: 250 });
    const charge = await stripe.charges.retrieve(
      (await stripe.paymentIntents.retrieve(payment.id)).latest_charge as string,
    );
    const before = await refundLists();

    // Act
    await applyEvent(parts.deps, queued('charge.refunded', charge), log);

    // Assess
    expect(charge.amount_refunded).toBe(250);
    expect((await refundLists()) - before).toBe(0);
  });

  it('a reader refund failing with connection_error after the refund was made: recorded as made, not failed', async () => {
    // Prepare
    const payment = await paid();
    const readerId = location.readers[1]!;
    const key = `k-${randomUUID()}`;
    const started = await cashier.refund(payment.id, key, { readerId, amount: 600 });
    await presentCard(parts.emulator, readerId);
    const reader = (await stripe.terminal.readers.retrieve(readerId)) as Stripe.Terminal.Reader;
    const lostAnswer = {
      ...reader,
      action: { ...reader.action, status: 'failed', failure_code: 'connection_error', failure_message: 'lost' },
    };

    // Act
    const outcome = await applyEvent(parts.deps, queued('terminal.reader.action_failed', lostAnswer), log);
    const after = (await cashier.get(payment.id)).body.payment;

    // Assess
    expect(started.status).toBe(202);
    expect(outcome).toBe('applied');
    expect(after.refunds[0]).toMatchObject({
      idempotencyKey: key,
      id: expect.stringMatching(/^re_/),
      readerAction: { status: 'succeeded' },
    });
    expect(['pending', 'succeeded']).toContain(after.refunds[0].status);
  });
});

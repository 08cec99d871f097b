/**
 * Stripe keeps a key's first answer for 24 hours, errors included. A capture or cancel key that holds an old error
 * (replayed with `Idempotent-Replayed: true`) or another request's answer (`idempotency_error`) must not block the
 * payment for a day: the PaymentIntent is read again and, while it can still be captured (cancelled), the next
 * try's key is used — for the POS and the reconciler's stale-authorization policy alike — and never twice.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reconcileAgingAuthorization } from '../../../shared/operations/reconcile-authorization.ts';
import { idempotencyKeys } from '../../../shared/payments/idempotency.ts';
import { createReconcileRun } from '../../../shared/reconcile/run-context.ts';
import { reconcileSettings } from '../../../shared/reconcile/settings.ts';
import { getPayment } from '../../../shared/store/payments.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import {
  claimsFor,
  idleReader,
  type JsonBody,
  type LocalParts,
  presentCard,
  startLocalParts,
} from '../../support/invoke.ts';
import { type ApiClient, apiClient, emulatorRequests, eventually, newOrderId } from './client.ts';

/** Authorizations count as aging at once (0.036 s), so the reconciler's policy applies to them. */
const WARNING_AFTER_HOURS = '0.00001';

let parts: LocalParts;
let cashier: ApiClient;
let locationId: string;
let readerId: string;
const stripe = () => createStripeClient('sk_test_integration', parts.emulator.url);
const quietLogger = new Logger({ serviceName: 'stored-errors-test', logLevel: 'SILENT' });

beforeAll(async () => {
  parts = await startLocalParts({ env: { CAPTURE_WARNING_AFTER_HOURS: WARNING_AFTER_HOURS } });
  const [store] = parts.locations as [{ id: string; readers: [string, string] }];
  locationId = store.id;
  readerId = store.readers[0];
  cashier = apiClient(claimsFor([locationId]));
});
afterAll(() => parts?.close());
afterEach(() => idleReader(parts.emulator, readerId));

async function newPayment(): Promise<JsonBody> {
  const response = await cashier.create({
    orderId: newOrderId(),
    locationId,
    amount: 1299,
    currency: 'usd',
    captureMethod: 'manual',
  });
  return response.body.payment;
}

/** Process the payment on the reader, tap a card, and wait until it is recorded authorized. */
async function authorize(paymentId: string): Promise<void> {
  await cashier.process(paymentId, { readerId });
  await presentCard(parts.emulator, readerId);
  const settled = await eventually(
    () => cashier.get(paymentId, { refresh: 'true' }),
    (response) => response.body.payment.status === 'requires_capture',
  );
  expect(settled.body.payment.status).toBe('requires_capture');
}

/** A capture sent under the payment's first capture key before it was authorized: Stripe stores its error. */
async function storeCaptureError(paymentId: string, params: { amount_to_capture?: number } = {}): Promise<void> {
  const idempotencyKey = idempotencyKeys.capturePayment(paymentId, 0);
  const answer = await stripe()
    .paymentIntents.capture(paymentId, { ...params, expand: ['latest_charge'] }, { idempotencyKey })
    .catch((error: { code?: string }) => error.code);
  expect(answer).toBe('payment_intent_unexpected_state');
}

/** Another request (here a metadata update) that took the payment's first cancel key. */
async function takeCancelKey(paymentId: string): Promise<void> {
  const idempotencyKey = idempotencyKeys.cancelPayment(paymentId, 0);
  await stripe().paymentIntents.update(paymentId, { metadata: { note: 'key taken' } }, { idempotencyKey });
}

/** What Stripe received for the payment's `capture` or `cancel`, oldest first, without the test's own request. */
async function writes(paymentId: string, operation: 'capture' | 'cancel') {
  return (await emulatorRequests(parts.emulator.url))
    .filter((r) => r.method === 'POST' && r.path === `/v1/payment_intents/${paymentId}/${operation}`)
    .filter((r) => r.idempotencyKey !== null)
    .map(({ idempotencyKey, status, replayed }) => ({ idempotencyKey, status, replayed }));
}

describe('POST /payments/{id}/capture after an error stored under its key', () => {
  it('captures under the next key once a read shows the payment still capturable, and captures once', async () => {
    // Prepare
    const payment = await newPayment();
    await storeCaptureError(payment.id);
    await authorize(payment.id);

    // Act
    const captured = await cashier.capture(payment.id);
    const again = await cashier.capture(payment.id);

    // Assess
    expect(captured.status).toBe(200);
    expect(captured.body.payment).toMatchObject({ status: 'succeeded', amountReceived: 1299 });
    expect(again.status).toBe(200);
    expect(again.body.payment).toMatchObject({ status: 'succeeded', amountReceived: 1299 });
    expect(await writes(payment.id, 'capture')).toEqual([
      { idempotencyKey: `capture:${payment.id}:0`, status: 400, replayed: false },
      { idempotencyKey: `capture:${payment.id}:0`, status: 400, replayed: true },
      { idempotencyKey: `capture:${payment.id}:1`, status: 200, replayed: false },
    ]);
    expect((await stripe().paymentIntents.retrieve(payment.id)).amount_received).toBe(1299);
  });

  it('captures under the next key when another capture request took the first (idempotency_error)', async () => {
    // Prepare: a capture of 1000 tried before the authorization; the POS now captures all of it
    const payment = await newPayment();
    await storeCaptureError(payment.id, { amount_to_capture: 1000 });
    await authorize(payment.id);

    // Act
    const captured = await cashier.capture(payment.id);

    // Assess
    expect(captured.status).toBe(200);
    expect(captured.body.payment).toMatchObject({ status: 'succeeded', amountReceived: 1299 });
    const ran = (await writes(payment.id, 'capture')).filter((w) => w.status === 200 && !w.replayed);
    expect(ran).toEqual([{ idempotencyKey: `capture:${payment.id}:1`, status: 200, replayed: false }]);
  });
});

describe('POST /payments/{id}/cancel when its key holds another request’s answer', () => {
  it('cancels under the next key once a read shows the payment still cancelable, and answers a repeat 200', async () => {
    // Prepare
    const payment = await newPayment();
    await takeCancelKey(payment.id);

    // Act
    const canceled = await cashier.cancel(payment.id, { reason: 'requested_by_customer' });
    const again = await cashier.cancel(payment.id, { reason: 'abandoned' });

    // Assess
    expect(canceled.status).toBe(200);
    expect(canceled.body.payment.status).toBe('canceled');
    expect(again.status).toBe(200);
    const ran = (await writes(payment.id, 'cancel')).filter((w) => w.status === 200 && !w.replayed);
    expect(ran).toEqual([{ idempotencyKey: `cancel:${payment.id}:1`, status: 200, replayed: false }]);
    expect((await stripe().paymentIntents.retrieve(payment.id)).cancellation_reason).toBe('requested_by_customer');
  });
});

describe('the reconciler’s stale-authorization policy after an error stored under its key', () => {
  it.each([
    ['capture', storeCaptureError, 'succeeded'],
    ['cancel', takeCancelKey, 'canceled'],
  ] as const)('%s: acts once, under the next key', async (policy, blockFirstKey, status) => {
    // Prepare
    const payment = await newPayment();
    await blockFirstKey(payment.id);
    await authorize(payment.id);
    const candidate = (await getPayment(parts.deps.store, payment.id))!;
    const settings = { ...reconcileSettings(parts.deps.settings), staleAuthorizationAction: policy };
    const run = createReconcileRun({ deps: parts.deps, settings, logger: quietLogger });

    // Act
    await reconcileAgingAuthorization(candidate, run);

    // Assess
    expect(run.summary.failures).toBe(0);
    expect(policy === 'capture' ? run.summary.authorizationsCaptured : run.summary.authorizationsCanceled).toBe(1);
    expect((await stripe().paymentIntents.retrieve(payment.id)).status).toBe(status);
    expect((await cashier.get(payment.id)).body.payment.status).toBe(status);
    const ran = (await writes(payment.id, policy)).filter((w) => w.status === 200 && !w.replayed);
    expect(ran.map((w) => w.idempotencyKey)).toEqual([`${policy}:${payment.id}:1`]);
  });
});

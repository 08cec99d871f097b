/**
 * Helpers for the reconciler's integration tests: the local stack's API, the emulator's controls and request log,
 * the stored records, and runs of the reconciler handler (through the stack's scheduler, or directly for runs
 * side by side, which the scheduler never starts).
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { expect } from 'vitest';
import { lambdaContext } from '../../../local/lambda.ts';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import type { PaymentRecord } from '../../../shared/payments/types.ts';
import type { ReconcileRun, ReconcileSummary } from '../../../shared/reconcile/run-context.ts';
import { getPayment } from '../../../shared/store/payments.ts';
import { createStripeClient } from '../../../shared/stripe/client.ts';
import { api, type LocalStack, type StackOptions, startTestStack } from '../../support/stack.ts';

export type { ReconcileSummary };

/** A stack for reconciler tests: the timer never fires on its own (runs are started by the test). */
export function startReconcileStack(env: Record<string, string>, options: StackOptions = {}): Promise<LocalStack> {
  return startTestStack({
    reconcileIntervalSeconds: 3600,
    ...options,
    emulator: { authorizationDelayMs: 50, ...options.emulator },
    env: {
      POWERTOOLS_LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
      RECONCILE_STRIPE_CALL_INTERVAL_MS: '5',
      ...env,
    },
  });
}

export function stripeFor(stack: LocalStack): Stripe {
  return createStripeClient(stack.state.stripe.secretKey, stack.state.stripe.apiBase);
}

/** POST to an `/_emulator` control. */
export function emulator(stack: LocalStack, path: string, body: unknown = {}): Promise<unknown> {
  return emulatorControls(stack.state.stripe.apiBase).post(path, body);
}

export interface EmulatorRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
}

/** The API requests the emulator received, oldest first. */
export async function emulatorRequests(stack: LocalStack): Promise<EmulatorRequest[]> {
  const response = await fetch(`${stack.state.stripe.apiBase}/_emulator/requests`);
  return ((await response.json()) as { data: EmulatorRequest[] }).data;
}

let orders = 0;

/** POST /payments with a reader: the PaymentIntent is created and shown on the reader. */
export async function startPayment(
  stack: LocalStack,
  readerId: string,
  options: { captureMethod?: 'automatic' | 'manual'; amount?: number } = {},
): Promise<PaymentResource> {
  const location = stack.state.locations.find((candidate) => candidate.readers.includes(readerId))!;
  orders += 1;
  const response = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
    token: location.token,
    body: {
      orderId: `reconcile-${Date.now()}-${orders}`,
      locationId: location.id,
      amount: options.amount ?? 1500,
      currency: 'usd',
      captureMethod: options.captureMethod ?? 'automatic',
      readerId,
    },
  });
  expect(response.status).toBe(201);
  expect(response.body.payment.readerAction?.status).toBe('in_progress');
  return response.body.payment;
}

/** The customer taps a card on the reader (the emulator's test helper). */
export function tap(stack: LocalStack, readerId: string, number = '4242424242424242') {
  return stripeFor(stack).testHelpers.terminal.readers.presentPaymentMethod(readerId, { card_present: { number } });
}

/** GET /payments/{id} as the POS sees it (never `refresh=true`: only what is stored). */
export async function paymentView(stack: LocalStack, id: string): Promise<PaymentResource> {
  const response = await api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${id}`, {
    token: stack.state.adminToken,
  });
  expect(response.status).toBe(200);
  return response.body.payment;
}

/** GET /payments?flag=… (every location). */
export async function flaggedIds(stack: LocalStack, flag: string): Promise<string[]> {
  const response = await api<{ payments: PaymentResource[] }>(stack, 'GET', `/payments?flag=${flag}&limit=100`, {
    token: stack.state.adminToken,
  });
  expect(response.status).toBe(200);
  return response.body.payments.map((payment) => payment.id);
}

/** The record as stored in the stack's table. */
export async function stored(stack: LocalStack, id: string): Promise<PaymentRecord> {
  const record = await getPayment(stack.deps.store, id);
  if (record === undefined) throw new Error(`payment ${id} is not stored`);
  return record;
}

/** One scheduled run, as the stack's timer starts it; its summary. */
export async function scheduledRun(stack: LocalStack): Promise<ReconcileSummary> {
  const outcome = await stack.scheduler.runNow();
  if (outcome === undefined) throw new Error('the reconciler handler does not exist');
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.result as ReconcileSummary;
}

const scheduledEvent = (): ScheduledEvent => ({
  version: '0',
  id: `run-${Math.random().toString(36).slice(2)}`,
  'detail-type': 'Scheduled Event',
  source: 'aws.scheduler',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:scheduler:us-east-1:000000000000:schedule/default/reconcile'],
  detail: {},
});

/** A Lambda context with the reconciler's 60 s timeout. */
export function reconcilerContext(timeoutSeconds = 60): Context {
  return lambdaContext({ name: 'Reconcile', entry: 'functions/reconcile/reconcile.ts', timeoutSeconds }, 'us-east-1');
}

/** Invoke the handler directly over the stack's dependencies, e.g. twice at once. */
export async function directRun(stack: LocalStack, context: Context = reconcilerContext()): Promise<ReconcileSummary> {
  const { handler } = await import('../../../functions/reconcile/reconcile.ts');
  return handler.withDependencies(stack.deps)(scheduledEvent(), context);
}

/** Read until `done` holds or `timeoutMs` passes; returns the last value either way, so assert on it. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 8_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Move the stack's time on by `ms`: the emulator's clock, which the handlers read too. Nothing waits for it. */
export async function advance(stack: LocalStack, ms: number): Promise<void> {
  if (ms > 0) await emulatorControls(stack.state.stripe.apiBase).advanceClock(ms / 1000);
}

/** Counts the event processor's batches and the records they held, so a test can wait for what it queued. */
export function watchBatches(stack: LocalStack): { readonly count: number; readonly received: number } {
  let count = 0;
  let received = 0;
  stack.poller.onBatch((outcome) => {
    count += 1;
    received += outcome.received;
  });
  return {
    get count() {
      return count;
    },
    get received() {
      return received;
    },
  };
}

/** Until nothing is queued or in flight, and no batch has run for a moment. */
export async function drained(stack: LocalStack, batches: { readonly count: number }, quietMs = 400): Promise<void> {
  const until = Date.now() + 15_000;
  let quietSince = Date.now();
  let seen = batches.count;
  while (Date.now() < until) {
    const { Attributes = {} } = await stack.sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.sqs.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const pending =
      Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
    if (pending > 0 || batches.count !== seen) {
      seen = batches.count;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) {
      return;
    }
    await sleep(50);
  }
  throw new Error('the event queue did not drain');
}

/** The events Stripe created about a PaymentIntent (its own, its charge's and its reader actions'). */
export async function eventsOf(stack: LocalStack, paymentIntentId: string): Promise<Stripe.Event[]> {
  const events = await stripeFor(stack).events.list({ limit: 100 });
  return events.data.filter((event) => {
    const object = event.data.object as {
      id?: string;
      payment_intent?: string;
      action?: Stripe.Terminal.Reader.Action | null;
    };
    const actionIntent = object.action?.process_payment_intent?.payment_intent;
    return (
      object.id === paymentIntentId || object.payment_intent === paymentIntentId || actionIntent === paymentIntentId
    );
  });
}

/**
 * Hold each run's `callNumber`-th Stripe call until every run has reached it, then let them all go at once: two
 * reconcilers sending the same write at the same moment, whatever the machine's speed.
 */
export function meetAtStripeCall(runs: ReconcileRun[], callNumber: number): void {
  let arrived = 0;
  let release: () => void = () => undefined;
  const together = new Promise<void>((resolve) => {
    release = resolve;
  });
  for (const run of runs) {
    const send = run.stripe.bind(run);
    let calls = 0;
    run.stripe = async (call) => {
      calls += 1;
      if (calls === callNumber) {
        arrived += 1;
        if (arrived === runs.length) release();
        await together;
      }
      return send(call);
    };
  }
}

/**
 * DynamoDB requests per POS API call, each route on its happy path. Every call starts from a quiet stack and runs
 * with the emulator's webhooks held, so the processor cannot add requests of its own to the call's count; the
 * held events are released after the call.
 */
import { allListKeys, LIST_SHARDS } from '../../shared/payments/index-attributes.ts';
import type { PaymentResource } from '../../shared/payments/resource.ts';
import { createPayment, isSettledAfterTap, newOrderId, waitForRecorded } from '../payments.ts';
import { deliver, readerDisplayEvent, signDelivery } from '../signed-events.ts';
import type { ApiResponse, BenchStack, DynamoTally } from '../stack.ts';

export interface ApiCallCount {
  /** `METHOD /path` as in `shared/routes.ts`. */
  route: string;
  /** Which happy path, when a route has several. */
  variant?: string;
  status: number;
  tally: DynamoTally;
}

export interface ApiDynamoResult {
  calls: ApiCallCount[];
}

/** The goal: at most this many DynamoDB requests per POS API call. */
export const MAX_DYNAMO_REQUESTS_PER_CALL = 2;

/**
 * Process writes twice by design: it claims the attempt before the reader is asked (so racing requests never send
 * one payment to two readers), and records that Stripe answered (so the command stops counting as in flight and
 * reads of the reader can end the attempt again). A refund writes twice for the same reasons: it is claimed against
 * what is left to refund before Stripe hears of it (so racing refunds never refund more than was paid), then
 * Stripe's answer is recorded. `POST /payments` with `readerId` is two calls in one (create, then process on the
 * reader), so its budget is theirs added up.
 */
const PROCESS_BUDGET = MAX_DYNAMO_REQUESTS_PER_CALL + 1;
const COMPOUND_CALL_BUDGETS: Readonly<Record<string, { budget: number; why: string }>> = {
  'POST /payments/{id}/process': {
    budget: PROCESS_BUDGET,
    why: 'a read, the claim of the attempt before the reader is asked, and the record of Stripe’s answer',
  },
  'POST /payments/{id}/refunds': {
    budget: PROCESS_BUDGET,
    why: 'as process: a read, the refund claimed against the balance before Stripe hears of it, and the record of Stripe’s answer',
  },
  'POST /payments/{id}/refunds (with readerId)': {
    budget: PROCESS_BUDGET,
    why: 'as process: a read, the refund claimed against the balance before the reader is asked, and the record of Stripe’s answer',
  },
  'POST /payments (with readerId)': {
    budget: MAX_DYNAMO_REQUESTS_PER_CALL + PROCESS_BUDGET,
    why: 'create + process in one call: each half within its own budget',
  },
  'GET /payments (all locations)': {
    budget: allListKeys.length,
    why:
      `one query per byCreated partition, in parallel: ${LIST_SHARDS} spread payments' writes so no key takes them ` +
      'all, and the one payments stored before the split are still listed from',
  },
};

/** The DynamoDB request budget of a measured call, and why it differs from the goal when it does. */
export function dynamoBudget(name: string): { budget: number; why?: string } {
  return COMPOUND_CALL_BUDGETS[name] ?? { budget: MAX_DYNAMO_REQUESTS_PER_CALL };
}

interface Step {
  route: string;
  variant?: string;
  expect: number[];
  call: () => Promise<ApiResponse>;
  /** After the call, with webhooks flowing again: bring the payment to the state the next step needs. */
  after?: (response: ApiResponse) => Promise<void>;
}

/** Measure one call per route (and per notable happy-path variant). */
export async function measureApiDynamo(bench: BenchStack): Promise<ApiDynamoResult> {
  const { token, id: locationId, readers } = bench.location;
  const [readerA, readerB] = readers as [string, string];
  const admin = bench.adminToken;
  const secret = bench.stack.state.stripe.webhookSecret;
  const ids: Record<string, string> = {};
  const orderId = newOrderId('bench-api');
  const paymentOf = (response: ApiResponse) => (response.body as { payment: PaymentResource }).payment;

  const steps: Step[] = [
    { route: 'GET /readers', expect: [200], call: () => bench.api('GET', '/readers', { token }) },
    { route: 'GET /readers/{id}', expect: [200], call: () => bench.api('GET', `/readers/${readerA}`, { token }) },
    {
      route: 'POST /payments',
      expect: [201],
      call: () =>
        bench.api('POST', '/payments', {
          token,
          body: { orderId, locationId, amount: 1500, currency: 'usd', captureMethod: 'manual' },
        }),
      after: async (response) => {
        ids.manual = paymentOf(response).id;
      },
    },
    {
      route: 'POST /payments',
      variant: 'same order again',
      expect: [200],
      call: () =>
        bench.api('POST', '/payments', {
          token,
          body: { orderId, locationId, amount: 1500, currency: 'usd', captureMethod: 'manual' },
        }),
    },
    {
      route: 'PATCH /payments/{id}',
      expect: [200],
      call: () => bench.api('PATCH', `/payments/${ids.manual}`, { token, body: { amount: 2000 } }),
    },
    { route: 'GET /payments/{id}', expect: [200], call: () => bench.api('GET', `/payments/${ids.manual}`, { token }) },
    {
      route: 'GET /payments/{id}',
      variant: '?refresh=true',
      expect: [200],
      call: () => bench.api('GET', `/payments/${ids.manual}?refresh=true`, { token }),
    },
    {
      route: 'POST /payments/{id}/process',
      expect: [202],
      call: () => bench.api('POST', `/payments/${ids.manual}/process`, { token, body: { readerId: readerA } }),
      after: async () => {
        await bench.tap(readerA);
        await waitForRecorded(bench, ids.manual as string, (p) => isSettledAfterTap(p, 'manual'));
      },
    },
    {
      route: 'POST /payments/{id}/capture',
      expect: [200],
      call: () => bench.api('POST', `/payments/${ids.manual}/capture`, { token, body: {} }),
      after: async () => {
        await waitForRecorded(bench, ids.manual as string, (p) => p.status === 'succeeded');
      },
    },
    {
      route: 'POST /payments/{id}/refunds',
      expect: [201],
      call: () =>
        bench.api('POST', `/payments/${ids.manual}/refunds`, {
          token,
          body: { amount: 500 },
          headers: { 'Idempotency-Key': newOrderId('bench-refund') },
        }),
    },
    {
      route: 'GET /payments/{id}/refunds',
      expect: [200],
      call: () => bench.api('GET', `/payments/${ids.manual}/refunds`, { token }),
    },
    {
      route: 'GET /payments/{id}/receipt',
      expect: [200],
      call: () => bench.api('GET', `/payments/${ids.manual}/receipt`, { token }),
    },
    {
      route: 'POST /payments/{id}/receipt/email',
      expect: [202],
      call: () =>
        bench.api('POST', `/payments/${ids.manual}/receipt/email`, { token, body: { email: 'customer@example.com' } }),
    },
    {
      route: 'PUT /locations/{id}/tipping',
      expect: [200],
      call: () =>
        bench.api('PUT', `/locations/${locationId}/tipping`, {
          token,
          body: { currency: 'usd', percentages: [10, 15, 20] },
        }),
    },
    {
      route: 'GET /locations/{id}/tipping',
      expect: [200],
      call: () => bench.api('GET', `/locations/${locationId}/tipping`, { token }),
    },
    {
      route: 'POST /readers/{id}/display',
      expect: [200],
      call: () =>
        bench.api('POST', `/readers/${readerB}/display`, {
          token,
          body: {
            cart: {
              currency: 'usd',
              lineItems: [{ description: 'Espresso', amount: 350, quantity: 2 }],
              tax: 56,
              total: 756,
            },
          },
        }),
    },
    {
      route: 'POST /payments',
      variant: 'with readerId',
      expect: [201],
      call: () =>
        bench.api('POST', '/payments', {
          token,
          body: { orderId: newOrderId('bench-api'), locationId, amount: 1500, currency: 'usd', readerId: readerB },
        }),
      after: async (response) => {
        ids.onReader = paymentOf(response).id;
      },
    },
    {
      route: 'POST /readers/{id}/cancel-action',
      expect: [200],
      call: () => bench.api('POST', `/readers/${readerB}/cancel-action`, { token, body: { paymentId: ids.onReader } }),
    },
    {
      route: 'POST /payments/{id}/cancel',
      expect: [200],
      call: () => bench.api('POST', `/payments/${ids.onReader}/cancel`, { token, body: {} }),
      after: async () => {
        ids.stillOnReader = (await createPayment(bench, { captureMethod: 'automatic', readerId: readerB })).id;
      },
    },
    {
      route: 'POST /payments/{id}/cancel',
      variant: 'reader action in progress',
      expect: [200],
      call: () => bench.api('POST', `/payments/${ids.stillOnReader}/cancel`, { token, body: {} }),
    },
    { route: 'GET /locations', expect: [200], call: () => bench.api('GET', '/locations', { token: admin }) },
    {
      route: 'POST /locations',
      expect: [201],
      call: () =>
        bench.api('POST', '/locations', {
          token: admin,
          body: {
            displayName: 'Bench Kiosk',
            address: { line1: '1 Bench St', city: 'Toronto', postalCode: 'M5V 1J1', country: 'CA', state: 'ON' },
          },
        }),
    },
    {
      route: 'POST /readers',
      expect: [201],
      call: () =>
        bench.api('POST', '/readers', {
          token: admin,
          body: { registrationCode: 'simulated-wpe', locationId, label: 'Bench spare' },
        }),
      after: async (response) => {
        ids.spareReader = (response.body as { reader: { id: string } }).reader.id;
      },
    },
    {
      route: 'PATCH /readers/{id}',
      expect: [200],
      call: () =>
        bench.api('PATCH', `/readers/${ids.spareReader}`, { token: admin, body: { label: 'Bench back office' } }),
    },
    {
      route: 'DELETE /readers/{id}',
      expect: [204],
      call: () => bench.api('DELETE', `/readers/${ids.spareReader}`, { token: admin }),
    },
    { route: 'GET /payments', expect: [200], call: () => bench.api('GET', '/payments', { token }) },
    {
      route: 'GET /payments',
      variant: 'all locations',
      expect: [200],
      call: () => bench.api('GET', '/payments', { token: admin }),
    },
    {
      route: 'POST /webhooks/stripe',
      expect: [200],
      // A handled event type the processor then ignores without reading the table, so only the receiver counts.
      call: async () => ({
        status: await deliver(bench.stack.apiUrl, signDelivery(readerDisplayEvent(readerA), secret)),
        body: null,
      }),
    },
    { route: 'GET /health', expect: [200], call: () => bench.api('GET', '/health') },
  ];

  const calls: ApiCallCount[] = [];
  for (const step of steps) {
    await bench.quiesce();
    await bench.control('webhooks', { mode: 'hold' });
    const { result: response, tally } = await bench.dynamo.measure(step.call);
    await bench.control('webhooks', { mode: 'deliver' });
    await bench.control('webhooks/release', {});
    if (!step.expect.includes(response.status)) {
      throw new Error(
        `${step.route}${step.variant ? ` (${step.variant})` : ''}: HTTP ${response.status} ${JSON.stringify(response.body).slice(0, 400)}`,
      );
    }
    calls.push({
      route: step.route,
      ...(step.variant ? { variant: step.variant } : {}),
      status: response.status,
      tally,
    });
    await step.after?.(response);
  }
  await bench.quiesce();
  return { calls };
}

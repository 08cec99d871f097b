/**
 * Rolling the Stripe secret key on the running local stack, as the runbook does on AWS: roll it at Stripe with the
 * old key kept for a while (`/_emulator/keys/roll`), put the new one where the functions read it (`configure`, the
 * local stand-in for `put-secret-value`), and let the stack's clock pass the secrets' max age and then the old key's
 * expiry. Payments are taken on every reader all along; none fails, the handlers keep the old key until its max age
 * and use the new one from then on, and no request reaches Stripe with the old key once it has expired.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControls, type RolledKeyAnswer } from '../../../local/stripe-emulator/control-client.ts';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import { SECRET_MAX_AGE_MS } from '../../../shared/secrets.ts';
import { api, type LocalStack, startTestStack } from '../../support/stack.ts';

/** The key the test taps cards with (Stripe's test helper stands in for the customer): not the stack's. */
const CUSTOMER_KEY = 'sk_test_customer_taps';

interface LoggedRequest {
  path: string;
  apiKey: string | null;
  status: number;
  createdAt: string;
}

interface Taken {
  phase: string;
  paymentId: string | null;
  outcome: string;
}

let stack: LocalStack;
let customer: Stripe;

beforeAll(async () => {
  stack = await startTestStack({
    // No reconciler run: every Stripe request in the log is one a payment made.
    reconcileIntervalSeconds: 3600,
    emulator: { authorizationDelayMs: 20 },
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    log: () => undefined,
  });
  customer = new Stripe(CUSTOMER_KEY, {
    host: '127.0.0.1',
    port: stack.emulator.port,
    protocol: 'http',
    telemetry: false,
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const controls = () => emulatorControls(stack.emulator.url);
const redacted = (key: string) => `sk_test_…${key.slice(-4)}`;

/** Poll `check` (wall time: what it waits for is work under way, not domain time) until it holds. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The Stripe requests the handlers made (the customer's taps left out), oldest first. */
async function handlerRequests(): Promise<LoggedRequest[]> {
  const log = await controls().get<{ data: LoggedRequest[] }>('requests');
  return log.data.filter((request) => request.apiKey !== redacted(CUSTOMER_KEY));
}

/** One payment on `readerId`, through the API, approved on the reader; its outcome is `succeeded` or what went wrong. */
async function takePayment(
  location: LocalStack['state']['locations'][number],
  readerId: string,
  orderId: string,
): Promise<{ paymentId: string | null; outcome: string }> {
  const created = await api<{ payment: PaymentResource }>(stack, 'POST', '/payments', {
    token: location.token,
    body: { orderId, locationId: location.id, amount: 1500, currency: 'usd', readerId },
  });
  if (created.status !== 201) return { paymentId: null, outcome: `create answered ${created.status}: ${created.text}` };
  const paymentId = created.body.payment.id;
  await customer.testHelpers.terminal.readers.presentPaymentMethod(readerId, {
    card_present: { number: '4242424242424242' },
  });
  let status = created.body.payment.status as string;
  const deadline = Date.now() + 20_000;
  while (status !== 'succeeded' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const read = await api<{ payment: PaymentResource }>(stack, 'GET', `/payments/${paymentId}`, {
      token: location.token,
    });
    if (read.status !== 200) return { paymentId, outcome: `get answered ${read.status}: ${read.text}` };
    status = read.body.payment.status;
    if (['failed', 'canceled'].includes(status)) break;
  }
  return { paymentId, outcome: status };
}

describe('rolling the Stripe secret key on a running stack', () => {
  it('fails no payment, and the new key is used from the max age on, before the old one expires', async () => {
    // Prepare: every reader of every location takes payments, one after another, until told to stop
    const oldKey = stack.env.STRIPE_SECRET_KEY as string;
    let phase = 'before the roll';
    let running = true;
    const taken: Taken[] = [];
    const lanes = stack.state.locations.flatMap((location) =>
      location.readers.map(async (readerId) => {
        for (let order = 0; running; order += 1) {
          const started = phase;
          const result = await takePayment(location, readerId, `roll-${readerId}-${order}`).catch((error: Error) => ({
            paymentId: null,
            outcome: `threw ${error.message}`,
          }));
          taken.push({ phase: started, ...result });
        }
      }),
    );
    const laneCount = stack.state.locations.reduce((count, location) => count + location.readers.length, 0);
    const takenIn = (name: string) => taken.filter((payment) => payment.phase === name).length;
    /** Move on to `next` once every lane took at least one payment it started in `next`. */
    const enter = async (next: string) => {
      phase = next;
      await until(() => takenIn(next) >= laneCount, `${laneCount} payments ${next}`);
    };
    await until(() => takenIn(phase) >= laneCount, 'the first payments');

    // Act 1: roll the key at Stripe, the old one kept for 10 minutes, and put the new one where the handlers read it
    const rolled: RolledKeyAnswer = await controls().rollKey(oldKey, 600);
    stack.configure({ STRIPE_SECRET_KEY: rolled.secretKey });
    const rolledAtMs = (await controls().clock()).nowMs;
    await enter('after the roll, within the max age');
    const maxAgeAtMs = (await controls().advanceClock(SECRET_MAX_AGE_MS / 1000 + 1)).nowMs;
    await enter('past the max age');
    // Act 2: the old key's 10 minutes run out at Stripe
    await controls().advanceClock(600 - SECRET_MAX_AGE_MS / 1000);
    await enter('after the old key expired');
    await enter('well after the old key expired');
    running = false;
    await Promise.all(lanes);

    // Assess: every payment succeeded, in every phase
    expect(redacted(rolled.secretKey)).not.toBe(redacted(oldKey));
    expect(taken.filter((payment) => payment.outcome !== 'succeeded')).toEqual([]);
    expect(taken.length).toBeGreaterThanOrEqual(5 * laneCount);
    const requests = await handlerRequests();
    const at = (request: LoggedRequest) => Date.parse(request.createdAt);
    // Stripe never refused a request: not one was made with the old key after it expired
    expect(requests.filter((request) => request.status === 401)).toEqual([]);
    // Within the max age after the roll, the handlers kept the key they had read
    const withinMaxAge = requests.filter((request) => at(request) >= rolledAtMs && at(request) < maxAgeAtMs);
    expect(withinMaxAge.length).toBeGreaterThan(0);
    expect(new Set(withinMaxAge.map((request) => request.apiKey))).toEqual(new Set([redacted(oldKey)]));
    // Past it, the new key; after the old one expired, only the new key
    const pastMaxAge = requests.filter((request) => at(request) >= maxAgeAtMs);
    expect(pastMaxAge.map((request) => request.apiKey)).toContain(redacted(rolled.secretKey));
    const afterExpiry = requests.filter((request) => at(request) >= rolled.expiresAt * 1000);
    expect(afterExpiry.length).toBeGreaterThan(0);
    expect(new Set(afterExpiry.map((request) => request.apiKey))).toEqual(new Set([redacted(rolled.secretKey)]));
  }, 120_000);
});

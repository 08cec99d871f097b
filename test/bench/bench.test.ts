/**
 * The benchmark at smoke scale (`SMOKE_SCALE`: a few payments, events and webhook deliveries) through the same
 * code as `npm run bench`, so it cannot rot. The counts are deterministic, so their goals are asserted here:
 * Stripe requests per payment, DynamoDB requests per POS API call and per webhook event, both per refund, and what a
 * payment's AWS cost is counted from. Timings, and so the cost's total against its goal, are not.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../bench/cost.ts';
import { type BenchReport, runBench, SMOKE_SCALE } from '../../bench/runner.ts';
import { dynamoBudget } from '../../bench/scenarios/api-dynamo.ts';
import { EXPECTED_REFUND_REQUEST_OPERATION, type ProcessedEvent, REFUND_CALL } from '../../bench/scenarios/refunds.ts';
import { EXPECTED_STRIPE_REQUESTS } from '../../bench/scenarios/stripe-requests.ts';

const resultsFile = join(tmpdir(), `bench-smoke-${process.pid}.json`);
let report: BenchReport;

beforeAll(async () => {
  report = await runBench(SMOKE_SCALE, { resultsFile, log: () => undefined });
}, 300_000);

afterAll(async () => {
  await rm(resultsFile, { force: true });
});

function results() {
  return report.results;
}

describe('runner', () => {
  it('runs every scenario without error', () => {
    // Assess
    const { stackLog: _stackLog, ...scenarioErrors } = results().errors;
    expect(scenarioErrors).toEqual({});
  });

  it.each([
    '1. STRIPE API REQUESTS PER PAYMENT',
    '2. DYNAMODB REQUESTS PER POS API CALL',
    '3. DYNAMODB REQUESTS PER WEBHOOK EVENT',
    '4. RECONCILER DYNAMODB READS PER RUN',
    '5. WEBHOOK RECEIVER THROUGHPUT',
    '6. END TO END',
    '7. COLD START PROXY',
    '8. BUNDLE SIZE',
    '10. REFUNDS',
    '11. READER FLEET',
    '12. COST PER 1,000 PAYMENTS',
  ])('prints the section %s with its figures judged', (section) => {
    // Assess
    expect(report.table).toContain(section);
    const rows = report.rows.filter((row) => row.section.toUpperCase().startsWith(section));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.verdict !== 'not measured')).toBe(true);
  });

  it('measures the fleet’s health by reader list pages, never per reader or per payment', () => {
    // Assess
    const sizes = results().fleet?.sizes ?? [];
    expect(sizes.map((size) => size.readers)).toEqual([10, 120]);
    for (const size of sizes) {
      for (const run of size.runs) {
        expect(run.listPages).toBe(Math.ceil(size.readers / 100));
        expect(run.fleetRetrieves).toBe(0);
      }
    }
  });

  it('writes the results file with the rows it printed', async () => {
    // Act
    const written = JSON.parse(await readFile(resultsFile, 'utf8'));

    // Assess
    expect(written.rows).toEqual(report.rows);
    expect(written.scale.name).toBe('smoke');
  });
});

describe('Stripe requests per payment', () => {
  it.each([
    ['manual', 'create_then_process'],
    ['manual', 'create_with_reader'],
    ['automatic', 'create_then_process'],
    ['automatic', 'create_with_reader'],
  ] as const)('%s capture (%s): create, process and capture only, no polling', (captureMethod, flow) => {
    // Assess
    const payments = results().stripeRequests?.payments.filter(
      (p) => p.captureMethod === captureMethod && p.flow === flow,
    );
    expect(payments?.length).toBeGreaterThan(0);
    for (const payment of payments ?? []) {
      expect(payment.total).toBe(EXPECTED_STRIPE_REQUESTS[captureMethod]);
      expect(payment.byOperation).toEqual({
        create_payment_intent: 1,
        process: 1,
        ...(captureMethod === 'manual' ? { capture: 1 } : {}),
      });
      expect(payment.whileWaiting).toBe(0);
    }
  });
});

describe('DynamoDB requests per POS API call', () => {
  const calls = () => results().apiDynamo?.calls ?? [];

  it('measures every route of the API', async () => {
    // Prepare
    const { routes } = await import('../../shared/routes.ts');

    // Assess
    const measured = new Set(calls().map((call) => call.route));
    expect([...measured].sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
  });

  it.each([
    'GET /readers',
    'GET /readers/{id}',
    'POST /payments',
    'POST /payments (same order again)',
    'POST /payments (with readerId)',
    'PATCH /payments/{id}',
    'GET /payments/{id}',
    'GET /payments/{id} (?refresh=true)',
    'POST /payments/{id}/process',
    'POST /payments/{id}/capture',
    'POST /payments/{id}/refunds',
    'GET /payments/{id}/refunds',
    'POST /readers/{id}/cancel-action',
    'POST /payments/{id}/cancel',
    'POST /payments/{id}/cancel (reader action in progress)',
    'GET /payments',
    'GET /payments (all locations)',
    'POST /webhooks/stripe',
    'GET /health',
  ])('%s stays within its DynamoDB request budget (2; process, refund: 3; create + process: 5)', (name) => {
    // Assess
    const call = calls().find((c) => (c.variant ? `${c.route} (${c.variant})` : c.route) === name);
    expect(call).toBeDefined();
    expect(call?.tally.total).toBeLessThanOrEqual(dynamoBudget(name).budget);
  });
});

describe('DynamoDB requests per webhook event', () => {
  const deliveries = () => results().eventDynamo?.deliveries ?? [];

  it('applies every event of a manual and an automatic payment, none failing', () => {
    // Assess
    const outcomes = deliveries().map((d) => d.outcome);
    expect(outcomes).toContain('applied');
    expect(outcomes).toContain('duplicate');
    expect(outcomes).not.toContain('failed');
  });

  it('applies an event with one read and one transactional write', () => {
    // Assess
    for (const delivery of deliveries().filter((d) => d.outcome === 'applied')) {
      expect(delivery.tally.byCommand).toEqual({ BatchGetItem: 1, TransactWriteItems: 1 });
      expect(delivery.versionDelta).toBe(1);
    }
  });

  it('answers a duplicate with one request and no write', () => {
    // Assess
    for (const delivery of deliveries().filter((d) => d.outcome === 'duplicate')) {
      expect(delivery.tally.total).toBe(1);
      expect(delivery.tally.writes).toBe(0);
      expect(delivery.versionDelta).toBe(0);
    }
  });
});

describe('Stripe and DynamoDB requests per refund', () => {
  const refunds = () => results().refunds?.refunds ?? [];
  const firsts = (events: readonly ProcessedEvent[]) => events.filter((e) => e.delivery === 'first');

  it.each(['online', 'reader'] as const)(
    '%s: the request sends one Stripe request and stays within its budget',
    (method) => {
      // Assess
      const measured = refunds().filter((r) => r.method === method);
      expect(measured.length).toBeGreaterThan(0);
      for (const refund of measured) {
        expect(refund.httpStatus).toBe(method === 'online' ? 201 : 202);
        expect(refund.request.stripe.byOperation).toEqual({ [EXPECTED_REFUND_REQUEST_OPERATION[method]]: 1 });
        expect(refund.request.dynamo.total).toBeLessThanOrEqual(dynamoBudget(REFUND_CALL[method]).budget);
      }
    },
  );

  it.each(['online', 'reader'] as const)(
    '%s: its events apply without a Stripe call, each within its goal',
    (method) => {
      // Assess
      for (const refund of refunds().filter((r) => r.method === method)) {
        const events = firsts(refund.events);
        expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['refund.created', 'refund.updated']));
        expect(events.some((e) => e.outcome === 'applied')).toBe(true);
        for (const event of events) {
          expect(event.outcome).not.toBe('failed');
          expect(event.stripe.total).toBe(0);
          expect(event.tally.reads).toBeLessThanOrEqual(1);
          if (event.outcome === 'applied') {
            expect(event.tally.byCommand).toEqual({ BatchGetItem: 1, TransactWriteItems: 1 });
            expect(event.versionDelta).toBe(1);
          } else {
            expect(event.tally.writes).toBe(0);
          }
        }
      }
    },
  );

  it('applies a refund event with no more DynamoDB requests than a payment event', () => {
    // Prepare
    const applied = (events: readonly ProcessedEvent[]) =>
      firsts(events)
        .filter((e) => e.outcome === 'applied')
        .map((e) => e.tally.total);
    const refundEvents = applied(refunds().flatMap((r) => r.events));
    const paymentEvents = applied(results().refunds?.paymentEvents ?? []);

    // Assess
    expect(refundEvents.length).toBeGreaterThan(0);
    expect(paymentEvents.length).toBeGreaterThan(0);
    expect(Math.max(...refundEvents)).toBeLessThanOrEqual(Math.max(...paymentEvents));
    const mean = (values: number[]) => values.reduce((sum, n) => sum + n, 0) / values.length;
    expect(mean(refundEvents)).toBeLessThanOrEqual(mean(paymentEvents));
  });

  it('answers a refund event delivered again with one request and no write', () => {
    // Assess
    const duplicates = refunds()
      .flatMap((r) => r.events)
      .filter((e) => e.delivery === 'duplicate');
    expect(duplicates.length).toBeGreaterThan(0);
    for (const duplicate of duplicates) {
      expect(duplicate.tally.total).toBe(1);
      expect(duplicate.tally.writes).toBe(0);
      expect(duplicate.versionDelta).toBe(0);
    }
  });
});

describe('webhook throughput at smoke scale', () => {
  it('applies every distinct event exactly once, duplicates included', () => {
    // Assess
    const throughput = results().throughput;
    expect(throughput?.duplicateDeliveries).toBeGreaterThan(0);
    expect(throughput).toMatchObject({ rejected: 0, lost: 0, duplicated: 0, deadLettered: 0 });
  });
});

describe('cost per 1,000 payments', () => {
  const cost = () => results().cost;

  it.each(['manual', 'automatic'] as const)('%s capture: prices every component of a payment', (captureMethod) => {
    // Assess
    const method = cost()?.methods.find((m) => m.captureMethod === captureMethod);
    expect(method?.payments).toBe(SMOKE_SCALE.cost.paymentsPerMethod);
    const usage = method?.usage;
    expect(usage?.api.pos).toBe(method?.posCalls.length);
    expect(usage?.api.webhooks).toBeGreaterThan(0);
    expect(usage?.sqs.byAction.SendMessage).toBe(usage?.api.webhooks);
    expect(usage?.websocketMessages).toBeGreaterThan(0);
    expect(usage?.dynamo.writeUnits).toBeGreaterThan(0);
    expect(usage?.dynamo.readUnits).toBeGreaterThan(0);
    expect(usage?.functions.map((fn) => fn.name)).toEqual(
      expect.arrayContaining(['CreatePayment', 'ProcessPayment', 'ReceiveStripeWebhook', 'ProcessStripeEvents']),
    );
    const per1000 = method?.per1000;
    for (const component of COMPONENTS) expect(per1000?.[component]).toBeGreaterThan(0);
    const components = COMPONENTS.reduce((total, component) => total + (per1000?.[component] ?? 0), 0);
    expect(per1000?.total).toBeCloseTo(components, 10);
  });

  it('attributes every Stripe request of a payment to the function that sent it', () => {
    // Assess
    const payments = cost()?.payments ?? [];
    expect(payments.length).toBe(2 * SMOKE_SCALE.cost.paymentsPerMethod);
    for (const payment of payments) {
      const stripe = payment.usage.functions.reduce((total, fn) => total + fn.stripeRequests, 0);
      expect(stripe).toBe(payment.stripeRequests);
      expect(stripe).toBeGreaterThanOrEqual(EXPECTED_STRIPE_REQUESTS[payment.captureMethod]);
    }
  });

  it('prices a month of the reconciler and of a connected POS apart from the payments', () => {
    // Assess
    const measured = cost();
    expect(measured?.reconcilerRun.functions.map((fn) => fn.name)).toEqual(['Reconcile']);
    expect(measured?.reconnect.functions.map((fn) => fn.name).sort()).toEqual([
      'LiveAuthorize',
      'LiveConnect',
      'LiveDisconnect',
      'LiveMessage',
    ]);
    expect(measured?.fixedMonthly.total).toBeGreaterThan(0);
    expect(measured?.fixedMonthly.perConnectedPos.usd).toBeGreaterThan(0);
  });
});

describe('cold start and bundle size', () => {
  it("compares the receiver with a bare handler of the receiver's own AWS SDK clients", () => {
    // Assess
    const receiver = results().coldStart?.functions.find((fn) => fn.name === 'ReceiveStripeWebhook');
    expect(receiver?.bare.clients).toEqual(['SecretsManagerClient', 'SQSClient']);
    expect(receiver?.bytes).toBeGreaterThan(receiver?.bare.bytes ?? Number.POSITIVE_INFINITY);
    expect(Number.isFinite(receiver?.ratio)).toBe(true);
    expect(receiver?.error).toBeUndefined();
  });
});

/**
 * The benchmark at smoke scale (`SMOKE_SCALE`: a few payments, events and webhook deliveries) through the same
 * code as `npm run bench`, so it cannot rot. The counts are deterministic, so their goals are asserted here:
 * Stripe requests per payment, DynamoDB requests per POS API call and per webhook event. Timings are not.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchReport, runBench, SMOKE_SCALE } from '../../bench/runner.ts';
import { dynamoBudget } from '../../bench/scenarios/api-dynamo.ts';
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
  ])('prints the section %s with its figures judged', (section) => {
    // Assess
    expect(report.table).toContain(section);
    const rows = report.rows.filter((row) => row.section.toUpperCase().startsWith(section));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.verdict !== 'not measured')).toBe(true);
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
    'POST /readers/{id}/cancel-action',
    'POST /payments/{id}/cancel',
    'POST /payments/{id}/cancel (reader action in progress)',
    'GET /payments',
    'GET /payments (all locations)',
    'POST /webhooks/stripe',
    'GET /health',
  ])('%s stays within its DynamoDB request budget (2; process: 3; create + process: 5)', (name) => {
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

describe('webhook throughput at smoke scale', () => {
  it('applies every distinct event exactly once, duplicates included', () => {
    // Assess
    const throughput = results().throughput;
    expect(throughput?.duplicateDeliveries).toBeGreaterThan(0);
    expect(throughput).toMatchObject({ rejected: 0, lost: 0, duplicated: 0, deadLettered: 0 });
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

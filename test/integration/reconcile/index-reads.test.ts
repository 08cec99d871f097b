/**
 * The reconciler reads its candidates from the sparse indexes only: with thousands of healthy payments in the
 * table (written straight to DynamoDB Local), a run reads the candidates and nothing else. No Scan.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import { savePayment } from '../../../shared/store/payments.ts';
import type { LocalStack } from '../../support/stack.ts';
import { batchWritePayments, HEALTHY_KINDS, healthyPayment, stuckPayment } from './fixtures.ts';
import {
  directRun,
  drained,
  paymentView,
  startPayment,
  startReconcileStack,
  stored,
  stripeFor,
  tap,
  waitFor,
  watchBatches,
} from './support.ts';

const HEALTHY_PAYMENTS = 3_000;
const HOUR = 60 * 60 * 1000;

let stack: LocalStack;
let stripe: Stripe;
/** DynamoDB commands sent through the stack's client (the handlers' and this test's), with the index each query named. */
const sent: { command: string; indexName?: string }[] = [];
let batches: ReturnType<typeof watchBatches>;

beforeAll(async () => {
  stack = await startReconcileStack({ STUCK_ACTION_AFTER_SECONDS: '60', CAPTURE_WARNING_AFTER_HOURS: '1' });
  stripe = stripeFor(stack);
  batches = watchBatches(stack);
  stack.deps.store.db.middlewareStack.add(
    (next, context) => (args) => {
      const { IndexName } = args.input as { IndexName?: string };
      sent.push({ command: String(context.commandName), ...(IndexName ? { indexName: IndexName } : {}) });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandsForTest' },
  );
});

afterAll(async () => {
  await stack?.stop();
});

/** A manual payment authorized through the API and a reader, its record then aged or moved past its deadline. */
async function authorized(readerId: string, change: 'aged' | 'past_deadline'): Promise<PaymentResource> {
  const payment = await startPayment(stack, readerId, { captureMethod: 'manual' });
  await tap(stack, readerId);
  await waitFor(
    () => paymentView(stack, payment.id),
    (view) => view.status === 'requires_capture' && view.readerAction?.status === 'succeeded',
  );
  // Every event of the authorization applied first: a charge event applied after the change below would put the
  // charge's own deadline back (it did on a loaded machine).
  await drained(stack, batches);
  const record = await stored(stack, payment.id);
  const nowMs = Date.now();
  await savePayment(
    stack.deps.store,
    change === 'aged'
      ? { ...record, authorizedAt: new Date(nowMs - 2 * HOUR).toISOString() }
      : { ...record, captureBefore: new Date(nowMs - 60_000).toISOString() },
  );
  return payment;
}

describe('a run over a table of thousands of healthy payments', () => {
  it('reads only the candidates, through the sparse indexes, never scanning', async () => {
    // Prepare
    const location = stack.state.locations[0]!;
    const nowMs = Date.now();
    const healthy = Array.from({ length: HEALTHY_PAYMENTS }, (_, n) =>
      healthyPayment(n, HEALTHY_KINDS[n % HEALTHY_KINDS.length]!, nowMs, location.id),
    );
    await batchWritePayments(stack.deps.store, healthy);
    const stuck = await Promise.all(
      [0, 1, 2].map((n) =>
        stuckPayment(stack.deps.store, stripe, {
          readerId: location.readers[0]!,
          locationId: location.id,
          startedAtMs: nowMs - (5 - n) * 60_000,
          orderId: `stuck-${n}`,
        }),
      ),
    );
    const aging = [await authorized(location.readers[1]!, 'aged'), await authorized(location.readers[1]!, 'aged')];
    const pastDeadline = await authorized(location.readers[1]!, 'past_deadline');
    const candidates = stuck.length + aging.length + 1;
    // The payments' own events are applied first: the processor shares the table, and its reads are not the run's.
    await drained(stack, batches);
    sent.length = 0;
    const requestsBefore = stack.dynamoRequests();

    // Act
    const summary = await directRun(stack);

    // Assess
    const requests = stack.dynamoRequests() - requestsBefore;
    const reads = sent.filter(({ command }) => /^(Get|BatchGet|Query|Scan)/.test(command));
    expect(summary).toMatchObject({
      candidates: {
        activeReaderActions: 3,
        awaitingCaptureByAge: 2,
        awaitingCaptureByDeadline: 1,
        unsettledRefunds: 0,
      },
      indexQueries: 5,
      indexItemsRead: candidates,
      failures: 0,
      flagsSet: { capture_deadline_approaching: 2 },
    });
    expect(sent.some(({ command }) => command.startsWith('Scan'))).toBe(false);
    const queries = reads.filter(({ command }) => command.startsWith('Query')).map(({ indexName }) => indexName);
    expect(queries.slice(0, 6)).toEqual([
      'readersByLocation',
      'activeReaderActions',
      'awaitingCaptureByDeadline',
      'awaitingCaptureByAge',
      'unsettledRefunds',
      'pendingOrders',
    ]);
    // Then one counting query per money-at-risk flag, of that flag's sparse index: the gauges the alarms watch.
    expect(queries.slice(6).sort()).toEqual([
      'activeReaderActions',
      'awaitingCaptureByAge',
      'awaitingCaptureByDeadline',
    ]);
    // Besides those queries, two reads: the stored fleet (one query, compared with Stripe's list so only readers
    // whose state changed are written) and where the previous run stopped.
    expect(reads).toHaveLength(10);
    expect(reads.filter(({ command }) => command.startsWith('BatchGet'))).toHaveLength(0);
    // Each candidate costs at most one write here, each reader whose state changed one more, and the fleet's first
    // run notes it stored the whole fleet; nothing grows with the 3,000 healthy payments.
    expect(requests).toBeLessThanOrEqual(reads.length + candidates + 3 + summary.readersCached);
    expect(summary.readersCached).toBeLessThanOrEqual(stack.state.locations.flatMap((l) => l.readers).length);
    // Five queries of a few items each: well under 1 capacity unit apiece (a scan would need hundreds).
    expect(summary.indexCapacityUnits).toBeLessThan(6);
    expect(summary.flaggedNow).toEqual({ reader_stuck: 0, capture_deadline_approaching: 2, authorization_expired: 0 });
    for (const payment of stuck) {
      expect((await paymentView(stack, payment.id)).readerAction).toMatchObject({ failureCode: 'canceled' });
    }
    for (const payment of aging) {
      expect((await paymentView(stack, payment.id)).flags).toEqual(['capture_deadline_approaching']);
    }
    expect(Date.parse((await paymentView(stack, pastDeadline.id)).captureBefore!)).toBeGreaterThan(Date.now());
  }, 120_000);
});

/**
 * Stripe API requests per payment on the happy path, counted from the emulator's request log: create, process,
 * the customer's tap, the webhook-driven outcome read through `GET /payments/{id}` without refresh, and (manual
 * capture) capture. Any request besides create / process / capture is polling the webhooks should have made
 * unnecessary.
 */
import {
  type CaptureMethod,
  capturePayment,
  countByOperation,
  createPayment,
  isSettledAfterTap,
  processPayment,
  stripeOperation,
  systemRequests,
  waitForRecorded,
} from '../payments.ts';
import type { BenchStack } from '../stack.ts';

/** How a payment was started: `POST /payments` then `/process`, or `POST /payments` with `readerId`. */
export type StartFlow = 'create_then_process' | 'create_with_reader';

export interface PaymentStripeCount {
  captureMethod: CaptureMethod;
  flow: StartFlow;
  paymentId: string;
  /** Every request the system sent for the payment, by operation. */
  byOperation: Record<string, number>;
  total: number;
  /** Requests sent while waiting for the webhook-driven outcome (after the tap, after the capture). */
  whileWaiting: number;
  whileWaitingOperations: string[];
}

export interface StripeRequestsResult {
  payments: PaymentStripeCount[];
}

/** The happy path's expected requests: create, process, and capture for manual capture. */
export const EXPECTED_STRIPE_REQUESTS: Record<CaptureMethod, number> = { manual: 3, automatic: 2 };

/**
 * Run `paymentsPerCase` payments for each capture method and start flow, one at a time (so the log is theirs
 * alone). The readers' locations are cached first (`GET /readers`), as after the first use of a reader.
 */
export async function measureStripeRequests(
  bench: BenchStack,
  options: { paymentsPerCase: number },
): Promise<StripeRequestsResult> {
  const readers = bench.location.readers;
  await bench.api('GET', '/readers', { token: bench.location.token });
  await bench.quiesce();

  const cases: { captureMethod: CaptureMethod; flow: StartFlow }[] = [];
  for (const captureMethod of ['manual', 'automatic'] as const) {
    for (const flow of ['create_then_process', 'create_with_reader'] as const) {
      for (let n = 0; n < options.paymentsPerCase; n += 1) cases.push({ captureMethod, flow });
    }
  }

  const payments: PaymentStripeCount[] = [];
  for (const [index, { captureMethod, flow }] of cases.entries()) {
    const readerId = readers[index % readers.length] as string;
    const logStart = (await bench.stripeRequests()).length;
    const waiting: number[][] = [];

    const payment =
      flow === 'create_then_process'
        ? await processPayment(bench, (await createPayment(bench, { captureMethod })).id, readerId)
        : await createPayment(bench, { captureMethod, readerId });
    let mark = (await bench.stripeRequests()).length;
    await bench.tap(readerId);
    await waitForRecorded(bench, payment.id, (p) => isSettledAfterTap(p, captureMethod));
    waiting.push([mark, (await bench.stripeRequests()).length]);

    if (captureMethod === 'manual') {
      await capturePayment(bench, payment.id);
      mark = (await bench.stripeRequests()).length;
      await waitForRecorded(bench, payment.id, (p) => p.status === 'succeeded');
      waiting.push([mark, (await bench.stripeRequests()).length]);
    }
    await bench.quiesce();

    const log = await bench.stripeRequests();
    const all = systemRequests(log.slice(logStart));
    const duringWaits = waiting.flatMap(([from, to]) => systemRequests(log.slice(from, to)));
    payments.push({
      captureMethod,
      flow,
      paymentId: payment.id,
      byOperation: countByOperation(all),
      total: all.length,
      whileWaiting: duringWaits.length,
      whileWaitingOperations: duringWaits.map(stripeOperation),
    });
  }
  return { payments };
}

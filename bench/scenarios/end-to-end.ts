/**
 * End to end: from the customer's tap on the emulator's reader to the payment's new state in `GET /payments/{id}`
 * (never `?refresh=true`: the state must arrive by webhook → receiver → SQS → processor → DynamoDB). The POS polls
 * every `pollIntervalMs`. Payments run one after another, alternating readers, so each figure is one payment's.
 */
import { countByOperation, createPayment, recordedPayment, systemRequests } from '../payments.ts';
import { type BenchStack, sleep } from '../stack.ts';
import { percentile } from '../stats.ts';

export interface EndToEndResult {
  payments: number;
  authorizationDelayMs: number;
  pollIntervalMs: number;
  /** Tap sent → `status: succeeded` visible, milliseconds. */
  statusVisibleMs: { p50: number; p90: number; p99: number; max: number };
  /** Tap sent → reader action `succeeded` visible too (every webhook of the payment applied). */
  settledMs: { p50: number; p99: number };
  /** Stripe requests the system sent over the whole run, per payment (automatic capture: 2 expected). */
  stripeRequestsPerPayment: number;
  stripeRequestsByOperation: Record<string, number>;
}

/** Run `payments` automatic-capture payments and time each from tap to visible state. */
export async function measureEndToEnd(
  bench: BenchStack,
  options: { payments: number; pollIntervalMs: number },
): Promise<EndToEndResult> {
  const { readers } = bench.location;
  const { authorizationDelayMs } = await bench.control<{ authorizationDelayMs: number }>('config');
  await bench.api('GET', '/readers', { token: bench.location.token });
  await bench.quiesce();
  const logStart = (await bench.stripeRequests()).length;

  const visible: number[] = [];
  const settled: number[] = [];
  for (let n = 0; n < options.payments; n += 1) {
    const readerId = readers[n % readers.length] as string;
    const payment = await createPayment(bench, { captureMethod: 'automatic', readerId });
    const tapped = performance.now();
    await bench.tap(readerId);
    let statusAt: number | undefined;
    for (;;) {
      const current = await recordedPayment(bench, payment.id);
      const at = performance.now();
      if (current.status === 'succeeded' && statusAt === undefined) statusAt = at;
      if (statusAt !== undefined && current.readerAction?.status === 'succeeded') {
        visible.push(statusAt - tapped);
        settled.push(at - tapped);
        break;
      }
      if (at - tapped > 15_000) throw new Error(`Payment ${payment.id} not settled 15 s after the tap`);
      await sleep(options.pollIntervalMs);
    }
  }
  await bench.quiesce();

  const requests = systemRequests((await bench.stripeRequests()).slice(logStart));
  return {
    payments: options.payments,
    authorizationDelayMs,
    pollIntervalMs: options.pollIntervalMs,
    statusVisibleMs: {
      p50: percentile(visible, 50),
      p90: percentile(visible, 90),
      p99: percentile(visible, 99),
      max: Math.max(...visible),
    },
    settledMs: { p50: percentile(settled, 50), p99: percentile(settled, 99) },
    stripeRequestsPerPayment: requests.length / options.payments,
    stripeRequestsByOperation: countByOperation(requests),
  };
}

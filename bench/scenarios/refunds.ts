/**
 * Stripe and DynamoDB requests per refund, online and on the reader: the POS's `POST /payments/{id}/refunds` itself,
 * and then every event the processor handles for that refund. Each refund is of a payment taken just before on a
 * reader, with the emulator's webhooks held throughout: the payment's own events are handed to the processor first
 * (one-record SQS batches, each then again as a duplicate, as in `event-dynamo.ts`), which is the baseline the
 * refund's events are compared with; then the refund is asked for, measured alone, the card presented (reader
 * refund) and the refund left to settle at Stripe; then the refund's events are handed over the same way, in the
 * order Stripe created them.
 */
import type { PaymentResource, RefundResource } from '../../shared/payments/resource.ts';
import { isHandledEventType } from '../../shared/stripe/event-types.ts';
import { countByOperation, createPayment, newOrderId, systemRequests } from '../payments.ts';
import { type BenchStack, type DynamoTally, waitFor } from '../stack.ts';
import { processRecord, type StripeEventJson, storedVersion } from './event-dynamo.ts';

export type RefundMethod = 'online' | 'reader';

/** Stripe requests counted from the emulator's log, the benchmark's own test-helper calls left out. */
export interface StripeCount {
  total: number;
  byOperation: Record<string, number>;
}

/** One delivery of an event to the processor. */
export interface ProcessedEvent {
  eventId: string;
  type: string;
  delivery: 'first' | 'duplicate';
  /** `applied`: the payment changed; `unchanged`: nothing to change; `duplicate`: the event was applied before. */
  outcome: 'applied' | 'unchanged' | 'duplicate' | 'failed';
  tally: DynamoTally;
  /** The payment's stored version went up by this much. */
  versionDelta: number;
  stripe: StripeCount;
}

/** One refund: the POS's request, then the refund's events through the processor. */
export interface RefundCost {
  method: RefundMethod;
  paymentId: string;
  /** Stripe's refund id, once made. */
  refundId: string | null;
  /** `POST /payments/{id}/refunds`'s HTTP status. */
  httpStatus: number;
  request: { stripe: StripeCount; dynamo: DynamoTally };
  /** Every handled event of the refund, first delivery and duplicate, in the order Stripe created them. */
  events: ProcessedEvent[];
}

export interface RefundsResult {
  refunds: RefundCost[];
  /** The refunded payments' own events, delivered the same way: what refund events are compared with. */
  paymentEvents: ProcessedEvent[];
}

/** The one Stripe request each refund needs: `POST /v1/refunds`, or the reader's `refund_payment`. */
export const EXPECTED_REFUND_REQUEST_OPERATION: Record<RefundMethod, string> = {
  online: 'create_refund',
  reader: 'refund_payment',
};

/** The POS API call each refund method is, as section 2 names it (and budgets it). */
export const REFUND_CALL: Record<RefundMethod, string> = {
  online: 'POST /payments/{id}/refunds',
  reader: 'POST /payments/{id}/refunds (with readerId)',
};

/** The HTTP status each method answers with: made online (201), started on the reader (202). */
const EXPECTED_STATUS: Record<RefundMethod, number> = { online: 201, reader: 202 };

const PAYMENT_AMOUNT = 1500;

/**
 * `perMethod` refunds of each method, one at a time, each of its own automatic-capture payment: online refunds in
 * part, reader refunds in full. The readers' locations are cached first (`GET /readers`), as after their first use.
 */
export async function measureRefunds(bench: BenchStack, options: { perMethod: number }): Promise<RefundsResult> {
  const [payReader, refundReader] = bench.location.readers as [string, string];
  await bench.api('GET', '/readers', { token: bench.location.token });

  const refunds: RefundCost[] = [];
  const paymentEvents: ProcessedEvent[] = [];
  for (const method of ['online', 'reader'] as const) {
    for (let n = 0; n < options.perMethod; n += 1) {
      await bench.quiesce();
      await bench.control('webhooks', { mode: 'hold' });
      try {
        const seen = new Set<string>();
        const payment = await paidPayment(bench, payReader);
        paymentEvents.push(...(await deliverEventsOf(bench, payment.id, seen)));
        refunds.push(await refund(bench, payment.id, method, refundReader, seen));
      } finally {
        // The held deliveries now arrive as duplicates of what was applied above, and change nothing.
        await bench.control('webhooks', { mode: 'deliver' });
        await bench.control('webhooks/release', {});
      }
    }
  }
  await bench.quiesce();
  return { refunds, paymentEvents };
}

/** An automatic-capture payment on `readerId`, the card tapped, paid at Stripe (its events held). */
async function paidPayment(bench: BenchStack, readerId: string): Promise<PaymentResource> {
  const payment = await createPayment(bench, { captureMethod: 'automatic', readerId, amount: PAYMENT_AMOUNT });
  await bench.tap(readerId);
  await waitFor(
    () => bench.stripeApi<{ status: string }>('GET', `/v1/payment_intents/${payment.id}`),
    (pi) => pi.status === 'succeeded',
    { what: `PaymentIntent ${payment.id} succeeded` },
  );
  await waitFor(
    () =>
      bench.stripeApi<{
        action: { status: string; process_payment_intent?: { payment_intent?: unknown } } | null;
      }>('GET', `/v1/terminal/readers/${readerId}`),
    (reader) =>
      reader.action?.status === 'succeeded' && reader.action.process_payment_intent?.payment_intent === payment.id,
    { what: `reader ${readerId} done with ${payment.id}` },
  );
  return payment;
}

/** Ask for the refund (measured alone), present the card for a reader refund, then hand its events over. */
async function refund(
  bench: BenchStack,
  paymentId: string,
  method: RefundMethod,
  refundReader: string,
  seen: Set<string>,
): Promise<RefundCost> {
  const body =
    method === 'online'
      ? { amount: PAYMENT_AMOUNT - 500, reason: 'requested_by_customer' }
      : { readerId: refundReader };
  const logStart = (await bench.stripeRequests()).length;
  const { result: response, tally } = await bench.dynamo.measure(() =>
    bench.api<{ refund: RefundResource }>('POST', `/payments/${paymentId}/refunds`, {
      token: bench.location.token,
      body,
      headers: { 'Idempotency-Key': newOrderId('bench-refund') },
    }),
  );
  const requests = systemRequests((await bench.stripeRequests()).slice(logStart));
  if (response.status !== EXPECTED_STATUS[method]) {
    throw new Error(`${REFUND_CALL[method]}: HTTP ${response.status} ${JSON.stringify(response.body).slice(0, 400)}`);
  }
  if (method === 'reader') await bench.tap(refundReader);

  const settled = await waitFor(
    () =>
      bench.stripeApi<{ data: { id: string; status: string }[] }>(
        'GET',
        `/v1/refunds?payment_intent=${paymentId}&limit=100`,
      ),
    (list) => list.data.length === 1 && list.data[0]?.status === 'succeeded',
    { what: `the refund of ${paymentId} succeeded at Stripe` },
  );
  const events = await deliverEventsOf(bench, paymentId, seen);
  return {
    method,
    paymentId,
    refundId: settled.data[0]?.id ?? null,
    httpStatus: response.status,
    request: { stripe: { total: requests.length, byOperation: countByOperation(requests) }, dynamo: tally },
    events,
  };
}

/**
 * Hand the payment's handled events not yet `seen` to the processor in the order Stripe created them, each
 * followed by a duplicate delivery, counting the DynamoDB and Stripe requests of each delivery.
 */
async function deliverEventsOf(
  bench: BenchStack,
  paymentIntentId: string,
  seen: Set<string>,
): Promise<ProcessedEvent[]> {
  const { data } = await bench.stripeApi<{ data: StripeEventJson[] }>('GET', '/v1/events?limit=100');
  const events = data
    .filter((event) => isHandledEventType(event.type) && concerns(event, paymentIntentId) && !seen.has(event.id))
    .reverse();
  const processed: ProcessedEvent[] = [];
  for (const event of events) {
    seen.add(event.id);
    for (const delivery of ['first', 'duplicate'] as const) {
      const before = await storedVersion(bench, paymentIntentId);
      const logStart = (await bench.stripeRequests()).length;
      const { result, tally } = await bench.dynamo.measure(() => processRecord(bench, event));
      const requests = systemRequests((await bench.stripeRequests()).slice(logStart));
      const versionDelta = (await storedVersion(bench, paymentIntentId)) - before;
      const outcome =
        result.batchItemFailures.length > 0
          ? 'failed'
          : delivery === 'duplicate'
            ? 'duplicate'
            : versionDelta > 0
              ? 'applied'
              : 'unchanged';
      processed.push({
        eventId: event.id,
        type: event.type,
        delivery,
        outcome,
        tally,
        versionDelta,
        stripe: { total: requests.length, byOperation: countByOperation(requests) },
      });
    }
  }
  return processed;
}

/** Whether an event is about this PaymentIntent: itself, its charge, a refund of it, or a reader action on it. */
function concerns(event: StripeEventJson, paymentIntentId: string): boolean {
  const object = event.data.object;
  if (object.id === paymentIntentId || object.payment_intent === paymentIntentId) return true;
  const action = object.action as
    | {
        process_payment_intent?: { payment_intent?: unknown };
        refund_payment?: { payment_intent?: unknown };
      }
    | null
    | undefined;
  return (
    action?.process_payment_intent?.payment_intent === paymentIntentId ||
    action?.refund_payment?.payment_intent === paymentIntentId
  );
}

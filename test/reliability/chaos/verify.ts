/**
 * What must hold after the chaos: every payment recorded as Stripe (the emulator) holds it — learnt from events,
 * the reconciler and, last, a refresh — no PaymentIntent captured twice, no order with two live PaymentIntents,
 * no PaymentIntent the table does not know, no reader action shown running that the reader is not running, and
 * nothing in the DLQ but the poison messages put on the queue on purpose.
 */

import type Stripe from 'stripe';
import { emulatorControls } from '../../../local/stripe-emulator/control-client.ts';
import { api, type LocalStack } from '../../support/stack.ts';
import { drainMessages, effectiveWrites, emulatorRequests, queueDrained, tableItems } from '../support/probes.ts';

/** The money a payment record and its PaymentIntent must agree on. */
const MONEY_FIELDS = [
  ['status', 'status'],
  ['amount', 'amount'],
  ['amountCapturable', 'amount_capturable'],
  ['amountReceived', 'amount_received'],
] as const;

export interface Verification {
  paymentIntents: number;
  records: number;
  byStatus: Record<string, number>;
  processAttempts: number;
  /** Records equal to Stripe once the queue drained and the reconciler ran, before any refresh. */
  matchedBeforeRefresh: number;
  /** The others, with how they differed and what the record showed (for the report; a refresh fixes them). */
  behindBeforeRefresh: string[];
  matchedAfterRefresh: number;
  captured: number;
  mostCapturesOfOnePaymentIntent: number;
  mostLivePaymentIntentsOfOneOrder: number;
  /** Payments whose customer added a tip on the reader. */
  tipped: number;
  /** Stripe refunds, and of them those the records show as Stripe holds them (after a refresh where behind). */
  refunds: number;
  refundsMatched: number;
  deadLetters: number;
  /** Poison messages in the DLQ more than once. */
  deadLetterCopies: number;
  problems: string[];
}

type RecordItem = Record<string, unknown> & {
  id: string;
  readerId: string | null;
  readerAction: { status: string } | null;
};

/** Wait for every delivery (retries and delays included) to land and the queue to stay empty. */
export async function settle(stack: LocalStack, quietMs: number): Promise<void> {
  // The emulator's delayed deliveries (≤ 1.5 s) and retries (100 ms doubling, 3 times) are due by then: moving
  // its clock on sends them now.
  await emulatorControls(stack.state.stripe.apiBase).advanceClock(2);
  await queueDrained(stack, { quietMs, timeoutMs: 120_000 });
}

function mismatches(record: RecordItem, paymentIntent: Stripe.PaymentIntent): string[] {
  const found = MONEY_FIELDS.filter(([ours, theirs]) => record[ours] !== paymentIntent[theirs]).map(
    ([ours, theirs]) => `${ours} ${JSON.stringify(record[ours])} ≠ Stripe ${JSON.stringify(paymentIntent[theirs])}`,
  );
  // The tip chosen on the reader, written back to the payment exactly once.
  const tip = paymentIntent.amount_details?.tip?.amount ?? 0;
  if ((record.tipAmount ?? 0) !== tip) found.push(`tipAmount ${JSON.stringify(record.tipAmount)} ≠ Stripe tip ${tip}`);
  return found;
}

async function paymentRecords(stack: LocalStack): Promise<Map<string, RecordItem>> {
  const items = (await tableItems(stack)).filter((item) => item.entity === 'payment') as RecordItem[];
  return new Map(items.map((item) => [item.id, item]));
}

export async function verify(
  stack: LocalStack,
  stripe: Stripe,
  options: { poisonSent: readonly string[]; quietMs: number },
): Promise<Verification> {
  const problems: string[] = [];
  const paymentIntents = await stripe.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const byId = new Map(paymentIntents.map((paymentIntent) => [paymentIntent.id, paymentIntent]));
  let records = await paymentRecords(stack);

  const unknown = paymentIntents.filter((paymentIntent) => !records.has(paymentIntent.id));
  for (const paymentIntent of unknown) problems.push(`PaymentIntent ${paymentIntent.id} is not in the table`);
  for (const id of records.keys()) if (!byId.has(id)) problems.push(`payment ${id} has no PaymentIntent`);

  const wrong = [...records.values()].filter((record) => {
    const paymentIntent = byId.get(record.id);
    return paymentIntent !== undefined && mismatches(record, paymentIntent).length > 0;
  });
  const matchedBeforeRefresh = records.size - wrong.length;
  const behindBeforeRefresh = wrong.map((record) => {
    const paymentIntent = byId.get(record.id) as Stripe.PaymentIntent;
    const history = (record.history as { source: string; summary: string; eventType?: string }[] | undefined) ?? [];
    return (
      `${record.id} (${paymentIntent.capture_method}): ${mismatches(record, paymentIntent).join(', ')}; ` +
      `reader action ${JSON.stringify(record.readerAction)}; flags ${JSON.stringify(record.flags)}; ` +
      `last entries ${history
        .slice(-4)
        .map((entry) => `${entry.source}:${entry.summary}`)
        .join(' | ')}`
    );
  });

  // The POS's "check status": what the refresh cannot put right is a real disagreement.
  for (const record of wrong) {
    await api(stack, 'GET', `/payments/${record.id}?refresh=true`, { token: stack.state.adminToken });
  }
  if (wrong.length > 0) {
    await settle(stack, options.quietMs);
    records = await paymentRecords(stack);
  }
  const latest = await stripe.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  let matchedAfterRefresh = 0;
  for (const record of records.values()) {
    const fresh = latest.find((paymentIntent) => paymentIntent.id === record.id);
    if (fresh === undefined) continue;
    const differences = mismatches(record, fresh);
    if (differences.length === 0) matchedAfterRefresh += 1;
    else problems.push(`payment ${record.id}: ${differences.join(', ')}`);
  }

  // A reader action the API shows running must be running on the reader.
  const readers = new Map<string, Stripe.Terminal.Reader>();
  for (const record of records.values()) {
    if (record.readerAction?.status !== 'in_progress' || record.readerId === null) continue;
    const reader =
      readers.get(record.readerId) ??
      ((await stripe.terminal.readers.retrieve(record.readerId)) as Stripe.Terminal.Reader);
    readers.set(record.readerId, reader);
    const runs =
      reader.action?.status === 'in_progress' && reader.action.process_payment_intent?.payment_intent === record.id;
    if (!runs)
      problems.push(`payment ${record.id} shows its action in progress on ${record.readerId}, which is not running it`);
  }

  // And the other way round: a reader running a payment is the reader its record names, with the action running.
  for (const reader of await stripe.terminal.readers.list({ limit: 100 }).autoPagingToArray({ limit: 1000 })) {
    const held = reader.action?.process_payment_intent?.payment_intent;
    if (reader.action?.status !== 'in_progress' || typeof held !== 'string') continue;
    const record = records.get(held);
    if (record === undefined) continue;
    if (record.readerId !== reader.id || record.readerAction?.status !== 'in_progress')
      problems.push(
        `reader ${reader.id} runs payment ${held}, whose record shows ${record.readerId} / ${JSON.stringify(record.readerAction)}`,
      );
  }

  // Money moved once: one effective capture per PaymentIntent at most.
  const captures = new Map<string, number>();
  for (const request of effectiveWrites(await emulatorRequests(stack), /^\/v1\/payment_intents\/[^/]+\/capture$/)) {
    const id = request.path.split('/')[3] as string;
    captures.set(id, (captures.get(id) ?? 0) + 1);
  }
  const mostCaptures = Math.max(0, ...captures.values());
  for (const [id, count] of captures) if (count > 1) problems.push(`PaymentIntent ${id} captured ${count} times`);

  // One order, one live PaymentIntent.
  const liveByOrder = new Map<string, number>();
  for (const paymentIntent of latest) {
    const order = `${paymentIntent.metadata.locationId}#${paymentIntent.metadata.orderId}`;
    if (paymentIntent.status !== 'canceled') liveByOrder.set(order, (liveByOrder.get(order) ?? 0) + 1);
  }
  const mostLive = Math.max(0, ...liveByOrder.values());
  for (const [order, count] of liveByOrder)
    if (count > 1) problems.push(`order ${order} has ${count} live PaymentIntents`);

  const refundCheck = await checkRefunds(stack, stripe, records, latest, options.quietMs);
  problems.push(...refundCheck.problems);

  // The DLQ holds every poison message and nothing else. A poison message whose record failed after it was sent
  // there (the fault hook, or a crash) comes back and is sent again: at-least-once, so copies are allowed.
  const deadLetters = (await drainMessages(stack, stack.sqs.dlqUrl)).map((message) => message.Body ?? '');
  const unexpected = deadLetters.filter((body) => !options.poisonSent.includes(body));
  const missing = options.poisonSent.filter((body) => !deadLetters.includes(body));
  for (const body of unexpected) problems.push(`the DLQ holds a message that was not poisoned: ${body.slice(0, 300)}`);
  for (const body of missing) problems.push(`a poison message is not in the DLQ: ${body.slice(0, 100)}`);

  const byStatus: Record<string, number> = {};
  for (const { status } of latest) byStatus[status] = (byStatus[status] ?? 0) + 1;
  return {
    paymentIntents: paymentIntents.length,
    records: records.size,
    byStatus,
    processAttempts: [...records.values()].reduce((sum, record) => sum + Number(record.attempts ?? 0), 0),
    matchedBeforeRefresh,
    behindBeforeRefresh,
    matchedAfterRefresh,
    captured: captures.size,
    mostCapturesOfOnePaymentIntent: mostCaptures,
    mostLivePaymentIntentsOfOneOrder: mostLive,
    tipped: latest.filter((paymentIntent) => (paymentIntent.amount_details?.tip?.amount ?? 0) > 0).length,
    refunds: refundCheck.refunds,
    refundsMatched: refundCheck.matched,
    deadLetters: deadLetters.length,
    deadLetterCopies: deadLetters.length - new Set(deadLetters).size,
    problems,
  };
}

interface RefundItem {
  key: string | null;
  id: string | null;
  amount: number;
  status: string;
  method: string;
  readerId: string | null;
}

/**
 * Refunds: never more refunded than was paid, never two Stripe refunds for one POS key, every Stripe refund recorded
 * with its status (a refresh first for a record behind), and every refund the record shows without a Stripe refund
 * either ended (failed, canceled) or still waiting on its reader for the card.
 */
async function checkRefunds(
  stack: LocalStack,
  stripe: Stripe,
  records: Map<string, RecordItem>,
  paymentIntents: Stripe.PaymentIntent[],
  quietMs: number,
): Promise<{ refunds: number; matched: number; problems: string[] }> {
  const problems: string[] = [];
  const all = await stripe.refunds.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const byPayment = new Map<string, Stripe.Refund[]>();
  for (const refund of all) {
    const id = typeof refund.payment_intent === 'string' ? refund.payment_intent : refund.payment_intent?.id;
    if (id !== undefined) byPayment.set(id, [...(byPayment.get(id) ?? []), refund]);
  }
  const disagreements = (record: RecordItem, refunds: Stripe.Refund[]): string[] => {
    const ours = (record.refunds as RefundItem[] | undefined) ?? [];
    const found: string[] = [];
    for (const refund of refunds) {
      const recorded = ours.find((item) => item.id === refund.id);
      if (recorded === undefined) found.push(`refund ${refund.id} (${refund.status}) is not recorded`);
      else if (recorded.status !== refund.status || recorded.amount !== refund.amount) {
        found.push(
          `refund ${refund.id}: ${recorded.status} ${recorded.amount} ≠ Stripe ${refund.status} ${refund.amount}`,
        );
      }
    }
    for (const item of ours.filter((refund) => refund.id === null && refund.status === 'pending')) {
      if (item.method !== 'reader') found.push(`refund claim ${item.key} is pending with no refund at Stripe`);
    }
    return found;
  };

  const behind = [...records.values()].filter((record) => disagreements(record, byPayment.get(record.id) ?? []).length);
  for (const record of behind) {
    await api(stack, 'GET', `/payments/${record.id}?refresh=true`, { token: stack.state.adminToken });
  }
  let current = records;
  if (behind.length > 0) {
    await settle(stack, quietMs);
    current = await paymentRecords(stack);
  }
  let matched = 0;
  for (const record of current.values()) {
    const refunds = byPayment.get(record.id) ?? [];
    const found = disagreements(record, refunds);
    matched += refunds.length - found.filter((line) => line.startsWith('refund re_')).length;
    for (const line of found) problems.push(`payment ${record.id}: ${line}`);
    // A reader refund still waiting must be on its reader.
    for (const item of ((record.refunds as RefundItem[] | undefined) ?? []).filter(
      (refund) => refund.id === null && refund.status === 'pending' && refund.method === 'reader',
    )) {
      const reader = (await stripe.terminal.readers.retrieve(item.readerId ?? '')) as Stripe.Terminal.Reader;
      const waiting =
        reader.action?.type === 'refund_payment' &&
        reader.action.status === 'in_progress' &&
        reader.action.refund_payment?.metadata?.posRefundKey === item.key;
      if (!waiting) problems.push(`payment ${record.id}: reader refund ${item.key} pending, its reader not on it`);
    }
    const paid = paymentIntents.find((paymentIntent) => paymentIntent.id === record.id)?.amount_received ?? 0;
    const committed = refunds
      .filter((refund) => refund.status === 'pending' || refund.status === 'succeeded')
      .reduce((sum, refund) => sum + refund.amount, 0);
    if (committed > paid) problems.push(`payment ${record.id}: ${committed} refunded of ${paid} paid`);
    const keys = refunds.map((refund) => refund.metadata?.posRefundKey).filter((key) => key !== undefined);
    if (new Set(keys).size !== keys.length) problems.push(`payment ${record.id}: one refund key refunded twice`);
  }
  return { refunds: all.length, matched, problems };
}

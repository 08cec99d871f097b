/**
 * A payment's life as Stripe and the API live it, as data: the API's own commands and answers in the order they
 * happen, and the Stripe events each step emits, shaped as Stripe sends them (and as the emulator does: an
 * authorization emits `charge.succeeded`, the PaymentIntent's event and the reader's event in one second).
 *
 * The property tests generate stories with fast-check, then deliver the events late, twice and out of order and
 * compare the outcome with delivering each once, in order. Every step starts a few seconds after the one before
 * (a card takes longer than that to tap), so a reader event is never from the seconds around the start of a later
 * attempt on the same reader: the case the reducer calls ambiguous and the processor settles with a reader read.
 */
import fc from 'fast-check';
import type Stripe from 'stripe';
import { canceledActionObservation, recordProcessAccepted } from '../../../shared/payments/process.ts';
import { isReaderActionInProgress, newPaymentRecord, withAmountUpdate } from '../../../shared/payments/record.ts';
import { applyObservation, applyObservations, CLOCK_SKEW_SECONDS } from '../../../shared/payments/reducer.ts';
import { toPaymentResource } from '../../../shared/payments/resource.ts';
import { decideCapture, decideProcess } from '../../../shared/payments/rules.ts';
import type { Observation, PaymentRecord } from '../../../shared/payments/types.ts';
import { parseQueuedEvent } from '../../../shared/stripe/event-observations.ts';
import {
  paymentIntentObservation,
  paymentIntentSnapshot,
  readerActionObservation,
} from '../../../shared/stripe/snapshots.ts';

export const READERS = ['tmr_story_A', 'tmr_story_B'] as const;
export type StoryReader = (typeof READERS)[number];
const LOCATION = 'tml_story';

/** How one process attempt that did not authorize ended. */
export type FailedOutcome =
  | 'decline_generic'
  | 'decline_insufficient_funds'
  | 'decline_expired_card'
  | 'customer_canceled'
  /** The POS cleared the reader's action (`cancel_action`): no event, as at Stripe. */
  | 'pos_cancel_action'
  /** `action_failed` with `connection_error`; the PaymentIntent is unchanged. */
  | 'connection_error';

export interface FailedAttempt {
  readerId: StoryReader;
  outcome: FailedOutcome;
  /** The cashier changes the amount (`PATCH`) before this attempt. */
  amountBefore: number | null;
}

export type StoryEnd =
  | {
      kind: 'authorized';
      readerId: StoryReader;
      tip: number;
      /** Authorized, but the reader reports `connection_error` (Stripe's false negative). */
      connectionErrorAfterAuthorization: boolean;
      amountBefore: number | null;
      afterwards: 'capture' | 'partial_capture' | 'cancel' | 'expire' | 'none';
    }
  | {
      kind: 'abandoned';
      /** An attempt is still waiting for a card on this reader when the POS cancels the payment. */
      inProgressOn: StoryReader | null;
    };

export interface PaymentStory {
  paymentIntentId: string;
  captureMethod: 'manual' | 'automatic';
  amount: number;
  failedAttempts: FailedAttempt[];
  end: StoryEnd;
  /** Milliseconds past each whole second at which the steps happen (the step clock moves ≥ 1 s per step). */
  jitterMs: number[];
}

type PaymentIntentJson = Record<string, unknown> & { id: string; status: string; amount: number };
type ChargeJson = Record<string, unknown> & { id: string };
type ReaderJson = Record<string, unknown> & { id: string; action: Record<string, unknown> | null };

/** Stripe's state after a step, for the reads the processor makes while applying an event. */
export interface StripeState {
  paymentIntent: PaymentIntentJson;
  charges: Record<string, ChargeJson>;
  readers: Record<string, ReaderJson>;
}

/** One thing that happens to the payment, at `at` (epoch ms). */
export type Step =
  /** The API had a reader accept `process_payment_intent`; `reader` is the reader's answer. */
  | { kind: 'attempt'; at: number; readerId: StoryReader; reader: ReaderJson }
  /** The API cleared this payment's reader action (`cancel_action`), which Stripe announces with no event. */
  | { kind: 'cancel_action'; at: number; readerId: StoryReader }
  /** An API call that answered with the PaymentIntent. */
  | { kind: 'api'; command: 'update_amount' | 'capture' | 'cancel'; at: number; paymentIntent: PaymentIntentJson }
  /** Something happened at Stripe (a card tapped, an authorization expired) and only events tell. */
  | { kind: 'stripe'; at: number };

/** A step, the events Stripe created in it, and Stripe's state right after it. */
export interface TimelineEntry {
  step: Step;
  events: Stripe.Event[];
  stripe: StripeState;
}

export interface Timeline {
  story: PaymentStory;
  /** The record the API stored when it created the PaymentIntent, before the first step. */
  initial: PaymentRecord;
  /** Stripe's state before the first step. */
  start: StripeState;
  entries: TimelineEntry[];
  /** Every event, in the order Stripe created them. */
  events: { event: Stripe.Event; entry: number }[];
}

const clone = <T>(value: T): T => structuredClone(value);
const seconds = (ms: number) => Math.floor(ms / 1000);

const DECLINES: Record<
  Exclude<FailedOutcome, 'customer_canceled' | 'pos_cancel_action' | 'connection_error'>,
  {
    code: string;
    declineCode: string | null;
    message: string;
  }
> = {
  decline_generic: { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' },
  decline_insufficient_funds: {
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  decline_expired_card: { code: 'expired_card', declineCode: null, message: 'Your card has expired.' },
};

/** Builds the timeline step by step, keeping Stripe's state the way the emulator's transitions change it. */
class StoryWriter {
  readonly entries: TimelineEntry[] = [];
  readonly events: { event: Stripe.Event; entry: number }[] = [];
  private clock: number;
  private readonly jitter: number[];
  private eventCount = 0;
  private chargeCount = 0;
  readonly paymentIntent: PaymentIntentJson;
  readonly charges: Record<string, ChargeJson> = {};
  readonly readers: Record<string, ReaderJson>;
  readonly story: PaymentStory;

  constructor(story: PaymentStory, baseMs: number) {
    this.story = story;
    this.clock = baseMs;
    this.jitter = story.jitterMs;
    this.paymentIntent = {
      id: story.paymentIntentId,
      object: 'payment_intent',
      status: 'requires_payment_method',
      amount: story.amount,
      currency: 'usd',
      amount_capturable: 0,
      amount_received: 0,
      capture_method: story.captureMethod,
      last_payment_error: null,
      cancellation_reason: null,
      latest_charge: null,
      metadata: { orderId: `order-${story.paymentIntentId}`, locationId: LOCATION },
    };
    this.readers = Object.fromEntries(
      READERS.map((id) => [
        id,
        {
          id,
          object: 'terminal.reader',
          status: 'online',
          device_type: 'simulated_wisepos_e',
          label: id,
          location: LOCATION,
          action: null,
        },
      ]),
    );
  }

  /**
   * The next step's time: a whole second later than the clock skew the reducer allows for (so no event is from the
   * seconds around a later attempt's start on the same reader), plus this step's jitter.
   */
  private tick(): number {
    const index = this.entries.length;
    const next = seconds(this.clock) + CLOCK_SKEW_SECONDS + 1;
    this.clock = next * 1000 + (this.jitter[index % this.jitter.length] ?? 0);
    return this.clock;
  }

  private event(type: string, object: Record<string, unknown>, at: number): Stripe.Event {
    this.eventCount += 1;
    return {
      id: `evt_${this.story.paymentIntentId}_${this.eventCount}`,
      object: 'event',
      api_version: '2025-01-27.acacia',
      created: seconds(at),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object: clone(object) },
    } as unknown as Stripe.Event;
  }

  snapshot(): StripeState {
    return { paymentIntent: clone(this.paymentIntent), charges: clone(this.charges), readers: clone(this.readers) };
  }

  private push(step: Step, events: Stripe.Event[]): void {
    const entry = this.entries.length;
    this.entries.push({ step, events, stripe: this.snapshot() });
    for (const event of events) this.events.push({ event, entry });
  }

  private readerWithAction(readerId: StoryReader, status: string, failure: { code: string; message: string } | null) {
    const reader = this.readers[readerId] as ReaderJson;
    reader.action = {
      type: 'process_payment_intent',
      status,
      failure_code: failure?.code ?? null,
      failure_message: failure?.message ?? null,
      process_payment_intent: { payment_intent: this.paymentIntent.id },
    };
    return reader;
  }

  created(): void {
    const at = this.tick();
    this.push({ kind: 'stripe', at }, [this.event('payment_intent.created', this.paymentIntent, at)]);
  }

  amountChange(amount: number): void {
    const at = this.tick();
    this.paymentIntent.amount = amount;
    this.push({ kind: 'api', command: 'update_amount', at, paymentIntent: clone(this.paymentIntent) }, []);
  }

  attempt(readerId: StoryReader): void {
    const at = this.tick();
    const reader = this.readerWithAction(readerId, 'in_progress', null);
    this.push({ kind: 'attempt', at, readerId, reader: clone(reader) }, []);
  }

  failed(readerId: StoryReader, outcome: FailedOutcome): void {
    const at = this.tick();
    if (outcome === 'pos_cancel_action') {
      (this.readers[readerId] as ReaderJson).action = null;
      this.push({ kind: 'cancel_action', at, readerId }, []);
      return;
    }
    if (outcome === 'customer_canceled' || outcome === 'connection_error') {
      const message =
        outcome === 'customer_canceled'
          ? 'This action could not be completed due to an error on the card reader.'
          : 'Could not connect to Stripe.';
      const reader = this.readerWithAction(readerId, 'failed', { code: outcome, message });
      this.push({ kind: 'stripe', at }, [this.event('terminal.reader.action_failed', reader, at)]);
      return;
    }
    const decline = DECLINES[outcome];
    const charge = this.charge('failed', at, null);
    this.paymentIntent.status = 'requires_payment_method';
    this.paymentIntent.latest_charge = charge.id;
    this.paymentIntent.last_payment_error = {
      type: 'card_error',
      code: decline.code,
      ...(decline.declineCode === null ? {} : { decline_code: decline.declineCode }),
      message: decline.message,
      charge: charge.id,
    };
    const events = [this.event('payment_intent.payment_failed', this.paymentIntent, at)];
    const reader = this.readerWithAction(readerId, 'failed', { code: decline.code, message: decline.message });
    events.push(this.event('terminal.reader.action_failed', reader, at));
    this.push({ kind: 'stripe', at }, events);
  }

  private charge(status: 'succeeded' | 'failed', at: number, captureBefore: number | null): ChargeJson {
    this.chargeCount += 1;
    const charge: ChargeJson = {
      id: `ch_${this.story.paymentIntentId}_${this.chargeCount}`,
      object: 'charge',
      status,
      created: seconds(at),
      amount: this.paymentIntent.amount,
      captured: false,
      payment_intent: this.paymentIntent.id,
      payment_method_details: {
        type: 'card_present',
        card_present: {
          brand: 'visa',
          last4: status === 'succeeded' ? '4242' : '0002',
          ...(captureBefore === null ? {} : { capture_before: captureBefore }),
        },
      },
    };
    this.charges[charge.id] = charge;
    return charge;
  }

  authorized(readerId: StoryReader, tip: number, connectionError: boolean): void {
    const at = this.tick();
    const manual = this.story.captureMethod === 'manual';
    this.paymentIntent.amount += tip;
    const charge = this.charge('succeeded', at, manual ? seconds(at) + 2 * 24 * 3600 : null);
    this.paymentIntent.latest_charge = charge.id;
    this.paymentIntent.last_payment_error = null;
    const events = [this.event('charge.succeeded', charge, at)];
    if (manual) {
      this.paymentIntent.status = 'requires_capture';
      this.paymentIntent.amount_capturable = this.paymentIntent.amount;
      events.push(this.event('payment_intent.amount_capturable_updated', this.paymentIntent, at));
    } else {
      this.paymentIntent.status = 'succeeded';
      this.paymentIntent.amount_received = this.paymentIntent.amount;
      events.push(this.event('payment_intent.succeeded', this.paymentIntent, at));
    }
    const reader = connectionError
      ? this.readerWithAction(readerId, 'failed', { code: 'connection_error', message: 'Could not connect to Stripe.' })
      : this.readerWithAction(readerId, 'succeeded', null);
    events.push(
      this.event(connectionError ? 'terminal.reader.action_failed' : 'terminal.reader.action_succeeded', reader, at),
    );
    this.push({ kind: 'stripe', at }, events);
  }

  captured(amount: number): void {
    const at = this.tick();
    this.paymentIntent.status = 'succeeded';
    this.paymentIntent.amount_received = amount;
    this.paymentIntent.amount_capturable = 0;
    const answer = { ...clone(this.paymentIntent), latest_charge: this.expandedCharge() };
    this.push({ kind: 'api', command: 'capture', at, paymentIntent: answer }, [
      this.event('payment_intent.succeeded', this.paymentIntent, at),
    ]);
  }

  canceled(reason: 'requested_by_customer' | 'expired'): void {
    const at = this.tick();
    this.paymentIntent.status = 'canceled';
    this.paymentIntent.cancellation_reason = reason;
    this.paymentIntent.amount_capturable = 0;
    const events = [this.event('payment_intent.canceled', this.paymentIntent, at)];
    // The POS's cancel answers with the PaymentIntent; an expiry is announced by its event alone.
    const step: Step =
      reason === 'expired'
        ? { kind: 'stripe', at }
        : { kind: 'api', command: 'cancel', at, paymentIntent: clone(this.paymentIntent) };
    this.push(step, events);
  }

  private expandedCharge(): ChargeJson | null {
    const id = this.paymentIntent.latest_charge;
    return typeof id === 'string' ? clone(this.charges[id] ?? null) : null;
  }
}

/** The story as a timeline; `baseMs` is when the PaymentIntent was created. */
export function buildTimeline(story: PaymentStory, baseMs: number): Timeline {
  const writer = new StoryWriter(story, baseMs);
  const initial = newPaymentRecord(
    {
      paymentIntent: paymentIntentSnapshot(writer.paymentIntent as unknown as Stripe.PaymentIntent),
      orderId: `order-${story.paymentIntentId}`,
      locationId: LOCATION,
      captureMethod: story.captureMethod,
      description: null,
      metadata: {},
    },
    new Date(baseMs),
  );
  const start = writer.snapshot();
  writer.created();
  for (const attempt of story.failedAttempts) {
    if (attempt.amountBefore !== null) writer.amountChange(attempt.amountBefore);
    writer.attempt(attempt.readerId);
    writer.failed(attempt.readerId, attempt.outcome);
  }
  const end = story.end;
  if (end.kind === 'abandoned') {
    if (end.inProgressOn !== null) {
      writer.attempt(end.inProgressOn);
      // The cancel handler clears the reader's action first, then cancels the PaymentIntent.
      writer.failed(end.inProgressOn, 'pos_cancel_action');
    }
    writer.canceled('requested_by_customer');
  } else {
    if (end.amountBefore !== null) writer.amountChange(end.amountBefore);
    writer.attempt(end.readerId);
    writer.authorized(end.readerId, end.tip, end.connectionErrorAfterAuthorization);
    if (story.captureMethod === 'manual') {
      const capturable = writer.paymentIntent.amount;
      if (end.afterwards === 'capture') writer.captured(capturable);
      if (end.afterwards === 'partial_capture') writer.captured(Math.max(50, capturable - 100));
      if (end.afterwards === 'cancel') writer.canceled('requested_by_customer');
      if (end.afterwards === 'expire') writer.canceled('expired');
    }
  }
  return { story, initial, start, entries: writer.entries, events: writer.events };
}

const amount = fc.integer({ min: 50, max: 99_999 });
const reader = fc.constantFrom(...READERS);

/** Any payment story: up to three failed attempts, then an authorization or the cashier giving up. */
export function paymentStory(paymentIntentId: fc.Arbitrary<string>): fc.Arbitrary<PaymentStory> {
  const failedAttempt: fc.Arbitrary<FailedAttempt> = fc.record({
    readerId: reader,
    outcome: fc.constantFrom<FailedOutcome>(
      'decline_generic',
      'decline_insufficient_funds',
      'decline_expired_card',
      'customer_canceled',
      'pos_cancel_action',
      'connection_error',
    ),
    amountBefore: fc.option(amount, { freq: 4 }),
  });
  const end: fc.Arbitrary<StoryEnd> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('authorized' as const),
        readerId: reader,
        tip: fc.constantFrom(0, 0, 0, 150),
        connectionErrorAfterAuthorization: fc.boolean(),
        amountBefore: fc.option(amount, { freq: 4 }),
        afterwards: fc.constantFrom(
          'capture' as const,
          'partial_capture' as const,
          'cancel' as const,
          'expire' as const,
          'none' as const,
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('abandoned' as const), inProgressOn: fc.option(reader) }),
    },
  );
  return fc.record({
    paymentIntentId,
    captureMethod: fc.constantFrom('manual' as const, 'automatic' as const),
    amount,
    failedAttempts: fc.array(failedAttempt, { maxLength: 3 }),
    end,
    jitterMs: fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 1, maxLength: 12 }),
  });
}

/**
 * The one order dependence the properties found (pinned by failing tests in `reducer-interleaving.test.ts`): an
 * authorization the reader reported as `connection_error`, released (cancelled or expired) before the events were
 * applied, ends with the reader action `failed`/`connection_error` instead of `succeeded`, depending on order.
 */
export function isKnownOrderDependence(story: PaymentStory): boolean {
  const end = story.end;
  return (
    end.kind === 'authorized' &&
    end.connectionErrorAfterAuthorization &&
    story.captureMethod === 'manual' &&
    (end.afterwards === 'cancel' || end.afterwards === 'expire')
  );
}

/** When and how often each event is delivered: every copy at or after the step that created it. */
export interface Delivery {
  /** Index into `timeline.events`. */
  event: number;
  /** Delivered right after this timeline entry. */
  afterEntry: number;
  /** Order among deliveries after the same entry. */
  rank: number;
}

/** Deliveries of every event: at least once, up to three times, each delayed by any number of steps. */
export function deliverySchedule(timeline: Timeline): fc.Arbitrary<Delivery[]> {
  const last = timeline.entries.length - 1;
  const copies = timeline.events.map(({ entry }, index) =>
    fc
      .array(fc.record({ delay: fc.nat({ max: last }), rank: fc.nat() }), { minLength: 1, maxLength: 3 })
      .map((list) =>
        list.map(({ delay, rank }) => ({ event: index, afterEntry: entry + (delay % (last - entry + 1)), rank })),
      ),
  );
  return fc.tuple(...copies).map((lists) => lists.flat());
}

/** Each event once, right after the step that created it, in the order Stripe created them. */
export function inOrderSchedule(timeline: Timeline): Delivery[] {
  return timeline.events.map(({ entry }, index) => ({ event: index, afterEntry: entry, rank: index }));
}

/** Deliveries grouped by the entry after which they happen, each group in rank order. */
export function deliveriesAfter(schedule: Delivery[], entryCount: number): Delivery[][] {
  const groups: Delivery[][] = Array.from({ length: entryCount }, () => []);
  for (const delivery of schedule) groups[delivery.afterEntry]?.push(delivery);
  for (const group of groups) group.sort((a, b) => a.rank - b.rank || a.event - b.event);
  return groups;
}

/** A delivery's time: after its entry, before the next step's second. */
export function deliveryTime(timeline: Timeline, afterEntry: number): number {
  const at = timeline.entries[afterEntry]?.step.at ?? 0;
  return Math.min(at + 1, (seconds(at) + 1) * 1000 - 1);
}

/** A PaymentIntent as `retrieve` with `expand[]=latest_charge` returns it from this state. */
export function expandedPaymentIntent(state: StripeState): PaymentIntentJson {
  const id = state.paymentIntent.latest_charge;
  return {
    ...clone(state.paymentIntent),
    latest_charge: typeof id === 'string' ? clone(state.charges[id] ?? null) : null,
  };
}

/** A read of the PaymentIntent (with its charge) from `stripe`, as `refreshPayment` makes it. */
function paymentIntentRead(stripe: StripeState, atMs: number): Observation {
  return paymentIntentObservation(
    expandedPaymentIntent(stripe) as unknown as Stripe.PaymentIntent,
    { source: 'poll' },
    atMs,
  );
}

/** A read of a reader from `stripe`, stamped with the second it was made in. */
function readerRead(stripe: StripeState, readerId: string, atMs: number): Observation {
  return readerActionObservation(
    stripe.readers[readerId] as unknown as Stripe.Terminal.Reader,
    { source: 'poll' },
    seconds(atMs),
  );
}

function runsPayment(stripe: StripeState, readerId: string, paymentIntentId: string): boolean {
  const action = stripe.readers[readerId]?.action as
    | { status?: string; process_payment_intent?: { payment_intent?: string } }
    | null
    | undefined;
  return action?.status === 'in_progress' && action.process_payment_intent?.payment_intent === paymentIntentId;
}

/** `refreshPayment`: the PaymentIntent and the latest attempt's reader, read and applied. */
function refresh(record: PaymentRecord, stripe: StripeState, atMs: number, now: Date): PaymentRecord {
  const reads = [paymentIntentRead(stripe, atMs)];
  if (record.readerId !== null) reads.push(readerRead(stripe, record.readerId, atMs));
  return applyObservations(record, reads, now).record;
}

/** `releaseReaderAction` when the reader no longer runs the payment: what the reader shows is recorded. */
function releaseEndedAction(record: PaymentRecord, stripe: StripeState, atMs: number, now: Date): PaymentRecord {
  if (!isReaderActionInProgress(record) || record.readerId === null) return record;
  if (runsPayment(stripe, record.readerId, record.id)) return record;
  return applyObservation(record, readerRead(stripe, record.readerId, atMs), now).record;
}

/**
 * What the API does in its own step, with the reads its handler makes first against Stripe as it was just
 * before the step (`before`): the same record functions and rules the handlers use.
 */
export function applyStep(record: PaymentRecord, step: Step, before: StripeState, now: Date): PaymentRecord {
  switch (step.kind) {
    case 'attempt': {
      let current = record;
      const decision = decideProcess(current);
      if (decision.kind === 'verify_in_progress') {
        // The record says the last attempt still runs: the handler reads the reader, then refreshes.
        current = refresh(current, before, step.at, now);
      }
      if (decideProcess(current).kind !== 'process') {
        throw new Error(`the API would refuse to process ${current.id}: ${JSON.stringify(decideProcess(current))}`);
      }
      const attempt = current.attempts + 1;
      const answer = readerActionObservation(
        step.reader as unknown as Stripe.Terminal.Reader,
        { source: 'api' },
        seconds(step.at),
        attempt,
      );
      return recordProcessAccepted(
        current,
        { attempt, readerId: step.readerId, startedAtMs: step.at, answer, nextTry: 1 },
        now,
      );
    }
    case 'cancel_action':
      return applyObservation(record, canceledActionObservation(record, step.readerId, now), now).record;
    case 'api': {
      let current = record;
      if (step.command === 'capture' && decideCapture(current, undefined, false).kind === 'refresh') {
        current = refresh(current, before, step.at, now);
      } else if (step.command !== 'capture') {
        current = releaseEndedAction(current, before, step.at, now);
      }
      const answer = paymentIntentObservation(
        step.paymentIntent as unknown as Stripe.PaymentIntent,
        { source: 'api' },
        step.at,
      );
      const base = step.command === 'update_amount' ? withAmountUpdate(current, now) : current;
      return applyObservation(base, answer, now).record;
    }
    case 'stripe':
      return record;
  }
}

/**
 * The observations the webhook processor applies for one event: the event's own, after a read of the
 * PaymentIntent when the reader lost Stripe's answer (`connection_error`). Empty for events it ignores.
 */
export function observationsForDelivery(event: Stripe.Event, stripe: StripeState, readAtMs: number): Observation[] {
  const queued = parseQueuedEvent(JSON.stringify(event));
  if (queued.kind === 'poison') throw new Error(`event ${event.id} parsed as poison: ${queued.reason}`);
  if (queued.kind !== 'payment') return [];
  if (!queued.readPaymentIntent) return queued.observations;
  const read = paymentIntentObservation(
    expandedPaymentIntent(stripe) as unknown as Stripe.PaymentIntent,
    { source: 'poll', eventId: event.id, eventType: event.type },
    readAtMs,
  );
  return [read, ...queued.observations];
}

/** Play the timeline through the reducer alone, delivering events as `schedule` says. */
export function playThroughReducer(timeline: Timeline, schedule: Delivery[]): PaymentRecord {
  const groups = deliveriesAfter(schedule, timeline.entries.length);
  let record = timeline.initial;
  timeline.entries.forEach((entry, index) => {
    const before = timeline.entries[index - 1]?.stripe ?? timeline.start;
    record = applyStep(record, entry.step, before, new Date(entry.step.at));
    const readAtMs = deliveryTime(timeline, index);
    for (const delivery of groups[index] ?? []) {
      const { event } = timeline.events[delivery.event] as { event: Stripe.Event };
      const result = applyObservations(
        record,
        observationsForDelivery(event, entry.stripe, readAtMs),
        new Date(readAtMs),
      );
      if (result.verdict === 'ambiguous')
        throw new Error(`event ${event.id} is ambiguous in a story built to avoid it`);
      record = result.record;
    }
  });
  return record;
}

/** What a POS sees of a payment (its resource) and what protects money, without the times of writes. */
export function visibleState(record: PaymentRecord) {
  const { updatedAt: _updatedAt, createdAt: _createdAt, readerAction, flags, ...resource } = toPaymentResource(record);
  return {
    ...resource,
    flags: [...flags].sort(),
    readerAction:
      readerAction === null
        ? null
        : {
            status: readerAction.status,
            failureCode: readerAction.failureCode,
            failureMessage: readerAction.failureMessage,
          },
    chargeId: record.chargeId,
    cancellationReason: record.cancellationReason,
  };
}

/** What Stripe holds at the end: the PaymentIntent's money and status. */
export function stripeOutcome(timeline: Timeline) {
  const final = timeline.entries.at(-1)?.stripe.paymentIntent as PaymentIntentJson;
  return {
    status: final.status,
    amount: final.amount,
    amountCapturable: final.amount_capturable,
    amountReceived: final.amount_received,
  };
}

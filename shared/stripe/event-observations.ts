/**
 * A queued Stripe event turned into the payment it concerns and the observations the reducer applies. Pure, no
 * I/O: the webhook processor reads and writes around it.
 *
 * The receiver queued the event's verified JSON, so anything that does not parse into an event of a known shape
 * is poison: retrying it can never succeed.
 */
import type Stripe from 'stripe';
import { currentAttempt } from '../payments/record.ts';
import type {
  ChargeObservation,
  Observation,
  ObservationOrigin,
  PaymentRecord,
  ReaderActionObservation,
} from '../payments/types.ts';
import { unixSeconds } from '../time.ts';
import * as z from '../zod.ts';
import { isHandledEventType } from './event-types.ts';
import { chargeSnapshot, paymentIntentObservation, readerActionObservation, refundObservation } from './snapshots.ts';

/** What identifies an event in logs, the dedupe item and the audit trail. */
export interface EventSummary {
  id: string;
  type: string;
  /** Unix seconds. */
  created: number;
}

/** An event about a payment: apply `observations`, in order, to the PaymentIntent's record. */
export interface PaymentEvent {
  kind: 'payment';
  event: EventSummary;
  paymentIntentId: string;
  observations: Observation[];
  /** The reader-action observation among `observations`, for reader events. */
  readerObservation?: ReaderActionObservation;
  /**
   * `action_failed` with `connection_error`: the reader lost Stripe's answer, not necessarily the payment. Only
   * the PaymentIntent tells whether it was authorized.
   */
  readPaymentIntent: boolean;
  /**
   * Read the payment's refunds from Stripe before applying: a refund action that failed with `connection_error` may
   * still have made its refund; `charge.refunded` may tell of refunds whose own events were lost (`unexplained`:
   * only when its `amount_refunded` is not what the record accounts for).
   */
  readRefunds?: 'always' | 'unexplained';
  /** `charge.refunded`: the charge's `amount_refunded`. */
  chargeAmountRefunded?: number;
}

export type QueuedEvent =
  | PaymentEvent
  /** A well-formed event that moves no payment (another reader action, an unused type): acknowledge it. */
  | { kind: 'ignored'; event: EventSummary; reason: string }
  /** Not an event, or not the shape its type promises: never retried, sent to the DLQ. */
  | { kind: 'poison'; reason: PoisonReason; event?: EventSummary };

export type PoisonReason = 'not_json' | 'not_an_event' | 'unexpected_object';

/** An id, or the object it names when Stripe expanded it. */
const Expandable = z.union([z.string(), z.looseObject({ id: z.string() })]);

const EventEnvelope = z.looseObject({
  id: z.string().check(z.minLength(1)),
  object: z.literal('event'),
  type: z.string().check(z.minLength(1)),
  created: z.number().check(z.int(), z.nonnegative()),
  data: z.looseObject({ object: z.looseObject({}) }),
});

const PaymentIntentObject = z.looseObject({
  id: z.string().check(z.minLength(1)),
  object: z.literal('payment_intent'),
  status: z.string(),
  amount: z.number().check(z.int()),
  currency: z.string(),
  amount_capturable: z.number().check(z.int()),
  amount_received: z.number().check(z.int()),
  last_payment_error: z.nullish(
    z.looseObject({ code: z.nullish(z.string()), decline_code: z.nullish(z.string()), message: z.nullish(z.string()) }),
  ),
  cancellation_reason: z.nullish(z.string()),
  latest_charge: z.nullish(Expandable),
});

const ChargeObject = z.looseObject({
  id: z.string().check(z.minLength(1)),
  object: z.literal('charge'),
  status: z.string(),
  created: z.number().check(z.int()),
  payment_intent: z.nullable(Expandable),
  payment_method_details: z.nullish(
    z.looseObject({
      type: z.nullish(z.string()),
      card_present: z.nullish(
        z.looseObject({
          brand: z.nullish(z.string()),
          last4: z.nullish(z.string()),
          capture_before: z.nullish(z.number()),
        }),
      ),
      interac_present: z.nullish(z.looseObject({ brand: z.nullish(z.string()), last4: z.nullish(z.string()) })),
    }),
  ),
  amount_refunded: z.nullish(z.number().check(z.int())),
});

const RefundObject = z.looseObject({
  id: z.string().check(z.minLength(1)),
  object: z.literal('refund'),
  amount: z.number().check(z.int()),
  currency: z.string(),
  status: z.nullish(z.string()),
  created: z.number().check(z.int()),
  payment_intent: z.nullish(Expandable),
  metadata: z.nullish(z.record(z.string(), z.string())),
  reason: z.nullish(z.string()),
  failure_reason: z.nullish(z.string()),
});

const ReaderObject = z.looseObject({
  id: z.string().check(z.minLength(1)),
  object: z.literal('terminal.reader'),
  action: z.nullish(
    z.looseObject({
      type: z.string(),
      status: z.string(),
      failure_code: z.nullish(z.string()),
      failure_message: z.nullish(z.string()),
      process_payment_intent: z.nullish(z.looseObject({ payment_intent: Expandable })),
      refund_payment: z.nullish(
        z.looseObject({
          payment_intent: z.nullish(Expandable),
          refund: z.nullish(Expandable),
          metadata: z.nullish(z.record(z.string(), z.string())),
        }),
      ),
    }),
  ),
});

/**
 * Parse a queued message body into what the processor does with it. Never throws: a body that cannot be an
 * event is `poison`.
 */
export function parseQueuedEvent(body: string): QueuedEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: 'poison', reason: 'not_json' };
  }
  const envelope = EventEnvelope.safeParse(json);
  if (!envelope.success) return { kind: 'poison', reason: 'not_an_event' };
  return observationsFromEvent(envelope.data as unknown as Stripe.Event);
}

/** The payment an event concerns and its observations (origin `webhook`, stamped with the event's `created`). */
export function observationsFromEvent(event: Stripe.Event): QueuedEvent {
  const summary: EventSummary = { id: event.id, type: event.type, created: event.created };
  if (!isHandledEventType(event.type)) return { kind: 'ignored', event: summary, reason: 'unhandled_type' };
  const origin: ObservationOrigin = { source: 'webhook', eventId: event.id, eventType: event.type };
  const object: unknown = event.data.object;
  const unexpected = { kind: 'poison', reason: 'unexpected_object', event: summary } as const;

  if (event.type.startsWith('payment_intent.')) {
    const parsed = PaymentIntentObject.safeParse(object);
    if (!parsed.success) return unexpected;
    const paymentIntent = parsed.data as unknown as Stripe.PaymentIntent;
    return {
      kind: 'payment',
      event: summary,
      paymentIntentId: paymentIntent.id,
      // An event's object is the PaymentIntent as it was when the event was created, not when it arrives.
      observations: [paymentIntentObservation(paymentIntent, origin, event.created * 1000)],
      readPaymentIntent: false,
    };
  }

  if (event.type.startsWith('refund.') || event.type === 'charge.refund.updated') {
    const parsed = RefundObject.safeParse(object);
    if (!parsed.success) return unexpected;
    const observation = refundObservation(parsed.data as unknown as Stripe.Refund, origin);
    const paymentIntentId = observation.refund.paymentIntentId;
    if (paymentIntentId === null) return { kind: 'ignored', event: summary, reason: 'refund_without_payment_intent' };
    return { kind: 'payment', event: summary, paymentIntentId, observations: [observation], readPaymentIntent: false };
  }

  if (event.type.startsWith('charge.')) {
    const parsed = ChargeObject.safeParse(object);
    if (!parsed.success) return unexpected;
    const charge = chargeSnapshot(parsed.data as unknown as Stripe.Charge);
    if (charge === null || charge.paymentIntentId === null) {
      return { kind: 'ignored', event: summary, reason: 'charge_without_payment_intent' };
    }
    const observation: ChargeObservation = { kind: 'charge', origin, charge };
    const queued: PaymentEvent = {
      kind: 'payment',
      event: summary,
      paymentIntentId: charge.paymentIntentId,
      observations: [observation],
      readPaymentIntent: false,
    };
    if (event.type === 'charge.refunded') {
      queued.readRefunds = 'unexplained';
      queued.chargeAmountRefunded = charge.amountRefunded;
    }
    return queued;
  }

  const parsed = ReaderObject.safeParse(object);
  if (!parsed.success) return unexpected;
  // A reader action carries no attempt number: the reducer matches it by reader and the event's `created`.
  const observation = readerActionObservation(parsed.data as unknown as Stripe.Terminal.Reader, origin, event.created);
  const action = observation.action;
  if (action === null) return { kind: 'ignored', event: summary, reason: 'no_reader_action' };
  if (action.type === 'refund_payment' && action.paymentIntentId !== null && action.refundKey) {
    const queued: PaymentEvent = {
      kind: 'payment',
      event: summary,
      paymentIntentId: action.paymentIntentId,
      observations: [observation],
      readPaymentIntent: false,
    };
    // The reader lost Stripe's answer: the refund may have been made all the same.
    if (action.status === 'failed' && action.failureCode === 'connection_error') queued.readRefunds = 'always';
    return queued;
  }
  if (action.type !== 'process_payment_intent' || action.paymentIntentId === null) {
    return { kind: 'ignored', event: summary, reason: 'not_a_payment_action' };
  }
  return {
    kind: 'payment',
    event: summary,
    paymentIntentId: action.paymentIntentId,
    observations: [observation],
    readerObservation: observation,
    readPaymentIntent: event.type === 'terminal.reader.action_failed' && action.failureCode === 'connection_error',
  };
}

/**
 * Whether a reader event about this payment may belong to a process attempt the API has not recorded yet. The API
 * records (claims) every attempt before its command is sent, so an event from a reader that ran one of the
 * payment's attempts is about a recorded attempt, current or earlier, and the reducer settles it. Only an event
 * that ended an action of this PaymentIntent on a reader none of its recorded attempts used qualifies (a command
 * sent by someone else, or an attempt log older than the record keeps).
 *
 * An event the reducer applies to the current attempt never qualifies.
 */
export function mayBelongToUnrecordedAttempt(record: PaymentRecord, observation: ReaderActionObservation): boolean {
  const action = observation.action;
  if (action === null || action.type !== 'process_payment_intent' || action.paymentIntentId !== record.id) return false;
  if (action.status === 'in_progress') return false;
  if (record.attemptLog.some((attempt) => attempt.readerId === observation.readerId)) return false;
  // An action that ended before the current attempt started cannot be an attempt recorded after it.
  const attempt = currentAttempt(record);
  return attempt === undefined || observation.createdSeconds > unixSeconds(attempt.startedAtMs);
}

/**
 * Whether a reader event shows this payment authorized on a reader other than the one its current attempt runs
 * on: that reader may still hold the PaymentIntent, and nothing else would ever clear it.
 */
export function authorizedElsewhere(record: PaymentRecord, observation: ReaderActionObservation): boolean {
  const action = observation.action;
  if (action === null || action.type !== 'process_payment_intent' || action.paymentIntentId !== record.id) return false;
  const attempt = currentAttempt(record);
  return action.status === 'succeeded' && attempt !== undefined && attempt.readerId !== observation.readerId;
}

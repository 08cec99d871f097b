/**
 * The emulator's in-memory state: Stripe objects by id, in creation order, plus what only the simulated
 * readers know (online or not, armed faults, the payment they are working on). One Node process serves every
 * request, and every state change happens synchronously within one turn of the event loop, so two requests
 * can never interleave half-way through a change.
 */
import type Stripe from 'stripe';
import type { ClockTimer } from '../clock.ts';
import type { SimulatedDeviceType } from '../options.ts';
import type { PresentedCard } from '../terminal/cards.ts';

/** Why a card refund fails, as Stripe's `failure_reason` says. */
export const REFUND_FAILURE_REASONS = [
  'charge_for_pending_refund_disputed',
  'declined',
  'expired_or_canceled_card',
  'insufficient_funds',
  'lost_or_stolen_card',
  'merchant_request',
  'unknown',
] as const;
export type RefundFailureReason = (typeof REFUND_FAILURE_REASONS)[number];

/**
 * A fault armed for the next card refund (`/_emulator/refunds/next`): `fail`, the next refund to settle fails with
 * `failureReason`; `pending_forever`, the next refund created stays `pending` and never settles.
 */
export type RefundFault = { fault: 'fail'; failureReason: RefundFailureReason } | { fault: 'pending_forever' };

/** A fault armed for the reader's next command (`/_emulator/readers/{id}/next-command`). */
export type CommandFault = 'timeout' | 'timeout_after_delivery';

/** A fault armed for the reader's next authorization (`/_emulator/readers/{id}/next-authorization`). */
export type AuthorizationFault = 'connection_error' | 'connection_error_after_authorization' | 'disconnect';

/** Which reader command started the payment the reader is working on. */
export type PaymentFlow = 'process' | 'collect' | 'confirm';

/**
 * The payment a reader is working on, beyond what its public `action` shows:
 * - `awaiting_card`: the reader asks for a card;
 * - `reading`: a card was presented for `collect_payment_method` and is being read;
 * - `collected`: the card was read, waiting for `confirm_payment_intent`;
 * - `authorizing`: a card was presented and the authorization is under way (not cancellable);
 * - `stuck`: the reader dropped off mid-payment; the action stays `in_progress` until `cancel_action`;
 * - `awaiting_refund_card`: `refund_payment` asks for the card the charge was paid with.
 */
export type ReaderPayment =
  | { stage: 'awaiting_card'; flow: 'process' | 'collect'; paymentIntent: string; customerCancellation: boolean }
  | { stage: 'reading'; flow: 'collect'; paymentIntent: string; card: CardOnReader; timer: ClockTimer }
  | { stage: 'collected'; flow: 'collect'; paymentIntent: string; card: CardOnReader }
  | {
      stage: 'authorizing';
      flow: 'process' | 'confirm';
      paymentIntent: string;
      card: CardOnReader;
      timer: ClockTimer;
    }
  | { stage: 'stuck'; flow: PaymentFlow; paymentIntent: string }
  /** `refund_payment`: the reader asks for the card the charge was paid with. */
  | {
      stage: 'awaiting_refund_card';
      charge: string;
      amount: number;
      metadata: Record<string, string>;
      customerCancellation: boolean;
    };

type WithoutTimer<T> = T extends unknown ? Omit<T, 'timer'> : never;

/** A reader's payment as saved to a file: timers are not kept, they are started again when it is loaded. */
export type SavedReaderPayment = WithoutTimer<ReaderPayment>;

/**
 * A card presented to the reader, the payment method made from it, and the tip chosen on the reader: null when the
 * reader offered no tip (tipping skipped, or no tipping configured for the location and currency), 0 for "no tip".
 */
export interface CardOnReader {
  card: PresentedCard;
  paymentMethod: string;
  tip: number | null;
}

/** A simulated reader: its Stripe object and its device-side state. */
export interface ReaderState {
  reader: Stripe.Terminal.Reader;
  online: boolean;
  commandFault: CommandFault | null;
  authorizationFault: AuthorizationFault | null;
  /** A command is travelling to the reader; the reader takes one request at a time. */
  commandInFlight: boolean;
  payment: ReaderPayment | null;
}

/**
 * A one-time registration code minted by `/_emulator/registration_codes`, as a real reader shows one: it registers
 * one reader of `deviceType`, then is used.
 */
export interface RegistrationCode {
  code: string;
  deviceType: SimulatedDeviceType;
  /** When it was minted (epoch ms on the emulator's clock). */
  createdAt: number;
  /** The reader it registered; null while unused. */
  reader: string | null;
}

/** A webhook endpoint and its signing secret. */
export interface EndpointState {
  endpoint: Stripe.WebhookEndpoint;
  secret: string;
}

/** Every object the emulator holds. Maps keep insertion order, which is creation order. */
export class Store {
  readonly paymentIntents = new Map<string, Stripe.PaymentIntent>();
  readonly charges = new Map<string, Stripe.Charge>();
  readonly refunds = new Map<string, Stripe.Refund>();
  /** The fault armed for the next card refund (`/_emulator/refunds/next`); null: refunds succeed. */
  nextRefundFault: RefundFault | null = null;
  /** Timers of the refunds still `pending`, by refund id. */
  readonly refundTimers = new Map<string, ClockTimer>();
  /** Refunds that stay `pending` for good (`pending_forever`): no timer, not even after a restart. */
  readonly refundsPendingForever = new Set<string>();
  readonly paymentMethods = new Map<string, Stripe.PaymentMethod>();
  readonly locations = new Map<string, Stripe.Terminal.Location>();
  /** Terminal Configurations, the account default among them. */
  readonly configurations = new Map<string, Stripe.Terminal.Configuration>();
  readonly readers = new Map<string, ReaderState>();
  /** One-time registration codes minted by `/_emulator/registration_codes`, used or not, by code. */
  readonly registrationCodes = new Map<string, RegistrationCode>();
  /** Ids of the readers and locations deleted through the API, so that the seed does not bring them back on restart. */
  readonly deleted = new Set<string>();
  readonly events = new Map<string, Stripe.Event>();
  readonly webhookEndpoints = new Map<string, EndpointState>();
  /** When each uncaptured authorization expires (epoch ms on the emulator's clock), by PaymentIntent id. */
  readonly authorizationExpiry = new Map<string, { expiresAt: number; timer: ClockTimer }>();
}

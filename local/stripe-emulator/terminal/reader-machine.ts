/**
 * The simulated reader: one action at a time, commands that can time out (even after delivery), an offline
 * state, presented cards, authorizations that take a moment and can fail on the way, customer cancellation and
 * `cancel_action`. Each function checks and changes state without awaiting in between, except while a command
 * travels to the reader — and the reader is locked (`commandInFlight`) for exactly that time.
 */
import type Stripe from 'stripe';
import type { EmulatorCore } from '../core.ts';
import { docUrl, errors } from '../errors.ts';
import { buildPaymentMethod } from '../objects/payment-method.ts';
import { chargeToRefund, createRefund, refundAmount } from '../payments/refunds.ts';
import { authorize, decline } from '../payments/transitions.ts';
import type { CardOnReader, ReaderPayment, ReaderState, SavedReaderPayment } from '../state/store.ts';
import { authorizationOutcome, type PresentedCard } from './cards.ts';
import { addTip, chosenTip, removeTip } from './tipping.ts';

type Action = Stripe.Terminal.Reader.Action;

const CUSTOMER_CANCELED_MESSAGE = 'This action could not be completed due to an error on the card reader.';
const CONNECTION_ERROR_MESSAGE = 'Could not connect to Stripe.';
const PROCESS_STATE_MESSAGE =
  'Payment intent must be in the requires_payment_method state to be processed by a reader.';
const CONFIRM_STATE_MESSAGE = 'Payment intent must be in the requires_confirmation state to be confirmed by a reader.';

/** A control request the reader's state does not allow (HTTP 409 from `/_emulator`). */
export class ReaderConflict extends Error {}

/** The reader with `id`, or Stripe's 404. */
export function readerState(core: EmulatorCore, id: string): ReaderState {
  const state = core.store.readers.get(id);
  if (state === undefined) throw errors.resourceMissing('terminal.reader', id, 'reader');
  return state;
}

/** The reader as the API shows it now: an online reader was last seen just now, on the emulator's clock. */
export function readerView(core: EmulatorCore, state: ReaderState): Stripe.Terminal.Reader {
  if (state.online) state.reader.last_seen_at = core.clock.now();
  return structuredClone(state.reader);
}

function locationOf(reader: Stripe.Terminal.Reader): string | null {
  return typeof reader.location === 'string' ? reader.location : (reader.location?.id ?? null);
}

function isBusy(state: ReaderState): boolean {
  return state.commandInFlight || state.reader.action?.status === 'in_progress';
}

/** A PaymentIntent a reader command names, or Stripe's 400 for a missing referenced object. */
export function referencedPaymentIntent(core: EmulatorCore, id: string): Stripe.PaymentIntent {
  const paymentIntent = core.store.paymentIntents.get(id);
  if (paymentIntent === undefined) throw errors.resourceMissing('payment_intent', id, 'payment_intent', 400);
  return paymentIntent;
}

function requireTerminalPaymentMethods(paymentIntent: Stripe.PaymentIntent): void {
  const types = paymentIntent.payment_method_types;
  if (!types.includes('card_present') && !types.includes('interac_present')) {
    throw errors.paymentIntentInvalidParameter(
      'payment_intent',
      "This PaymentIntent cannot be processed by a reader: its payment_method_types must include 'card_present' or 'interac_present'.",
    );
  }
}

interface CommandOptions {
  /** Checks made by Stripe before the command is sent (PaymentIntent state). */
  check: () => void;
  /** The change the reader makes once it has the command. */
  apply: () => void;
  /** A state in which the reader takes this command although an action is in progress. */
  continues?: () => boolean;
}

/**
 * Send a command to the reader: Stripe's checks, then offline / busy, then the trip to the reader (which locks
 * it), then an armed `next-command` fault. `timeout_after_delivery` applies the command and still answers
 * `terminal_reader_timeout` — Stripe's false negative.
 */
async function sendCommand(core: EmulatorCore, state: ReaderState, options: CommandOptions): Promise<void> {
  const gate = (): void => {
    options.check();
    if (!state.online) throw errors.readerOffline();
    if (isBusy(state) && !(options.continues?.() ?? false)) throw errors.readerBusy();
  };
  gate();
  const latency = core.timing.readerCommandLatencyMs;
  if (latency > 0) {
    state.commandInFlight = true;
    try {
      await core.timers.sleep(latency);
    } finally {
      state.commandInFlight = false;
    }
    // While the command travelled the reader may have been deleted, or the PaymentIntent or its connection changed.
    if (core.store.readers.get(state.reader.id) !== state) {
      throw errors.resourceMissing('terminal.reader', state.reader.id, 'reader');
    }
    options.check();
    if (!state.online) throw errors.readerOffline();
  }
  const fault = state.commandFault;
  if (fault !== null) {
    state.commandFault = null;
    if (fault === 'timeout_after_delivery') options.apply();
    throw errors.readerTimeout();
  }
  options.apply();
}

function newAction(type: Action['type'], details: Partial<Action>): Action {
  const action: Action = {
    type,
    status: 'in_progress',
    failure_code: null,
    failure_message: null,
    api_error: null,
    ...details,
  };
  return action;
}

function failAction(
  action: Action,
  code: string,
  message: string,
  apiError: Stripe.Terminal.Reader.Action.ApiError | null,
): void {
  action.status = 'failed';
  action.failure_code = code;
  action.failure_message = message;
  action.api_error = apiError;
}

function processConfigOf(
  config: Stripe.Terminal.ReaderProcessPaymentIntentParams.ProcessConfig | undefined,
): Stripe.Terminal.Reader.Action.ProcessPaymentIntent.ProcessConfig | undefined {
  if (config === undefined) return undefined;
  const view: Stripe.Terminal.Reader.Action.ProcessPaymentIntent.ProcessConfig = {};
  if (config.enable_customer_cancellation !== undefined)
    view.enable_customer_cancellation = config.enable_customer_cancellation;
  if (config.skip_tipping !== undefined) view.skip_tipping = config.skip_tipping;
  if (config.return_url !== undefined) view.return_url = config.return_url;
  if (config.tipping !== undefined) view.tipping = { ...config.tipping };
  return view;
}

function collectConfigOf(
  config: Stripe.Terminal.ReaderCollectPaymentMethodParams.CollectConfig | undefined,
): Stripe.Terminal.Reader.Action.CollectPaymentMethod.CollectConfig | undefined {
  if (config === undefined) return undefined;
  const view: Stripe.Terminal.Reader.Action.CollectPaymentMethod.CollectConfig = {};
  if (config.enable_customer_cancellation !== undefined)
    view.enable_customer_cancellation = config.enable_customer_cancellation;
  if (config.skip_tipping !== undefined) view.skip_tipping = config.skip_tipping;
  if (config.tipping !== undefined) view.tipping = { ...config.tipping };
  return view;
}

/** `process_payment_intent`: the reader asks for a card to pay `paymentIntent`. */
export async function processPaymentIntent(
  core: EmulatorCore,
  state: ReaderState,
  params: Stripe.Terminal.ReaderProcessPaymentIntentParams,
): Promise<Stripe.Terminal.Reader> {
  const paymentIntent = referencedPaymentIntent(core, params.payment_intent);
  await sendCommand(core, state, {
    check: () => {
      requireTerminalPaymentMethods(paymentIntent);
      if (paymentIntent.status !== 'requires_payment_method') throw errors.intentInvalidState(PROCESS_STATE_MESSAGE);
    },
    apply: () => {
      const processConfig = processConfigOf(params.process_config);
      state.reader.action = newAction('process_payment_intent', {
        process_payment_intent: {
          payment_intent: paymentIntent.id,
          ...(processConfig === undefined ? {} : { process_config: processConfig }),
        },
      });
      state.payment = {
        stage: 'awaiting_card',
        flow: 'process',
        paymentIntent: paymentIntent.id,
        customerCancellation: params.process_config?.enable_customer_cancellation === true,
      };
    },
  });
  return readerView(core, state);
}

/** `collect_payment_method`: the reader reads a card for `paymentIntent` without authorizing it yet. */
export async function collectPaymentMethod(
  core: EmulatorCore,
  state: ReaderState,
  params: Stripe.Terminal.ReaderCollectPaymentMethodParams,
): Promise<Stripe.Terminal.Reader> {
  const paymentIntent = referencedPaymentIntent(core, params.payment_intent);
  await sendCommand(core, state, {
    check: () => {
      requireTerminalPaymentMethods(paymentIntent);
      if (paymentIntent.status !== 'requires_payment_method') throw errors.intentInvalidState(PROCESS_STATE_MESSAGE);
    },
    apply: () => {
      const collectConfig = collectConfigOf(params.collect_config);
      state.reader.action = newAction('collect_payment_method', {
        collect_payment_method: {
          payment_intent: paymentIntent.id,
          ...(collectConfig === undefined ? {} : { collect_config: collectConfig }),
        },
      });
      state.payment = {
        stage: 'awaiting_card',
        flow: 'collect',
        paymentIntent: paymentIntent.id,
        customerCancellation: params.collect_config?.enable_customer_cancellation === true,
      };
    },
  });
  return readerView(core, state);
}

/** `confirm_payment_intent`: authorize the card collected by `collect_payment_method` on this reader. */
export async function confirmPaymentIntent(
  core: EmulatorCore,
  state: ReaderState,
  params: Stripe.Terminal.ReaderConfirmPaymentIntentParams,
): Promise<Stripe.Terminal.Reader> {
  const paymentIntent = referencedPaymentIntent(core, params.payment_intent);
  const collectedHere = (): CardOnReader | undefined => {
    const payment = state.payment;
    return payment?.stage === 'collected' && payment.paymentIntent === paymentIntent.id ? payment.card : undefined;
  };
  await sendCommand(core, state, {
    check: () => {
      if (paymentIntent.status !== 'requires_confirmation') throw errors.intentInvalidState(CONFIRM_STATE_MESSAGE);
    },
    continues: () => collectedHere() !== undefined,
    apply: () => {
      const card = collectedHere();
      if (card === undefined) {
        throw errors.invalidRequest(
          'No payment method was collected for this PaymentIntent on this reader: call collect_payment_method first.',
          'payment_intent',
        );
      }
      state.reader.action = newAction('confirm_payment_intent', {
        confirm_payment_intent: {
          payment_intent: paymentIntent.id,
          ...(params.confirm_config === undefined ? {} : { confirm_config: { ...params.confirm_config } }),
        },
      });
      startAuthorization(core, state, 'confirm', paymentIntent.id, card);
    },
  });
  return readerView(core, state);
}

/**
 * `refund_payment`: the reader asks for the card `charge` (or the PaymentIntent's latest charge) was paid with; once
 * it is presented the refund is made and the action succeeds. Stripe's refusals of the amount come at once.
 */
export async function refundPayment(
  core: EmulatorCore,
  state: ReaderState,
  params: Stripe.Terminal.ReaderRefundPaymentParams,
): Promise<Stripe.Terminal.Reader> {
  const charge = chargeToRefund(core, params);
  const amount = refundAmount(charge, params.amount);
  await sendCommand(core, state, {
    check: () => {
      refundAmount(charge, amount);
    },
    apply: () => {
      const metadata = { ...(params.metadata ?? {}) } as Record<string, string>;
      state.reader.action = newAction('refund_payment', {
        refund_payment: {
          amount,
          charge: charge.id,
          metadata,
          ...(typeof charge.payment_intent === 'string' ? { payment_intent: charge.payment_intent } : {}),
          refund_application_fee: params.refund_application_fee ?? false,
          reverse_transfer: params.reverse_transfer ?? false,
          ...(params.refund_payment_config === undefined
            ? {}
            : {
                refund_payment_config: {
                  enable_customer_cancellation: params.refund_payment_config.enable_customer_cancellation === true,
                },
              }),
        },
      });
      state.payment = {
        stage: 'awaiting_refund_card',
        charge: charge.id,
        amount,
        metadata,
        customerCancellation: params.refund_payment_config?.enable_customer_cancellation === true,
      };
    },
  });
  return readerView(core, state);
}

/** The card for a `refund_payment`: it must be of the type the charge was paid with; then the refund is made. */
function refundWithCard(core: EmulatorCore, state: ReaderState, presentation: Presentation): Stripe.Terminal.Reader {
  const payment = state.payment;
  const action = state.reader.action;
  if (payment?.stage !== 'awaiting_refund_card' || action === null) return readerView(core, state);
  const charge = core.store.charges.get(payment.charge);
  const presentedType = presentation.card.type === 'card' ? 'card_present' : presentation.card.type;
  if (charge !== undefined && charge.payment_method_details?.type !== presentedType) {
    throw errors.invalidRequest(
      `This charge was paid with ${charge.payment_method_details?.type}: present the same kind of card to refund it.`,
      'type',
    );
  }
  const events = core.batch();
  state.payment = null;
  try {
    if (charge === undefined) throw errors.resourceMissing('charge', payment.charge, 'charge');
    const refund = createRefund(
      core,
      charge,
      { amount: payment.amount, reason: null, metadata: payment.metadata, inPerson: true },
      events,
    );
    if (action.refund_payment !== undefined) action.refund_payment.refund = refund.id;
    action.status = 'succeeded';
    events.emit('terminal.reader.action_succeeded', readerView(core, state));
  } catch (error) {
    const message = (error as Error).message;
    failAction(action, 'refund_failed', message, null);
    events.emit('terminal.reader.action_failed', readerView(core, state));
  }
  core.publish(events);
  return readerView(core, state);
}

/** `set_reader_display`: show a cart. The reader acknowledges at once; Stripe sends no webhook for it. */
export async function setReaderDisplay(
  core: EmulatorCore,
  state: ReaderState,
  params: Stripe.Terminal.ReaderSetReaderDisplayParams,
): Promise<Stripe.Terminal.Reader> {
  if (params.type === 'cart' && params.cart === undefined) throw errors.parameterMissing('cart');
  if (params.cart !== undefined && !/^[a-zA-Z]{3}$/.test(params.cart.currency)) {
    throw errors.invalidRequest(`Invalid currency: ${params.cart.currency}.`, 'cart[currency]');
  }
  await sendCommand(core, state, {
    check: () => {},
    apply: () => {
      const cart = params.cart;
      state.reader.action = newAction('set_reader_display', {
        status: 'succeeded',
        set_reader_display: {
          type: 'cart',
          cart:
            cart === undefined
              ? null
              : {
                  currency: cart.currency.toLowerCase(),
                  line_items: cart.line_items.map((item) => ({ ...item })),
                  tax: cart.tax ?? null,
                  total: cart.total,
                },
        },
      });
      state.payment = null;
    },
  });
  return readerView(core, state);
}

/**
 * `cancel_action`: clear the reader's action (no webhook). Not while an authorization is under way — Stripe's
 * guide: wait for it to complete; that is `terminal_reader_busy`.
 */
export function cancelAction(core: EmulatorCore, state: ReaderState): Stripe.Terminal.Reader {
  if (!state.online) throw errors.readerOffline();
  const payment = state.payment;
  if (state.commandInFlight || payment?.stage === 'authorizing') throw errors.readerBusy();
  if (payment?.stage === 'reading') core.timers.cancel(payment.timer);
  if (payment?.stage === 'collected') releaseCollectedCard(core, payment.paymentIntent);
  state.payment = null;
  state.reader.action = null;
  return readerView(core, state);
}

/**
 * Undo a card collected for a PaymentIntent that was never authorized: back to `requires_payment_method`, without the
 * payment method and the tip added when the card was read.
 */
function releaseCollectedCard(core: EmulatorCore, paymentIntentId: string): void {
  const paymentIntent = core.store.paymentIntents.get(paymentIntentId);
  if (paymentIntent?.status === 'requires_confirmation') {
    paymentIntent.status = 'requires_payment_method';
    paymentIntent.payment_method = null;
    removeTip(paymentIntent);
  }
}

/**
 * A reader is deleted (unregistered): whatever it was doing stops there, as if it were unplugged before anything more
 * reached Stripe. A card being read or authorized goes no further (no charge, no webhook), a card collected for
 * `confirm_payment_intent` is released (the PaymentIntent back to `requires_payment_method`), and nothing is sent
 * about it. The caller removes the reader from the store.
 */
export function releaseReader(core: EmulatorCore, state: ReaderState): void {
  const payment = state.payment;
  state.payment = null;
  if (payment === null) return;
  if (payment.stage === 'reading' || payment.stage === 'authorizing') core.timers.cancel(payment.timer);
  const collected =
    payment.stage === 'collected' ||
    (payment.stage === 'authorizing' && payment.flow === 'confirm') ||
    (payment.stage === 'stuck' && payment.flow === 'confirm');
  if (collected) releaseCollectedCard(core, payment.paymentIntent);
}

/** What `present_payment_method` presents: the card, and the tip the customer enters if the reader asks for one. */
export interface Presentation {
  card: PresentedCard;
  amountTip: number | undefined;
}

/**
 * The test helper `present_payment_method`: a card is tapped on a reader that is asking for one. A
 * `process_payment_intent` authorizes after `authorizationDelayMs`; a `collect_payment_method` reads the card.
 */
export function presentPaymentMethod(
  core: EmulatorCore,
  state: ReaderState,
  presentation: Presentation,
): Stripe.Terminal.Reader {
  if (!state.online) throw errors.readerOffline();
  const payment = state.payment;
  if (payment?.stage === 'awaiting_refund_card') return refundWithCard(core, state, presentation);
  if (payment?.stage !== 'awaiting_card') {
    throw errors.invalidRequest(
      'This reader has no action waiting for a payment method. Start one with process_payment_intent or collect_payment_method first.',
    );
  }
  const paymentIntent = core.store.paymentIntents.get(payment.paymentIntent);
  const presentedType = presentation.card.type === 'card' ? 'card_present' : presentation.card.type;
  if (paymentIntent !== undefined && !paymentIntent.payment_method_types.includes(presentedType)) {
    throw errors.invalidRequest(`This PaymentIntent does not accept ${presentedType} payments.`, 'type');
  }
  const tip = paymentIntent === undefined ? null : chosenTip(core, state, paymentIntent, presentation.amountTip);
  const paymentMethod = buildPaymentMethod(presentation.card, core.clock.now());
  core.store.paymentMethods.set(paymentMethod.id, paymentMethod);
  const card: CardOnReader = { card: presentation.card, paymentMethod: paymentMethod.id, tip };
  if (payment.flow === 'process') {
    startAuthorization(core, state, 'process', payment.paymentIntent, card);
  } else {
    const timer = core.timers.after(core.timing.authorizationDelayMs, () => finishCollection(core, state));
    state.payment = { stage: 'reading', flow: 'collect', paymentIntent: payment.paymentIntent, card, timer };
  }
  return readerView(core, state);
}

/** The customer taps cancel on the reader (only if the action enabled it, and not once authorization began). */
export function customerCancel(core: EmulatorCore, state: ReaderState): Stripe.Terminal.Reader {
  const payment = state.payment;
  const action = state.reader.action;
  if ((payment?.stage !== 'awaiting_card' && payment?.stage !== 'awaiting_refund_card') || action === null) {
    throw new ReaderConflict('The reader has no action the customer can cancel now.');
  }
  if (!payment.customerCancellation) {
    throw new ReaderConflict('The action was not started with enable_customer_cancellation.');
  }
  if (!state.online) throw new ReaderConflict('The reader is offline: Stripe cannot hear of the cancel.');
  state.payment = null;
  failAction(action, 'customer_canceled', CUSTOMER_CANCELED_MESSAGE, null);
  const events = core.batch();
  events.emit('terminal.reader.action_failed', readerView(core, state));
  core.publish(events);
  return readerView(core, state);
}

/** Take the reader offline (last seen now) or bring it back. */
export function setOnline(core: EmulatorCore, state: ReaderState, online: boolean): Stripe.Terminal.Reader {
  if (state.online && !online) state.reader.last_seen_at = core.clock.now();
  state.online = online;
  state.reader.status = online ? 'online' : 'offline';
  return readerView(core, state);
}

function startAuthorization(
  core: EmulatorCore,
  state: ReaderState,
  flow: 'process' | 'confirm',
  paymentIntent: string,
  card: CardOnReader,
): void {
  // A disconnect is the reader dropping off mid-payment: nothing reaches Stripe, the action stays in_progress.
  if (state.authorizationFault === 'disconnect') {
    state.authorizationFault = null;
    state.payment = { stage: 'stuck', flow, paymentIntent };
    return;
  }
  const timer = core.timers.after(core.timing.authorizationDelayMs, () => finishAuthorization(core, state));
  state.payment = { stage: 'authorizing', flow, paymentIntent, card, timer };
}

function invalidStateError(message: string): Stripe.Terminal.Reader.Action.ApiError {
  return {
    type: 'invalid_request_error',
    code: 'intent_invalid_state',
    message,
    doc_url: docUrl('intent_invalid_state'),
  };
}

function finishAuthorization(core: EmulatorCore, state: ReaderState): void {
  const payment = state.payment;
  const action = state.reader.action;
  if (payment?.stage !== 'authorizing' || action === null) return;
  state.payment = null;
  const events = core.batch();
  const fault = state.authorizationFault;
  state.authorizationFault = null;
  const paymentIntent = core.store.paymentIntents.get(payment.paymentIntent);
  const expected = payment.flow === 'process' ? 'requires_payment_method' : 'requires_confirmation';
  if (fault === 'connection_error') {
    failAction(action, 'connection_error', CONNECTION_ERROR_MESSAGE, null);
  } else if (paymentIntent === undefined || paymentIntent.status !== expected) {
    const message = payment.flow === 'process' ? PROCESS_STATE_MESSAGE : CONFIRM_STATE_MESSAGE;
    failAction(action, 'intent_invalid_state', message, invalidStateError(message));
  } else {
    const { card, paymentMethod, tip } = payment.card;
    const where = { card, paymentMethod, reader: state.reader.id, location: locationOf(state.reader) };
    // A collected card's tip is in the amount already; the test amounts that decline go by the amount before it.
    const outcome = authorizationOutcome(
      card.number,
      paymentIntent.amount - (payment.flow === 'confirm' ? (tip ?? 0) : 0),
    );
    if (outcome.approved) {
      if (payment.flow === 'process') addTip(paymentIntent, tip);
      authorize(core, paymentIntent, where, events);
      // The payment went through but the reader lost the answer: Stripe reports connection_error anyway.
      if (fault === 'connection_error_after_authorization')
        failAction(action, 'connection_error', CONNECTION_ERROR_MESSAGE, null);
      else action.status = 'succeeded';
    } else {
      if (payment.flow === 'confirm') removeTip(paymentIntent);
      const error = decline(core, paymentIntent, outcome, where, events);
      failAction(action, outcome.code, outcome.message, error);
    }
  }
  events.emit(
    action.status === 'succeeded' ? 'terminal.reader.action_succeeded' : 'terminal.reader.action_failed',
    readerView(core, state),
  );
  core.publish(events);
}

function finishCollection(core: EmulatorCore, state: ReaderState): void {
  const payment = state.payment;
  const action = state.reader.action;
  if (payment?.stage !== 'reading' || action === null) return;
  const events = core.batch();
  const paymentIntent = core.store.paymentIntents.get(payment.paymentIntent);
  if (paymentIntent === undefined || paymentIntent.status !== 'requires_payment_method') {
    state.payment = null;
    failAction(action, 'intent_invalid_state', PROCESS_STATE_MESSAGE, invalidStateError(PROCESS_STATE_MESSAGE));
    events.emit('terminal.reader.action_failed', readerView(core, state));
    core.publish(events);
    return;
  }
  const { tip, paymentMethod } = payment.card;
  addTip(paymentIntent, tip);
  paymentIntent.payment_method = paymentMethod;
  paymentIntent.status = 'requires_confirmation';
  const collected = core.store.paymentMethods.get(paymentMethod);
  if (action.collect_payment_method !== undefined && collected !== undefined) {
    action.collect_payment_method.payment_method = structuredClone(collected);
  }
  state.payment = { stage: 'collected', flow: 'collect', paymentIntent: paymentIntent.id, card: payment.card };
  events.emit('terminal.reader.action_updated', readerView(core, state));
  core.publish(events);
}

/**
 * A reader's payment as it was saved before a restart: a card being read or authorized then is read or
 * authorized again after `authorizationDelayMs`; every other stage needs no timer.
 */
export function resumePayment(core: EmulatorCore, state: ReaderState, saved: SavedReaderPayment): ReaderPayment {
  const delay = core.timing.authorizationDelayMs;
  switch (saved.stage) {
    case 'reading':
      return { ...saved, timer: core.timers.after(delay, () => finishCollection(core, state)) };
    case 'authorizing':
      return { ...saved, timer: core.timers.after(delay, () => finishAuthorization(core, state)) };
    default:
      return saved;
  }
}

/** Whether `error` is the reader-conflict of a control request. */
export function isReaderConflict(error: unknown): error is ReaderConflict {
  return error instanceof ReaderConflict;
}

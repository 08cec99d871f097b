/**
 * The chaos run's workload: one cashier per reader, each taking payments one after another the way a POS does —
 * create, show on the reader, the customer taps (sometimes a declined card, a tip, the cancel button), check
 * the status, retry after declines and reader errors, free a stuck reader, capture or cancel, and later refund some
 * (online or with the card on the reader, in part, twice at once, the same request again) — plus an intruder
 * that tries to take busy readers with payments of its own. Every API call goes through the local gateway.
 *
 * The cashiers judge nothing about money: the run's checks compare the table with Stripe afterwards. What they
 * record is the calls, their answers, and any answer no client should ever get (a 500, an unknown error code).
 */
import type Stripe from 'stripe';
import type { PaymentResource } from '../../../shared/payments/resource.ts';
import { type ApiResponse, api, type LocalStack } from '../../support/stack.ts';
import { TEST_CARDS } from '../support/log-capture.ts';
import { emulatorControl, sleep } from '../support/probes.ts';
import type { Random } from './random.ts';

/** A POS lane: a reader and the location token of its register. */
export interface Register {
  locationId: string;
  token: string;
  readerId: string;
}

/** What happened to one payment the workload opened. */
export interface OpenedPayment {
  id: string;
  orderId: string;
  locationId: string;
  readerId: string;
  by: 'cashier' | 'intruder';
  processRequests: number;
  taps: number;
  /** The cashier's last view of it. */
  lastSeen: string;
}

export interface WorkloadStats {
  apiCalls: number;
  /** `METHOD /route status code` → count. */
  answers: Map<string, number>;
  taps: number;
  tapsRefused: number;
  customerCancels: number;
  stuckReadersFreed: number;
  /** Payments left once the card was tapped, for webhooks and the reconciler to settle. */
  walkedAway: number;
  /** Readers reset (`cancel-action` without a payment) after staying busy. */
  readersReset: number;
  /** Refund requests answered 201/202 (made or started), and those refused for exceeding the balance. */
  refundsAsked: number;
  refundsStarted: number;
  refundsRefused: number;
  payments: OpenedPayment[];
  /** Answers no client should get; any one fails the run. */
  problems: string[];
}

type PaymentAnswer = ApiResponse<{
  payment?: PaymentResource;
  error?: { code: string; message: string; retryable?: boolean };
}>;

const DECLINE_CARDS = [
  TEST_CARDS.genericDecline,
  TEST_CARDS.insufficientFunds,
  TEST_CARDS.lostCard,
  TEST_CARDS.expiredCard,
  TEST_CARDS.processingError,
];
/** Codes an API client must be ready for under faults; any other error code is a problem. */
const EXPECTED_ERRORS = new Set([
  '409 reader_busy',
  '409 invalid_state',
  // Two refunds at once whose sum exceeds the balance: exactly one is made.
  '409 refund_exceeds_balance',
  '503 reader_offline',
  '504 reader_timeout',
  '404 reader_not_found',
  // Stripe failing requests (an injected fault): retryable, the POS sends the same request again.
  '502 stripe_unavailable',
  '504 stripe_timeout',
]);
const RETRY_AFTER_MS = {
  reader_busy: 250,
  reader_offline: 300,
  reader_timeout: 100,
  invalid_state: 200,
  stripe_unavailable: 200,
  stripe_timeout: 200,
} as const;

/** How long a POS keeps retrying a cancel that answers retryable errors. */
const CANCEL_PATIENCE_MS = 35_000;

/** How long a cashier watches a payment (webhooks only) before pressing "check status". */
const WATCH_MS = 1_200;

export class Workload {
  readonly stats: WorkloadStats = {
    apiCalls: 0,
    answers: new Map(),
    taps: 0,
    tapsRefused: 0,
    customerCancels: 0,
    stuckReadersFreed: 0,
    walkedAway: 0,
    readersReset: 0,
    refundsAsked: 0,
    refundsStarted: 0,
    refundsRefused: 0,
    payments: [],
    problems: [],
  };
  private readonly stack: LocalStack;
  private readonly stripe: Stripe;
  private readonly random: Random;
  private readonly runId: string;
  private stopped = false;

  constructor(stack: LocalStack, stripe: Stripe, random: Random, runId: string) {
    this.stack = stack;
    this.stripe = stripe;
    this.random = random;
    this.runId = runId;
  }

  /** Stop the intruder (cashiers finish the payment in hand and their queue). */
  stop(): void {
    this.stopped = true;
  }

  /** A cashier: pay `count` payments on the register's reader, one after another. */
  async cashier(register: Register, count: number): Promise<void> {
    for (let index = 0; index < count; index += 1) {
      try {
        await this.payOne(register, `${this.runId}-${register.readerId.slice(-6)}-${index}`, true);
      } catch (error) {
        this.stats.problems.push(`cashier on ${register.readerId} failed: ${(error as Error).stack ?? error}`);
      }
    }
  }

  /** Now and then, try to take a reader with a payment of its own, and cancel that payment at once. */
  async intruder(registers: Register[]): Promise<void> {
    for (let index = 0; !this.stopped; index += 1) {
      await sleep(this.random.between(600, 1500));
      if (this.stopped) return;
      const register = this.random.pick(registers);
      const orderId = `${this.runId}-intruder-${index}`;
      const answer = await this.call(register, 'POST', '/payments', {
        orderId,
        locationId: register.locationId,
        amount: 700,
        currency: 'usd',
        readerId: register.readerId,
      });
      const payment = answer.body.payment;
      if (payment === undefined) continue;
      this.track(payment, register, 'intruder');
      await this.cancelPayment(register, payment.id);
    }
  }

  private track(payment: PaymentResource, register: Register, by: OpenedPayment['by']): OpenedPayment {
    const known = this.stats.payments.find((opened) => opened.id === payment.id);
    if (known !== undefined) return known;
    const opened: OpenedPayment = {
      id: payment.id,
      orderId: payment.orderId,
      locationId: register.locationId,
      readerId: register.readerId,
      by,
      processRequests: 0,
      taps: 0,
      lastSeen: payment.status,
    };
    this.stats.payments.push(opened);
    return opened;
  }

  /** One API call, counted; an answer no client should get is a problem. */
  private async call(
    register: Register,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<PaymentAnswer> {
    this.stats.apiCalls += 1;
    const answer: PaymentAnswer = await api(this.stack, method, path, {
      token: register.token,
      ...(body === undefined ? {} : { body }),
      ...(headers === undefined ? {} : { headers }),
    });
    const route = path
      .replace(/pi_\w+/, '{id}')
      .replace(/tmr_\w+/, '{id}')
      .replace(/\?.*$/, '');
    const code = answer.body?.error?.code;
    const key = `${method} ${route} ${answer.status}${code ? ` ${code}` : ''}`;
    this.stats.answers.set(key, (this.stats.answers.get(key) ?? 0) + 1);
    if (answer.status >= 500 && !EXPECTED_ERRORS.has(`${answer.status} ${code}`)) {
      this.stats.problems.push(`${method} ${path} → ${answer.status} ${answer.text.slice(0, 300)}`);
    } else if (answer.status >= 400 && !EXPECTED_ERRORS.has(`${answer.status} ${code}`)) {
      this.stats.problems.push(
        `${method} ${path} ${JSON.stringify(body)} → ${answer.status} ${answer.text.slice(0, 300)}`,
      );
    }
    return answer;
  }

  /** "Check status": read from Stripe, asked again as the API says while Stripe is failing (an injected fault). */
  private async refresh(register: Register, id: string): Promise<PaymentResource> {
    for (let tries = 1; ; tries += 1) {
      const answer = await this.call(register, 'GET', `/payments/${id}?refresh=true`);
      if (answer.body.payment !== undefined) return answer.body.payment;
      if (answer.body?.error?.retryable !== true || tries >= 5) {
        throw new Error(`GET /payments/${id}?refresh=true → ${answer.status}`);
      }
      await this.backOff(answer);
    }
  }

  private async view(register: Register, id: string): Promise<PaymentResource> {
    const answer = await this.call(register, 'GET', `/payments/${id}`);
    if (answer.body.payment === undefined) throw new Error(`GET /payments/${id} → ${answer.status}`);
    return answer.body.payment;
  }

  /** Sleep as the API asked before a retry. */
  private async backOff(answer: PaymentAnswer): Promise<void> {
    const code = answer.body?.error?.code as keyof typeof RETRY_AFTER_MS | undefined;
    await sleep((code && RETRY_AFTER_MS[code]) ?? 200);
  }

  private async payOne(register: Register, orderId: string, mayRestart: boolean): Promise<void> {
    const random = this.random;
    const manual = random.chance(0.5);
    const declineByAmount = random.chance(0.08);
    // Amounts ending in 0 approve; ending in 05 every card is declined (Stripe's test amounts).
    const amount = declineByAmount ? random.between(5, 99) * 100 + 5 : random.between(50, 999) * 10;
    const cards = [
      ...Array.from({ length: random.pick([0, 0, 0, 1, 1, 2]) }, () => random.pick(DECLINE_CARDS)),
      TEST_CARDS.visa,
    ];
    const customerCancellation = random.chance(0.2);
    const abandon = random.chance(0.06);
    // The register moves on once the card is tapped: only webhooks and the reconciler tell the outcome.
    const walkAway = random.chance(0.15);
    const tip = random.chance(0.3) ? random.pick([100, 200, 300]) : 0;
    const withReader = random.chance(0.5);
    const createBody = {
      orderId,
      locationId: register.locationId,
      amount,
      currency: 'usd',
      captureMethod: manual ? 'manual' : 'automatic',
      ...(withReader ? { readerId: register.readerId, enableCustomerCancellation: customerCancellation } : {}),
    };

    let payment: PaymentResource | undefined;
    for (let tries = 0; payment === undefined && tries < 10; tries += 1) {
      const twice = random.chance(0.1);
      const answers = await Promise.all(
        (twice ? [1, 2] : [1]).map(() => this.call(register, 'POST', '/payments', createBody)),
      );
      const ids = new Set(answers.flatMap((answer) => (answer.body.payment ? [answer.body.payment.id] : [])));
      if (ids.size > 1) this.stats.problems.push(`one create of order ${orderId} gave ${ids.size} payments`);
      payment = answers.find((answer) => answer.body.payment !== undefined)?.body.payment;
      if (payment === undefined) await this.backOff(answers[0] as PaymentAnswer);
    }
    if (payment === undefined) {
      this.stats.problems.push(`order ${orderId}: no payment after 10 creates`);
      return;
    }
    const opened = this.track(payment, register, 'cashier');

    let view = payment;
    let cardIndex = 0;
    let abandoned = false;
    let amountFixed = false;
    let busyInARow = 0;
    for (let round = 0; ; round += 1) {
      opened.lastSeen = view.status;
      if (view.status !== 'requires_payment_method') break;
      if (round > 25 || cardIndex > cards.length + 4) {
        this.stats.problems.push(
          `order ${orderId}: gave up after ${round} rounds (last ${JSON.stringify(view.readerAction)})`,
        );
        await this.cancelPayment(register, view.id);
        return;
      }
      if (view.readerAction?.status !== 'in_progress' || view.readerId !== register.readerId) {
        if (declineByAmount && !amountFixed && view.lastPaymentError !== null) {
          // Every card is declined for this amount: the cashier corrects it and asks again.
          amountFixed = true;
          view = await this.changeAmount(register, view, amount + 10);
          continue;
        }
        opened.processRequests += 1;
        const processing = this.call(register, 'POST', `/payments/${view.id}/process`, {
          readerId: register.readerId,
          enableCustomerCancellation: customerCancellation,
        });
        if (random.chance(0.2)) {
          // The POS's "check status" while the command is still on its way to the reader.
          await sleep(random.between(10, 300));
          await this.refresh(register, view.id);
        }
        const answer = await processing;
        if (answer.status === 202 && answer.body.payment) {
          view = answer.body.payment;
          busyInARow = 0;
        } else {
          busyInARow = answer.body?.error?.code === 'reader_busy' ? busyInARow + 1 : 0;
          // A reader busy for this long is stuck with another payment (one a register walked away from).
          if (busyInARow >= 4) await this.resetReader(register);
          await this.backOff(answer);
          view = answer.body?.error?.code === 'invalid_state' ? await this.refresh(register, view.id) : view;
          continue;
        }
      }
      if (abandon && !abandoned) {
        abandoned = true;
        await this.cancelPayment(register, view.id);
        // The customer comes back: the same order again, as a new payment.
        if (mayRestart) await this.payOne(register, orderId, false);
        return;
      }
      if (customerCancellation && random.chance(0.25)) {
        const pressed = await emulatorControl(
          this.stack,
          `readers/${register.readerId}/customer-cancel`,
          {},
          () => true,
        );
        if (pressed.status === 200) this.stats.customerCancels += 1;
      } else {
        // A card the reader never took (offline, or no longer showing the payment) is still in the customer's hand.
        if (await this.tap(register, view, cards[cardIndex] ?? TEST_CARDS.visa, tip, opened)) cardIndex += 1;
        if (walkAway) {
          this.stats.walkedAway += 1;
          return;
        }
      }
      view = await this.outcome(register, view.id);
    }

    opened.lastSeen = view.status;
    if (view.status === 'succeeded') {
      await this.maybeRefund(register, view, orderId);
      return;
    }
    if (view.status !== 'requires_capture') return;
    const then = random.pick(['capture', 'capture', 'capture', 'capture twice', 'partial', 'cancel', 'leave'] as const);
    if (then === 'leave') return;
    if (then === 'cancel') {
      await this.cancelPayment(register, view.id);
      return;
    }
    const body = then === 'partial' ? { amountToCapture: Math.max(50, view.amountCapturable - 100) } : {};
    const captures = then === 'capture twice' ? [1, 2] : [1];
    const answers = await Promise.all(
      captures.map(() => this.call(register, 'POST', `/payments/${view.id}/capture`, body)),
    );
    const captured = answers.find((answer) => answer.body.payment)?.body.payment;
    opened.lastSeen = captured?.status ?? opened.lastSeen;
    if (captured?.status === 'succeeded') await this.maybeRefund(register, captured, orderId);
  }

  /**
   * Now and then the customer brings the goods back: a refund online (all, a part, two parts at once that together
   * exceed the balance, or one request sent twice), or on the reader with the card.
   */
  private async maybeRefund(register: Register, payment: PaymentResource, orderId: string): Promise<void> {
    const random = this.random;
    if (!random.chance(0.35) || payment.amountReceived <= 0) return;
    const how = random.pick(['all', 'part', 'two at once', 'sent twice', 'on the reader'] as const);
    const key = (n: number) => `${orderId}-return-${n}`;
    const part = Math.max(1, Math.ceil(payment.amountReceived * 0.6));
    switch (how) {
      case 'all':
        await this.refund(register, payment.id, key(1), {});
        return;
      case 'part':
        await this.refund(register, payment.id, key(1), { amount: Math.max(1, payment.amountReceived - 50) });
        return;
      case 'two at once': {
        const made = await Promise.all([
          this.refund(register, payment.id, key(1), { amount: part }),
          this.refund(register, payment.id, key(2), { amount: part }),
        ]);
        if (made.filter((status) => status === 201).length > 1) {
          this.stats.problems.push(`payment ${payment.id}: two refunds of ${part} made of ${payment.amountReceived}`);
        }
        return;
      }
      case 'sent twice': {
        const answers = await Promise.all(
          [1, 2].map(() => this.refund(register, payment.id, key(1), { amount: part })),
        );
        if (answers.every((status) => status === 201)) {
          this.stats.problems.push(`payment ${payment.id}: one refund request answered 201 twice`);
        }
        return;
      }
      case 'on the reader': {
        const status = await this.refund(register, payment.id, key(1), { readerId: register.readerId });
        if (status === 202 || status === 200) await this.tapForRefund(register, payment.id);
        return;
      }
    }
  }

  /** A refund request, sent again with the same key while the answer is retryable; its final status. */
  private async refund(
    register: Register,
    paymentId: string,
    key: string,
    body: Record<string, unknown>,
  ): Promise<number> {
    for (let tries = 0; tries < 12; tries += 1) {
      this.stats.refundsAsked += 1;
      const answer = await this.call(register, 'POST', `/payments/${paymentId}/refunds`, body, {
        'idempotency-key': key,
      });
      if (answer.status === 201 || answer.status === 202) this.stats.refundsStarted += 1;
      if (answer.body?.error?.code === 'refund_exceeds_balance') this.stats.refundsRefused += 1;
      if (answer.status < 300 || answer.body?.error?.retryable !== true) return answer.status;
      await this.backOff(answer);
    }
    return 0;
  }

  /** The customer presents the card for a refund, if the reader asks for it. */
  private async tapForRefund(register: Register, paymentId: string): Promise<void> {
    for (let tries = 0; tries < 6; tries += 1) {
      try {
        const reader = await this.stripe.terminal.readers.retrieve(register.readerId);
        const action = 'action' in reader ? reader.action : null;
        if (action?.status !== 'in_progress' || action.refund_payment?.payment_intent !== paymentId) return;
        await this.stripe.testHelpers.terminal.readers.presentPaymentMethod(register.readerId, {});
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'terminal_reader_offline') return;
        await sleep(300);
      }
    }
  }

  /**
   * The customer taps `number`, if the reader still shows this payment (a customer sees the screen). Whether the
   * reader took the card.
   */
  private async tap(
    register: Register,
    payment: PaymentResource,
    number: string,
    tip: number,
    opened: OpenedPayment,
  ): Promise<boolean> {
    for (let tries = 0; tries < 6; tries += 1) {
      try {
        const reader = await this.stripe.terminal.readers.retrieve(register.readerId);
        const action = 'action' in reader ? reader.action : null;
        if (action?.status !== 'in_progress' || action.process_payment_intent?.payment_intent !== payment.id) {
          return false;
        }
        this.stats.taps += 1;
        opened.taps += 1;
        await this.stripe.testHelpers.terminal.readers.presentPaymentMethod(register.readerId, {
          card_present: { number },
          ...(tip > 0 ? { amount_tip: tip } : {}),
        });
        return true;
      } catch (error) {
        this.stats.tapsRefused += 1;
        // An offline reader takes no card: wait for it to come back.
        if ((error as { code?: string }).code !== 'terminal_reader_offline') return false;
        await sleep(300);
      }
    }
    return false;
  }

  /** Watch the payment (webhooks) for a moment, then check with Stripe; free the reader if it is stuck. */
  private async outcome(register: Register, id: string): Promise<PaymentResource> {
    const settled = (payment: PaymentResource) =>
      payment.status !== 'requires_payment_method' || payment.readerAction?.status !== 'in_progress';
    const until = Date.now() + WATCH_MS;
    let view = await this.view(register, id);
    while (!settled(view) && Date.now() < until) {
      await sleep(100);
      view = await this.view(register, id);
    }
    if (settled(view)) return view;
    for (let checks = 0; checks < 3; checks += 1) {
      view = await this.refresh(register, id);
      if (settled(view)) return view;
      await sleep(400);
    }
    // The reader lost the payment (a disconnect): clear its action and try again.
    for (let tries = 0; tries < 10; tries += 1) {
      const answer = await this.call(register, 'POST', `/readers/${register.readerId}/cancel-action`, {
        paymentId: id,
      });
      if (answer.status === 200) {
        this.stats.stuckReadersFreed += 1;
        break;
      }
      if (answer.body?.error?.code === 'invalid_state') break;
      await this.backOff(answer);
    }
    return this.refresh(register, id);
  }

  /** A cashier resetting a stuck reader (whatever it holds); a card being authorized cannot be interrupted. */
  private async resetReader(register: Register): Promise<void> {
    const answer = await this.call(register, 'POST', `/readers/${register.readerId}/cancel-action`, {});
    if (answer.status === 200) this.stats.readersReset += 1;
  }

  private async changeAmount(register: Register, payment: PaymentResource, amount: number): Promise<PaymentResource> {
    for (let tries = 0; tries < 10; tries += 1) {
      const answer = await this.call(register, 'PATCH', `/payments/${payment.id}`, { amount });
      if (answer.status === 200 && answer.body.payment) return answer.body.payment;
      await this.backOff(answer);
      if (answer.body?.error?.code === 'invalid_state') return this.refresh(register, payment.id);
    }
    return this.refresh(register, payment.id);
  }

  /**
   * Cancel as a POS does: again while the answer is retryable, for as long as a process command Stripe did not
   * answer may keep the payment's reader busy (the request's deadline, inside API Gateway's 30 s).
   */
  private async cancelPayment(register: Register, id: string): Promise<void> {
    const giveUpAt = Date.now() + CANCEL_PATIENCE_MS;
    for (let tries = 0; tries < 15 || Date.now() < giveUpAt; tries += 1) {
      const answer = await this.call(register, 'POST', `/payments/${id}/cancel`, { reason: 'abandoned' });
      if (answer.status === 200 || answer.body?.error?.code === 'invalid_state') return;
      if (answer.body?.error?.retryable !== true && tries >= 15) break;
      await this.backOff(answer);
    }
    this.stats.problems.push(`payment ${id} could not be cancelled`);
  }
}

/**
 * The register: an amount, or the cart's lines and tax (shown on the reader's screen when asked, its total charged),
 * a reader, "Take payment"; then the payment's state as it changes (live, polled as a
 * fallback), and what the cashier can do next: try again after a decline or a customer's cancel, capture, cancel.
 * Every call that moves money is sent once per click, never again on its own.
 */

import { MINIMUM_AMOUNTS } from '../shared/payments/money.ts';
import { messageOf } from './api.ts';
import type { ConsoleContext, Screen } from './context.ts';
import { h, replace } from './dom.ts';
import { amountText, HEALTH_WORDS, money, parseAmount, readerName } from './format.ts';
import type { Payment, Reader } from './types.ts';

/** How often an unfinished payment is read again: often while live updates are down, rarely as a safety net. */
const POLL_OFFLINE_MS = 2_000;
const POLL_LIVE_MS = 10_000;

type Phase =
  | 'waiting'
  | 'declined'
  | 'customer_canceled'
  | 'failed'
  | 'not_sent'
  | 'authorized'
  | 'paid'
  | 'canceled'
  | 'processing';

/** The cart as `POST /readers/{id}/display` takes it. */
interface Cart {
  currency: string;
  lineItems: { description: string; amount: number; quantity: number }[];
  tax?: number;
  total: number;
}

/** One line of the cart being rung up: its inputs. */
interface CartLine {
  description: HTMLInputElement;
  price: HTMLInputElement;
  quantity: HTMLInputElement;
  row: HTMLElement;
}

export function registerScreen(context: ConsoleContext): Screen {
  const { api, live } = context;
  /** The register's currency: chosen per location and remembered on this device. */
  const currencyKey = `pos-console.currency.${context.locationId}`;
  let currency = storedCurrency(localStorage.getItem(currencyKey));
  const currencySelect = h(
    'select',
    {
      id: 'currency',
      onchange: () => {
        currency = currencySelect.value;
        localStorage.setItem(currencyKey, currency);
        currencyChanged();
      },
    },
    CURRENCIES.map((code) => h('option', { value: code, selected: code === currency }, code.toUpperCase())),
  );
  const amountLabel = h('label', { for: 'amount' }, '');
  const taxLabel = h('label', { for: 'cart-tax' }, '');
  const interacHint = h('p', { class: 'hint', id: 'interac-hint' }, INTERAC_HINT);
  let readers: Reader[] = [];
  let selectedReaderId: string | undefined;
  let payment: Payment | undefined;
  let orderId = newOrderId();
  let busy = false;
  let error = '';
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  const amountInput = h('input', {
    id: 'amount',
    name: 'amount',
    inputmode: 'decimal',
    autocomplete: 'off',
    required: true,
    placeholder: '0.00',
    'aria-describedby': 'amount-hint',
  });
  const manualCapture = h('input', { id: 'manual-capture', type: 'checkbox' });
  let lines: CartLine[] = [];
  let lineNumber = 0;
  let cartNotice = '';
  const cartLines = h('div', { class: 'cart-lines', id: 'cart-lines' });
  const taxInput = h('input', {
    id: 'cart-tax',
    inputmode: 'decimal',
    autocomplete: 'off',
    placeholder: '0.00',
    oninput: () => cartChanged(),
  });
  const cartTotal = h('p', { class: 'cart-total', id: 'cart-total', 'aria-live': 'polite' });
  const cartNoticeBox = h('p', { class: 'hint', id: 'cart-notice', role: 'status' });
  const addLineButton = h('button', { type: 'button', id: 'add-line', onclick: () => addLine() }, 'Add item');
  const showCartButton = h(
    'button',
    { type: 'button', id: 'show-cart', onclick: () => void showCart() },
    'Show cart on reader',
  );
  const taxField = h('div', { class: 'field' }, taxLabel, taxInput);
  const cartFieldset = h(
    'fieldset',
    { class: 'cart', id: 'cart' },
    h('legend', {}, 'Cart (optional)'),
    cartLines,
    taxField,
    cartTotal,
    h('div', { class: 'actions' }, addLineButton, showCartButton),
    cartNoticeBox,
  );
  const readerList = h('div', { class: 'reader-list' });
  const readerFieldset = h('fieldset', {}, h('legend', {}, 'Reader'), readerList);
  const form = h(
    'form',
    { class: 'sale-form', novalidate: true, onsubmit: (event: Event) => void takePayment(event) },
    h('div', { class: 'field currency' }, h('label', { for: 'currency' }, 'Currency'), currencySelect, interacHint),
    h(
      'div',
      { class: 'field' },
      amountLabel,
      amountInput,
      h('p', { id: 'amount-hint', class: 'hint' }, 'For example 12.99, or add the cart’s items below'),
    ),
    cartFieldset,
    readerFieldset,
    h(
      'div',
      { class: 'field checkbox' },
      manualCapture,
      h('label', { for: 'manual-capture' }, 'Authorize only, capture later'),
    ),
    h('button', { type: 'submit', class: 'primary', id: 'take-payment' }, 'Take payment'),
  );
  const salePanel = h('section', { class: 'sale', id: 'sale', 'aria-labelledby': 'sale-heading' });
  const errorBox = h('div', { class: 'error', id: 'register-error', role: 'alert' });
  const element = h(
    'div',
    { class: 'screen register' },
    h('h1', {}, 'Register'),
    h('div', { class: 'columns' }, form, h('div', {}, errorBox, salePanel)),
  );

  const stopListening = live.listen({
    // The location's stream carries every register's payments: only this sale's are this screen's.
    payment: (update) => {
      if (update.id === payment?.id) accept(update);
    },
    reader: (reader) => {
      if (reader.locationId !== context.locationId) return;
      const index = readers.findIndex((known) => known.id === reader.id);
      if (index === -1) readers.push(reader);
      else readers[index] = reader;
      renderReaders();
    },
    readerRemoved: (readerId) => {
      readers = readers.filter((reader) => reader.id !== readerId);
      renderReaders();
    },
    state: () => schedulePoll(),
  });
  live.subscribe({ locationId: context.locationId });
  void loadReaders();
  currencyChanged();

  async function loadReaders(): Promise<void> {
    try {
      const answer = await api.get<{ readers: Reader[] }>(
        `/readers?locationId=${encodeURIComponent(context.locationId)}`,
      );
      readers = answer.readers;
      renderReaders();
    } catch (failure) {
      showError(messageOf(failure));
    }
  }

  function renderReaders(): void {
    if (disposed) return;
    if (selectedReaderId === undefined || !readers.some((reader) => reader.id === selectedReaderId)) {
      selectedReaderId = (readers.find((reader) => reader.health === 'ready') ?? readers[0])?.id;
    }
    if (readers.length === 0) {
      replace(readerList, h('p', { class: 'hint' }, 'No reader at this location.'));
      return;
    }
    // Drawn again on every change: the control the cashier is on keeps the focus.
    const focused = readerList.contains(document.activeElement) ? document.activeElement?.id : undefined;
    replace(
      readerList,
      readers.map((stored) => {
        const reader = { ...stored, health: shownHealth(stored) };
        const id = `reader-${reader.id}`;
        return h(
          'div',
          { class: `reader-option health-${reader.health}`, 'data-reader-id': reader.id },
          h('input', {
            type: 'radio',
            name: 'reader',
            id,
            value: reader.id,
            checked: reader.id === selectedReaderId,
            onchange: () => {
              selectedReaderId = reader.id;
            },
          }),
          h(
            'label',
            { for: id },
            h('span', { class: 'reader-name' }, readerName(reader)),
            h('span', { class: `badge health-${reader.health}` }, HEALTH_WORDS[reader.health]),
          ),
        );
      }),
    );
    if (focused) document.getElementById(focused)?.focus();
  }

  function addLine(): void {
    lineNumber += 1;
    const id = `line-${lineNumber}`;
    const description = h('input', { id: `${id}-description`, autocomplete: 'off', maxlength: 200 });
    const price = h('input', {
      id: `${id}-price`,
      inputmode: 'decimal',
      autocomplete: 'off',
      placeholder: '0.00',
      oninput: () => cartChanged(),
    });
    const quantity = h('input', {
      id: `${id}-quantity`,
      type: 'number',
      inputmode: 'numeric',
      min: 1,
      step: 1,
      value: '1',
      oninput: () => cartChanged(),
    });
    const line: CartLine = { description, price, quantity, row: h('div') };
    line.row = h(
      'div',
      { class: 'cart-line', role: 'group', 'aria-label': `Item ${lines.length + 1}` },
      h('div', { class: 'field' }, h('label', { for: description.id }, 'Item'), description),
      h('div', { class: 'field price' }, h('label', { for: price.id }, 'Price'), price),
      h('div', { class: 'field quantity' }, h('label', { for: quantity.id }, 'Qty'), quantity),
      h(
        'button',
        {
          type: 'button',
          class: 'remove-line',
          'aria-label': `Remove item ${lines.length + 1}`,
          onclick: () => removeLine(line),
        },
        'Remove',
      ),
    );
    lines.push(line);
    cartLines.append(line.row);
    cartChanged();
    description.focus();
  }

  function removeLine(line: CartLine): void {
    lines = lines.filter((known) => known !== line);
    line.row.remove();
    cartChanged();
    (lines.at(-1)?.description ?? addLineButton).focus();
  }

  /**
   * The cart as the API takes it, or what is missing from it, with the input to fix; undefined while it is empty. The
   * total is the lines' price × quantity plus tax, the rule the API holds it to.
   */
  function cartOf(): { cart: Cart } | { problem: string; input: HTMLInputElement } | undefined {
    if (lines.length === 0) return undefined;
    const lineItems: Cart['lineItems'] = [];
    for (const line of lines) {
      const description = line.description.value.trim();
      if (description === '') return { problem: 'Name every item in the cart, or remove it.', input: line.description };
      const amount = parseAmount(line.price.value, currency);
      if (amount === undefined) {
        return { problem: `Enter the price of “${description}”, for example 3.50.`, input: line.price };
      }
      const quantity = Number(line.quantity.value);
      if (!Number.isInteger(quantity) || quantity < 1) {
        return { problem: `Enter how many “${description}”: a whole number, 1 or more.`, input: line.quantity };
      }
      lineItems.push({ description, amount, quantity });
    }
    const tax = taxInput.value.trim() === '' ? 0 : parseAmount(taxInput.value, currency);
    if (tax === undefined)
      return { problem: 'Enter the tax as an amount, for example 1.04, or leave it empty.', input: taxInput };
    const total = lineItems.reduce((sum, line) => sum + line.amount * line.quantity, tax);
    return { cart: { currency, lineItems, ...(tax > 0 ? { tax } : {}), total } };
  }

  /** Labels, hints and the cart's total in the chosen currency. */
  function currencyChanged(): void {
    amountLabel.textContent = `Amount (${currency.toUpperCase()})`;
    taxLabel.textContent = `Tax (${currency.toUpperCase()})`;
    interacHint.hidden = currency !== INTERAC_CURRENCY;
    if (lines.length === 0) amountInput.value = '';
    cartChanged();
  }

  /** With a cart, the amount charged is its total: shown in the amount field, which is then not typed in. */
  function cartChanged(): void {
    cartNotice = '';
    const cart = cartOf();
    amountInput.readOnly = lines.length > 0;
    taxField.hidden = lines.length === 0;
    showCartButton.hidden = lines.length === 0;
    if (cart === undefined) {
      cartTotal.textContent = '';
    } else if ('cart' in cart) {
      amountInput.value = amountText(cart.cart.total, currency);
      cartTotal.textContent = `Total ${money(cart.cart.total, currency)}`;
    } else {
      amountInput.value = '';
      cartTotal.textContent = 'Total: give every item a name, a price and a quantity.';
    }
    render();
  }

  /** Show the cart on the chosen reader's screen, for the customer to check before paying. Charges nothing. */
  async function showCart(): Promise<void> {
    const cart = cartOf();
    if (cart === undefined) return;
    if ('problem' in cart) return showError(cart.problem, cart.input);
    const readerId = selectedReaderId;
    if (readerId === undefined) return showError('Choose a reader to show the cart on.');
    await act(async () => {
      await api.post(`/readers/${encodeURIComponent(readerId)}/display`, { cart: cart.cart });
      const reader = readers.find((known) => known.id === readerId);
      cartNotice = `The cart is on ${reader ? readerName(reader) : readerId}’s screen.`;
    });
  }

  /**
   * The reader's health as listed, except that the reader this sale waits on is busy: the register knows it before
   * the fleet's record of the reader does.
   */
  function shownHealth(reader: Reader): Reader['health'] {
    const waitingHere =
      payment !== undefined &&
      !isFinal(payment) &&
      payment.readerId === reader.id &&
      payment.readerAction?.status === 'in_progress';
    return waitingHere && reader.health === 'ready' ? 'busy' : reader.health;
  }

  async function takePayment(event: Event): Promise<void> {
    event.preventDefault();
    if (busy) return;
    const cart = cartOf();
    if (cart !== undefined && 'problem' in cart) return showError(cart.problem, cart.input);
    const amount = cart === undefined ? parseAmount(amountInput.value, currency) : cart.cart.total;
    if (amount === undefined) return showError('Enter the amount to charge, for example 12.99.', amountInput);
    if (selectedReaderId === undefined) return showError('Choose a reader for the customer to pay on.');
    const readerId = selectedReaderId;
    // A finished sale on screen: this is the next order, not the same one again.
    if (payment !== undefined && isFinal(payment)) {
      live.unsubscribe({ paymentId: payment.id });
      payment = undefined;
      orderId = newOrderId();
    }
    await act(async () => {
      const created = await api.post<{ payment: Payment }>('/payments', {
        orderId,
        locationId: context.locationId,
        amount,
        currency,
        captureMethod: manualCapture.checked ? 'manual' : 'automatic',
      });
      accept(created.payment);
      watch(created.payment.id);
      const processed = await api.post<{ payment: Payment }>(`/payments/${created.payment.id}/process`, {
        readerId,
        enableCustomerCancellation: true,
      });
      accept(processed.payment);
    });
  }

  /** Send the same payment to the chosen reader again (after a decline, a customer's cancel, a reset). */
  async function tryAgain(): Promise<void> {
    const current = payment;
    const readerId = selectedReaderId ?? current?.readerId ?? undefined;
    if (current === undefined || readerId === undefined) return;
    await act(async () => {
      const processed = await api.post<{ payment: Payment }>(`/payments/${current.id}/process`, {
        readerId,
        enableCustomerCancellation: true,
      });
      accept(processed.payment);
    });
  }

  async function capture(): Promise<void> {
    const current = payment;
    if (current === undefined) return;
    await act(async () => accept((await api.post<{ payment: Payment }>(`/payments/${current.id}/capture`)).payment));
  }

  async function cancel(): Promise<void> {
    const current = payment;
    if (current === undefined) return;
    await act(async () =>
      accept(
        (await api.post<{ payment: Payment }>(`/payments/${current.id}/cancel`, { reason: 'requested_by_customer' }))
          .payment,
      ),
    );
  }

  function newSale(): void {
    if (payment) live.unsubscribe({ paymentId: payment.id });
    payment = undefined;
    orderId = newOrderId();
    error = '';
    amountInput.value = '';
    for (const line of lines) line.row.remove();
    lines = [];
    taxInput.value = '';
    cartChanged();
    amountInput.focus();
  }

  /** One request at a time; its failure is shown as the API words it. */
  async function act(request: () => Promise<void>): Promise<void> {
    busy = true;
    error = '';
    render();
    try {
      await request();
    } catch (failure) {
      error = messageOf(failure);
    } finally {
      busy = false;
      render();
      schedulePoll();
    }
  }

  /** A newer state of the payment on screen, from an answer, a live update or a poll; older ones are dropped. */
  function accept(update: Payment): void {
    if (payment !== undefined && update.id !== payment.id) return;
    if (payment !== undefined && Date.parse(update.updatedAt) < Date.parse(payment.updatedAt)) return;
    payment = update;
    renderReaders();
    render();
    schedulePoll();
  }

  function watch(paymentId: string): void {
    live.subscribe({ paymentId });
  }

  function schedulePoll(): void {
    clearTimeout(pollTimer);
    if (disposed || payment === undefined || isFinal(payment)) return;
    const paymentId = payment.id;
    pollTimer = setTimeout(
      async () => {
        try {
          const answer = await api.get<{ payment: Payment }>(`/payments/${paymentId}`);
          if (answer.payment.id === payment?.id) accept(answer.payment);
        } catch (failure) {
          error = `Could not check the payment: ${messageOf(failure)}`;
          render();
        }
        schedulePoll();
      },
      live.state === 'live' ? POLL_LIVE_MS : POLL_OFFLINE_MS,
    );
  }

  function showError(message: string, focus?: HTMLElement): void {
    error = message;
    render();
    focus?.focus();
  }

  function render(): void {
    if (disposed) return;
    replace(errorBox, error ? h('p', {}, error) : null);
    errorBox.hidden = error === '';
    const formLocked = busy || (payment !== undefined && !isFinal(payment));
    // The reader stays selectable, so a retry can go to another reader.
    const cartControls = lines.flatMap((line) => [
      line.description,
      line.price,
      line.quantity,
      line.row.querySelector('button'),
    ]);
    for (const control of [
      currencySelect,
      amountInput,
      manualCapture,
      taxInput,
      addLineButton,
      showCartButton,
      ...cartControls,
    ]) {
      if (control) control.disabled = formLocked;
    }
    const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (submit) submit.disabled = formLocked;
    replace(cartNoticeBox, cartNotice);
    if (payment === undefined) {
      salePanel.hidden = true;
      salePanel.removeAttribute('data-phase');
      salePanel.removeAttribute('data-payment-id');
      return;
    }
    salePanel.hidden = false;
    const current = payment;
    const phase = phaseOf(current);
    salePanel.dataset.phase = phase;
    salePanel.dataset.paymentId = current.id;
    salePanel.setAttribute('aria-busy', String(busy));
    const button = (label: string, onclick: () => void, kind = '') =>
      h('button', { type: 'button', class: kind, disabled: busy, onclick }, label);
    const readerLabel = readers.find((reader) => reader.id === current.readerId);
    const actions: HTMLElement[] = [];
    switch (phase) {
      case 'declined':
      case 'customer_canceled':
      case 'failed':
        actions.push(
          button('Try again', () => void tryAgain(), 'primary'),
          button('Cancel payment', () => void cancel()),
        );
        break;
      case 'not_sent':
        actions.push(
          button('Send to reader', () => void tryAgain(), 'primary'),
          button('Cancel payment', () => void cancel()),
        );
        break;
      case 'waiting':
        actions.push(button('Cancel payment', () => void cancel()));
        break;
      case 'authorized':
        actions.push(
          button('Capture', () => void capture(), 'primary'),
          button('Cancel payment', () => void cancel()),
        );
        break;
      case 'paid':
      case 'canceled':
        actions.push(button('New sale', newSale, 'primary'));
        break;
      case 'processing':
        break;
    }
    replace(
      salePanel,
      h('h2', { id: 'sale-heading' }, `Order ${current.orderId}`),
      h('p', { class: 'sale-amount' }, money(current.amount, current.currency)),
      h('p', { class: `sale-status phase-${phase}`, id: 'sale-status', role: 'status' }, statusLine(current)),
      current.tipAmount > 0
        ? h(
            'p',
            { class: 'tip', id: 'sale-tip' },
            `Tip ${money(current.tipAmount, current.currency)} included (order ${money(current.amount - current.tipAmount, current.currency)})`,
          )
        : null,
      current.card
        ? h(
            'p',
            { class: 'card' },
            `${(current.card.brand ?? 'Card').toUpperCase()} •••• ${current.card.last4 ?? '????'}`,
          )
        : null,
      current.flags.includes('reader_stuck')
        ? h('p', { class: 'warning' }, 'The reader seems stuck. Cancel the payment, or reset the reader on Readers.')
        : null,
      h(
        'p',
        { class: 'hint' },
        `Reader: ${readerLabel ? readerName(readerLabel) : (current.readerId ?? 'none yet')} · attempt ${current.attempts}`,
      ),
      h('div', { class: 'actions' }, actions),
      context.simulator && phase === 'waiting' && current.readerId !== null
        ? customerPanel(current.readerId, current)
        : null,
    );
  }

  /** The local stack's simulated reader: the cashier plays the customer, as the emulator's test helpers do. */
  function customerPanel(readerId: string, current: Payment): HTMLElement {
    const gesture = (label: string, path: string, body: object) =>
      h('button', { type: 'button', disabled: busy, onclick: () => void simulate(readerId, path, body) }, label);
    return h(
      'div',
      { class: 'simulator', role: 'group', 'aria-labelledby': 'simulator-heading' },
      h('h3', { id: 'simulator-heading' }, 'Simulated customer (local stack only)'),
      h(
        'div',
        { class: 'actions' },
        gesture('Tap a card', 'tap', {}),
        gesture(`Tap a card, tip ${money(100, current.currency)}`, 'tap', { tip: 100 }),
        gesture('Tap a declined card', 'tap', { declined: true }),
        current.currency === INTERAC_CURRENCY ? gesture('Tap an Interac card', 'tap', { interac: true }) : null,
        gesture('Press cancel on the reader', 'cancel', {}),
      ),
    );
  }

  async function simulate(readerId: string, path: string, body: object): Promise<void> {
    await act(async () => {
      const response = await fetch(`local-readers/${encodeURIComponent(readerId)}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!response.ok) {
        const answer = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
        throw new Error(answer.error?.message ?? `The simulated reader answered ${response.status}.`);
      }
    });
  }

  return {
    element,
    dispose() {
      disposed = true;
      clearTimeout(pollTimer);
      stopListening();
      live.unsubscribe({ locationId: context.locationId });
      if (payment) live.unsubscribe({ paymentId: payment.id });
    },
  };
}

function phaseOf(payment: Payment): Phase {
  switch (payment.status) {
    case 'succeeded':
      return 'paid';
    case 'canceled':
      return 'canceled';
    case 'requires_capture':
      return 'authorized';
    case 'processing':
    case 'requires_confirmation':
    case 'requires_action':
      return 'processing';
    case 'requires_payment_method':
      break;
  }
  const action = payment.readerAction;
  if (action === null) return 'not_sent';
  if (action.status === 'in_progress') return 'waiting';
  if (action.failureCode === 'customer_canceled') return 'customer_canceled';
  if (action.status === 'failed' && (payment.lastPaymentError !== null || DECLINES.has(action.failureCode ?? ''))) {
    return 'declined';
  }
  return action.status === 'failed' ? 'failed' : 'processing';
}

/** Currencies a Terminal payment may be taken in (`shared/payments/money.ts`), the register's choice. */
const CURRENCIES = Object.keys(MINIMUM_AMOUNTS);

/** Canada's: Interac debit cards are taken too. */
const INTERAC_CURRENCY = 'cad';
const INTERAC_HINT =
  'Interac debit cards are taken too. They are always captured at once, and refunded only with the card on a reader.';

function storedCurrency(stored: string | null): string {
  return stored !== null && CURRENCIES.includes(stored) ? stored : 'usd';
}

/** Reader failures that are the card's issuer saying no: the customer needs another card, not another try. */
const DECLINES = new Set(['card_declined', 'expired_card', 'incorrect_pin', 'incorrect_cvc', 'insufficient_funds']);

function statusLine(payment: Payment): string {
  const amount = money(payment.amount, payment.currency);
  switch (phaseOf(payment)) {
    case 'paid':
      return `Paid ${amount}.`;
    case 'canceled':
      return 'Payment canceled. Nothing was charged.';
    case 'authorized':
      return `Authorized ${amount}. Capture it to complete the sale.`;
    case 'processing':
      return 'Processing the card…';
    case 'waiting':
      return 'Waiting for the customer to tap, insert or swipe their card on the reader.';
    case 'declined':
      return `Declined: ${sentence(payment.lastPaymentError?.message ?? payment.readerAction?.failureMessage ?? 'The card was declined.')} Ask for another card, then try again.`;
    case 'customer_canceled':
      return 'The customer canceled on the reader. Try again when they are ready, or cancel the payment.';
    case 'failed':
      return `The reader did not take the payment: ${sentence(payment.readerAction?.failureMessage ?? payment.readerAction?.failureCode ?? 'no reason given')} Try again or cancel the payment.`;
    case 'not_sent':
      return 'Not sent to a reader yet.';
  }
}

/** Stripe's messages end with a full stop, codes do not: either reads as one sentence. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function isFinal(payment: Payment): boolean {
  return payment.status === 'succeeded' || payment.status === 'canceled';
}

function newOrderId(): string {
  return `order-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

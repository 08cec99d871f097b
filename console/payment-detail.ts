/**
 * One payment in full: amounts, card, refunds (live as they settle), its receipt, and a refund, online or with the
 * card on a reader. A refund request carries one `Idempotency-Key` until the API has answered it, so pressing the
 * button again after a lost answer can never refund twice.
 */
import { ApiError, messageOf } from './api.ts';
import type { ConsoleContext } from './context.ts';
import { h, replace } from './dom.ts';
import { amountText, FLAG_WORDS, money, parseAmount, readerName, STATUS_WORDS, time } from './format.ts';
import type { Payment, Reader, Receipt, Refund } from './types.ts';

const REFUND_STATUS_WORDS: Record<Refund['status'], string> = {
  pending: 'Pending',
  succeeded: 'Refunded',
  failed: 'Failed',
  canceled: 'Canceled',
};

export interface PaymentDetail {
  element: HTMLElement;
  dispose(): void;
}

export function paymentDetail(context: ConsoleContext, paymentId: string, onClose: () => void): PaymentDetail {
  const { api, live } = context;
  let payment: Payment | undefined;
  let readers: Reader[] = [];
  let receipt: Receipt | undefined;
  let refundKey = crypto.randomUUID();
  let busy = false;
  let error = '';
  let notice = '';
  const element = h('section', { class: 'detail', id: 'payment-detail', 'aria-labelledby': 'detail-heading' });
  const refundAmount = h('input', { id: 'refund-amount', inputmode: 'decimal', autocomplete: 'off' });
  const refundReader = h('select', { id: 'refund-reader' });
  const receiptEmail = h('input', { id: 'receipt-email', type: 'email', autocomplete: 'off', inputmode: 'email' });

  const stopListening = live.listen({
    payment: (update) => {
      if (update.id === paymentId) show(update);
    },
    reader: () => {},
    readerRemoved: () => {},
    state: () => {},
  });
  live.subscribe({ paymentId });
  void load();

  async function load(): Promise<void> {
    try {
      const [answer, readerList] = await Promise.all([
        api.get<{ payment: Payment }>(`/payments/${paymentId}`),
        api.get<{ readers: Reader[] }>('/readers'),
      ]);
      readers = readerList.readers;
      show(answer.payment);
    } catch (failure) {
      error = messageOf(failure);
      render();
    }
  }

  function show(update: Payment): void {
    if (payment !== undefined && Date.parse(update.updatedAt) < Date.parse(payment.updatedAt)) return;
    const first = payment === undefined;
    payment = update;
    if (first) refundAmount.value = amountText(update.amount - update.amountRefunded, update.currency);
    render();
  }

  async function showReceipt(): Promise<void> {
    await act(async () => {
      receipt = (await api.get<{ receipt: Receipt }>(`/payments/${paymentId}/receipt`)).receipt;
    });
  }

  /** Stripe emails its receipt: now if the payment is paid, else once it is; sent again to a corrected address. */
  async function emailReceipt(): Promise<void> {
    const email = receiptEmail.value.trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      error = 'Enter the customer’s email address, for example name@example.com.';
      render();
      receiptEmail.focus();
      return;
    }
    await act(async () => {
      const answer = await api.post<{ payment: Payment }>(`/payments/${paymentId}/receipt/email`, { email });
      notice = `The receipt will be emailed to ${email}.`;
      show(answer.payment);
    });
  }

  async function refund(onReader: boolean): Promise<void> {
    const current = payment;
    if (current === undefined) return;
    const amount = parseAmount(refundAmount.value, current.currency);
    if (amount === undefined || amount <= 0) {
      error = 'Enter the amount to refund, for example 5.00.';
      render();
      refundAmount.focus();
      return;
    }
    await act(async () => {
      try {
        const answer = await api.post<{ refund: Refund; payment: Payment }>(
          `/payments/${paymentId}/refunds`,
          { amount, ...(onReader ? { readerId: refundReader.value } : {}) },
          { 'idempotency-key': refundKey },
        );
        refundKey = crypto.randomUUID();
        refundAmount.value = amountText(
          answer.payment.amount - answer.payment.amountRefunded - pendingAmount(answer.payment),
          answer.payment.currency,
        );
        notice = onReader
          ? `Refund of ${money(amount, current.currency)} sent to the reader: ask the customer to present their card.`
          : `Refund of ${money(amount, current.currency)} requested.`;
        show(answer.payment);
      } catch (failure) {
        // An answered refusal refunded nothing: the next request is a new one. Without an answer the key is kept.
        if (failure instanceof ApiError && failure.status !== 0) refundKey = crypto.randomUUID();
        throw failure;
      }
    });
  }

  async function act(request: () => Promise<void>): Promise<void> {
    busy = true;
    error = '';
    notice = '';
    render();
    try {
      await request();
    } catch (failure) {
      error = messageOf(failure);
    } finally {
      busy = false;
      render();
    }
  }

  function locationName(locationId: string): string {
    return context.account.locations.find((location) => location.id === locationId)?.displayName ?? locationId;
  }

  function render(): void {
    const current = payment;
    const heading = h('h2', { id: 'detail-heading' }, current ? `Order ${current.orderId}` : 'Payment');
    const close = h('button', { type: 'button', onclick: onClose }, 'Close');
    const messages = [
      error ? h('div', { class: 'error', role: 'alert', id: 'detail-error' }, error) : null,
      notice ? h('p', { class: 'notice', role: 'status', id: 'detail-notice' }, notice) : null,
    ];
    if (current === undefined) {
      replace(element, h('div', { class: 'detail-head' }, heading, close), messages);
      return;
    }
    const refundable = current.amount - current.amountRefunded;
    const interac = current.card?.brand === 'interac';
    const locationReaders = readers.filter((reader) => reader.locationId === current.locationId);
    if (refundReader.options.length !== locationReaders.length) {
      replace(
        refundReader,
        locationReaders.map((reader) => h('option', { value: reader.id }, readerName(reader))),
      );
    }
    replace(
      element,
      h('div', { class: 'detail-head' }, heading, close),
      h(
        'dl',
        { class: 'facts' },
        fact('Amount', money(current.amount, current.currency)),
        current.tipAmount > 0 ? fact('Tip', money(current.tipAmount, current.currency)) : null,
        fact('Status', STATUS_WORDS[current.status]),
        fact('Card', current.card ? `${current.card.brand ?? 'card'} •••• ${current.card.last4 ?? '????'}` : '—'),
        fact('Refunded', money(current.amountRefunded, current.currency)),
        current.flags.length > 0 ? fact('Flags', current.flags.map((flag) => FLAG_WORDS[flag]).join(', ')) : null,
        fact('Created', time(current.createdAt)),
        fact('Payment id', current.id),
      ),
      messages,
      h('h3', {}, 'Refunds'),
      current.refunds.length === 0
        ? h('p', { class: 'hint' }, 'No refunds.')
        : h(
            'table',
            { id: 'refunds-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Amount', 'Status', 'How', 'When'].map((name) => h('th', { scope: 'col' }, name)),
              ),
            ),
            h(
              'tbody',
              {},
              current.refunds.map((refund) =>
                h(
                  'tr',
                  { 'data-refund-status': refund.status },
                  h('td', { class: 'number' }, money(refund.amount, refund.currency)),
                  h(
                    'td',
                    {},
                    REFUND_STATUS_WORDS[refund.status],
                    refund.failureReason ? ` (${refund.failureReason.replaceAll('_', ' ')})` : '',
                  ),
                  h('td', {}, refund.method === 'reader' ? 'Card on reader' : 'Online'),
                  h('td', {}, time(refund.createdAt)),
                ),
              ),
            ),
          ),
      current.status === 'succeeded' && refundable > 0
        ? h(
            'div',
            { class: 'refund-form' },
            h(
              'div',
              { class: 'field' },
              h('label', { for: 'refund-amount' }, `Refund amount (up to ${money(refundable, current.currency)})`),
              refundAmount,
            ),
            h(
              'div',
              { class: 'actions' },
              // Interac debit is refunded only with the card, on a reader (Stripe refuses it online).
              interac
                ? h('p', { class: 'hint', id: 'interac-refund' }, 'Interac: refund with the card on a reader.')
                : h(
                    'button',
                    { type: 'button', class: 'primary', disabled: busy, onclick: () => void refund(false) },
                    'Refund online',
                  ),
              locationReaders.length > 0
                ? h(
                    'span',
                    { class: 'inline-field' },
                    h('label', { for: 'refund-reader' }, 'Reader'),
                    refundReader,
                    h(
                      'button',
                      { type: 'button', disabled: busy, onclick: () => void refund(true) },
                      'Refund on reader',
                    ),
                  )
                : null,
            ),
          )
        : null,
      h('h3', {}, 'Receipt'),
      receipt ? receiptView(receipt, current, locationName(current.locationId)) : null,
      receipt
        ? h('button', { type: 'button', id: 'print-receipt', onclick: () => window.print() }, 'Print receipt')
        : current.card
          ? h('button', { type: 'button', disabled: busy, onclick: () => void showReceipt() }, 'Show receipt')
          : h('p', { class: 'hint' }, 'A receipt exists once the card is authorized.'),
      current.status === 'canceled'
        ? null
        : h(
            'form',
            {
              class: 'inline-form',
              novalidate: true,
              onsubmit: (event: Event) => {
                event.preventDefault();
                void emailReceipt();
              },
            },
            h('label', { for: 'receipt-email' }, 'Email the receipt to'),
            receiptEmail,
            h('button', { type: 'submit', id: 'email-receipt', disabled: busy }, 'Email receipt'),
            current.receiptEmail
              ? h('p', { class: 'hint', id: 'receipt-email-sent' }, `Receipt goes to ${current.receiptEmail}.`)
              : null,
          ),
    );
  }

  return {
    element,
    dispose() {
      stopListening();
      live.unsubscribe({ paymentId });
    },
  };
}

/**
 * The card receipt as a customer gets it: the sale, its tip and refunds (from the payment as it is now, which live
 * updates keep current), and the card's EMV facts a chip receipt must show (application, AID, authorization); the
 * only part of the page that prints.
 */
function receiptView(receipt: Receipt, payment: Payment, location: string): HTMLElement {
  const line = (name: string, value: string, kind = '') =>
    h('div', { class: `receipt-line ${kind}` }, h('span', {}, name), h('span', {}, value));
  const amount = (minor: number) => money(minor, payment.currency);
  const refunded = payment.refunds.filter((refund) => refund.status !== 'failed' && refund.status !== 'canceled');
  const emv = receipt.emv;
  return h(
    'section',
    { class: 'receipt', id: 'receipt', 'aria-label': 'Receipt' },
    h('p', { class: 'receipt-shop' }, location),
    h('p', {}, `${new Date(payment.createdAt).toLocaleString()} · Order ${payment.orderId}`),
    line('Sale', amount(payment.amount - payment.tipAmount)),
    payment.tipAmount > 0 ? line('Tip', amount(payment.tipAmount)) : null,
    line('Total', amount(payment.amount), 'total'),
    refunded.map((refund) =>
      line(`Refund${refund.status === 'pending' ? ' (pending)' : ''}`, `−${amount(refund.amount)}`),
    ),
    payment.amountRefunded > 0 ? line('Paid after refunds', amount(payment.amount - payment.amountRefunded)) : null,
    h(
      'dl',
      { class: 'facts' },
      fact('Card', `${(receipt.card.brand ?? 'card').toUpperCase()} •••• ${receipt.card.last4 ?? '????'}`),
      fact('Read by', receipt.card.readMethod?.replaceAll('_', ' ') ?? '—'),
      fact('Application', emv.applicationPreferredName ?? '—'),
      fact('AID', emv.dedicatedFileName ?? '—'),
      fact('Authorization code', emv.authorizationCode ?? '—'),
      fact('Response code', emv.authorizationResponseCode ?? '—'),
      fact('Account type', emv.accountType ?? '—'),
      emv.terminalVerificationResults ? fact('TVR', emv.terminalVerificationResults) : null,
      emv.transactionStatusInformation ? fact('TSI', emv.transactionStatusInformation) : null,
    ),
  );
}

function fact(name: string, value: string): HTMLElement[] {
  return [h('dt', {}, name), h('dd', {}, value)];
}

/** Refunds asked for and not settled yet: not refundable again meanwhile. */
function pendingAmount(payment: Payment): number {
  return payment.refunds
    .filter((refund) => refund.status === 'pending')
    .reduce((sum, refund) => sum + refund.amount, 0);
}

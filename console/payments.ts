/**
 * The payments of the account's locations, newest first: filters by status and flag, a page at a time. The rows on
 * screen follow their payments live; payments made since the page was read are counted, and shown on request, so the
 * list never shifts under the cashier's finger.
 */
import { messageOf } from './api.ts';
import type { ConsoleContext, Screen } from './context.ts';
import { h, replace } from './dom.ts';
import { FLAG_WORDS, money, STATUS_WORDS, time } from './format.ts';
import { type PaymentDetail, paymentDetail } from './payment-detail.ts';
import type { Payment } from './types.ts';

const PAGE_SIZE = 20;

export function paymentsScreen(context: ConsoleContext): Screen {
  const { api, live } = context;
  /** The payments on screen, by id, as last shown. */
  let shown = new Map<string, Payment>();
  /** Payments made since the first page was read, which it would now list. */
  const arrived = new Set<string>();
  /** When the newest payment of the first page was made (the service's clock); anything later is new. */
  let readAt = Number.NEGATIVE_INFINITY;
  /** Cursors of the pages before this one, so "Previous" goes back the way "Next" came. */
  const previousCursors: (string | undefined)[] = [];
  let cursor: string | undefined;
  let nextCursor: string | null = null;
  let loading = false;
  let detail: PaymentDetail | undefined;
  const detailSlot = h('div', {});

  const statusFilter = h(
    'select',
    { id: 'filter-status', onchange: () => void firstPage() },
    h('option', { value: '' }, 'Any status'),
    Object.entries(STATUS_WORDS).map(([value, words]) => h('option', { value }, words)),
  );
  const flagFilter = h(
    'select',
    { id: 'filter-flag', onchange: () => void firstPage() },
    h('option', { value: '' }, 'Any flag'),
    Object.entries(FLAG_WORDS).map(([value, words]) => h('option', { value }, words)),
  );
  const locationFilter =
    context.account.locations.length > 1
      ? h(
          'select',
          { id: 'filter-location', onchange: () => void firstPage() },
          h('option', { value: '' }, 'Every location'),
          context.account.locations.map((location) => h('option', { value: location.id }, location.displayName)),
        )
      : null;
  const errorBox = h('div', { class: 'error', role: 'alert', hidden: true });
  const body = h('tbody', {});
  const pageInfo = h('p', { class: 'hint', role: 'status', id: 'payments-page' });
  const previousButton = h('button', { type: 'button', onclick: () => void previousPage() }, 'Previous page');
  const nextButton = h('button', { type: 'button', onclick: () => void nextPage() }, 'Next page');
  const refreshButton = h('button', { type: 'button', onclick: () => void load() }, 'Refresh');
  const arrivedButton = h(
    'button',
    { type: 'button', id: 'new-payments', hidden: true, onclick: () => void firstPage() },
    '',
  );
  const element = h(
    'div',
    { class: 'screen payments' },
    h('h1', {}, 'Payments'),
    h(
      'div',
      { class: 'filters' },
      locationFilter
        ? h('div', { class: 'field' }, h('label', { for: 'filter-location' }, 'Location'), locationFilter)
        : null,
      h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), statusFilter),
      h('div', { class: 'field' }, h('label', { for: 'filter-flag' }, 'Flag'), flagFilter),
      refreshButton,
    ),
    errorBox,
    arrivedButton,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'payments-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Created', 'Order', 'Amount', 'Status', 'Card', 'Flags'].map((name) => h('th', { scope: 'col' }, name)),
          ),
        ),
        body,
      ),
    ),
    h('div', { class: 'actions' }, previousButton, nextButton, pageInfo),
    detailSlot,
  );

  const stopListening = live.listen({
    payment: (update) => {
      const current = shown.get(update.id);
      if (current !== undefined) {
        if (Date.parse(update.updatedAt) < Date.parse(current.updatedAt)) return;
        shown.set(update.id, update);
        const before = body.querySelector(`tr[data-payment-id="${update.id}"]`);
        const after = row(update);
        const hadFocus = before?.contains(document.activeElement) === true;
        before?.replaceWith(after);
        if (hadFocus) after.querySelector('button')?.focus();
      } else if (Date.parse(update.createdAt) > readAt && matchesFilters(update)) {
        arrived.add(update.id);
        renderArrived();
      }
    },
    reader: () => {},
    readerRemoved: () => {},
    state: () => {},
  });
  for (const location of context.account.locations) live.subscribe({ locationId: location.id });

  function matchesFilters(payment: Payment): boolean {
    return (
      (!locationFilter?.value || payment.locationId === locationFilter.value) &&
      (!statusFilter.value || payment.status === statusFilter.value) &&
      (!flagFilter.value || payment.flags.includes(flagFilter.value as Payment['flags'][number]))
    );
  }

  function renderArrived(): void {
    arrivedButton.hidden = arrived.size === 0;
    arrivedButton.textContent = arrived.size === 1 ? 'Show 1 new payment' : `Show ${arrived.size} new payments`;
  }

  function openDetail(paymentId: string, opener: HTMLElement): void {
    detail?.dispose();
    detail = paymentDetail(context, paymentId, () => {
      detail?.dispose();
      detail = undefined;
      replace(detailSlot);
      opener.focus();
    });
    replace(detailSlot, detail.element);
    detail.element.scrollIntoView({ block: 'nearest' });
  }

  async function firstPage(): Promise<void> {
    previousCursors.length = 0;
    cursor = undefined;
    arrived.clear();
    renderArrived();
    await load();
  }

  async function nextPage(): Promise<void> {
    if (nextCursor === null) return;
    previousCursors.push(cursor);
    cursor = nextCursor;
    await load();
  }

  async function previousPage(): Promise<void> {
    if (previousCursors.length === 0) return;
    cursor = previousCursors.pop();
    await load();
  }

  async function load(): Promise<void> {
    loading = true;
    renderButtons();
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (locationFilter?.value) query.set('locationId', locationFilter.value);
    if (statusFilter.value) query.set('status', statusFilter.value);
    if (flagFilter.value) query.set('flag', flagFilter.value);
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await api.get<{ payments: Payment[]; nextCursor: string | null }>(`/payments?${query}`);
      nextCursor = page.nextCursor;
      errorBox.hidden = true;
      replace(
        body,
        page.payments.length === 0
          ? h('tr', {}, h('td', { colspan: 6 }, 'No payments match.'))
          : page.payments.map(row),
      );
      shown = new Map(page.payments.map((payment) => [payment.id, payment]));
      if (previousCursors.length === 0) {
        readAt = Math.max(Number.NEGATIVE_INFINITY, ...page.payments.map((payment) => Date.parse(payment.createdAt)));
      }
      pageInfo.textContent = `Page ${previousCursors.length + 1}${nextCursor === null ? ' (last)' : ''}`;
    } catch (failure) {
      errorBox.hidden = false;
      replace(errorBox, h('p', {}, messageOf(failure)));
    } finally {
      loading = false;
      renderButtons();
    }
  }

  function renderButtons(): void {
    previousButton.disabled = loading || previousCursors.length === 0;
    nextButton.disabled = loading || nextCursor === null;
    refreshButton.disabled = loading;
  }

  function row(payment: Payment): HTMLElement {
    return h(
      'tr',
      { 'data-payment-id': payment.id, 'data-status': payment.status },
      h('td', {}, time(payment.createdAt)),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-label': `Details of order ${payment.orderId}`,
            onclick: (event: Event) => openDetail(payment.id, event.currentTarget as HTMLElement),
          },
          payment.orderId,
        ),
      ),
      h('td', { class: 'number' }, money(payment.amount, payment.currency)),
      h('td', {}, h('span', { class: `badge status-${payment.status}` }, STATUS_WORDS[payment.status])),
      h('td', {}, payment.card ? `${payment.card.brand ?? 'card'} •••• ${payment.card.last4 ?? '????'}` : '—'),
      h('td', {}, payment.flags.map((flag) => FLAG_WORDS[flag]).join(', ') || '—'),
    );
  }

  void firstPage();
  return {
    element,
    dispose() {
      detail?.dispose();
      stopListening();
      for (const location of context.account.locations) live.unsubscribe({ locationId: location.id });
    },
  };
}

/**
 * The readers of the account's locations: health, last seen, what each is doing, and a reset for a stuck one; an
 * admin also registers, relabels and removes readers.
 */
import { ApiError, messageOf } from './api.ts';
import type { ConsoleContext, Screen } from './context.ts';
import { h, replace } from './dom.ts';
import { HEALTH_WORDS, readerName, time } from './format.ts';
import type { Reader } from './types.ts';

/** How often the list is read again while the screen is open. */
const REFRESH_MS = 3_000;

export function readersScreen(context: ConsoleContext): Screen {
  const { api, live, account } = context;
  let readers: Reader[] = [];
  let busyReader: string | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  /** The reader being relabelled or whose removal awaits confirmation. */
  let editing: { readerId: string; mode: 'label' | 'remove' } | undefined;
  const isAdmin = account.role === 'admin';
  let registrationKey = crypto.randomUUID();
  const notice = h('div', { class: 'notice', role: 'status', id: 'readers-notice' });
  const errorBox = h('div', { class: 'error', role: 'alert', hidden: true, id: 'readers-error' });
  const body = h('tbody', {});
  const element = h(
    'div',
    { class: 'screen readers' },
    h('h1', {}, 'Readers'),
    errorBox,
    notice,
    isAdmin ? registrationForm() : null,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'readers-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Reader', 'Location', 'Device', 'Health', 'Last seen', 'Doing', 'Actions'].map((name) =>
              h('th', { scope: 'col' }, name),
            ),
          ),
        ),
        body,
      ),
    ),
  );

  const stopListening = live.listen({
    payment: () => {},
    reader: (reader) => {
      const index = readers.findIndex((known) => known.id === reader.id);
      if (index === -1) readers.push(reader);
      else readers[index] = reader;
      render();
    },
    readerRemoved: (readerId) => {
      readers = readers.filter((reader) => reader.id !== readerId);
      render();
    },
    state: () => {},
  });
  for (const location of account.locations) live.subscribe({ locationId: location.id });

  /**
   * The stored readers, read again every few seconds besides the live updates: a live message can lag behind the
   * table under load, and the list costs no Stripe call.
   */
  async function load(): Promise<void> {
    clearTimeout(refreshTimer);
    try {
      readers = (await api.get<{ readers: Reader[] }>('/readers')).readers;
      errorBox.hidden = true;
      if (editing === undefined) render();
    } catch (failure) {
      showError(messageOf(failure));
    }
    if (!disposed) refreshTimer = setTimeout(() => void load(), REFRESH_MS);
  }

  /** Clear the reader's action; with the payment it was on, so a reader that moved on is left alone. */
  async function reset(reader: Reader): Promise<void> {
    busyReader = reader.id;
    render();
    try {
      const answer = await api.post<{ reader: Reader }>(
        `/readers/${reader.id}/cancel-action`,
        reader.paymentId ? { paymentId: reader.paymentId } : {},
      );
      const index = readers.findIndex((known) => known.id === reader.id);
      if (index !== -1) readers[index] = answer.reader;
      errorBox.hidden = true;
      notice.textContent = `${readerName(reader)} was reset and is ready for the next payment.`;
    } catch (failure) {
      showError(messageOf(failure));
    } finally {
      busyReader = undefined;
      render();
    }
  }

  function registrationForm(): HTMLElement {
    const code = h('input', { id: 'registration-code', autocomplete: 'off', 'aria-describedby': 'code-hint' });
    const label = h('input', { id: 'new-reader-label', autocomplete: 'off' });
    const locationSelect = h(
      'select',
      { id: 'new-reader-location' },
      account.locations.map((location) => h('option', { value: location.id }, location.displayName)),
    );
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Register reader');
    const register = async (event: Event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const answer = await api.post<{ reader: Reader }>(
          '/readers',
          {
            registrationCode: code.value.trim(),
            locationId: locationSelect.value,
            ...(label.value.trim() ? { label: label.value.trim() } : {}),
          },
          { 'idempotency-key': registrationKey },
        );
        registrationKey = crypto.randomUUID();
        upsert(answer.reader);
        code.value = '';
        label.value = '';
        errorBox.hidden = true;
        notice.textContent = `${readerName(answer.reader)} is registered.`;
        render();
      } catch (failure) {
        // Without an answer the code may have registered: the same key makes the next try safe.
        if (failure instanceof ApiError && failure.status !== 0) registrationKey = crypto.randomUUID();
        showError(messageOf(failure));
      } finally {
        submit.disabled = false;
      }
    };
    return h(
      'form',
      { class: 'register-reader', onsubmit: (event: Event) => void register(event) },
      h('h2', {}, 'Register a reader'),
      h(
        'div',
        { class: 'filters' },
        h('div', { class: 'field' }, h('label', { for: 'registration-code' }, 'Registration code'), code),
        h('div', { class: 'field' }, h('label', { for: 'new-reader-location' }, 'Location'), locationSelect),
        h('div', { class: 'field' }, h('label', { for: 'new-reader-label' }, 'Label'), label),
        submit,
      ),
      h(
        'p',
        { id: 'code-hint', class: 'hint' },
        'The code the reader shows under Settings → Generate pairing code (on the local stack: simulated-wpe, simulated-s700 or simulated-s710).',
      ),
    );
  }

  async function relabel(reader: Reader, label: string): Promise<void> {
    await change(reader, async () => {
      upsert((await api.patch<{ reader: Reader }>(`/readers/${reader.id}`, { label })).reader);
      notice.textContent = `The reader is now called ${label}.`;
    });
  }

  async function remove(reader: Reader): Promise<void> {
    await change(reader, async () => {
      await api.delete(`/readers/${reader.id}`);
      readers = readers.filter((known) => known.id !== reader.id);
      notice.textContent = `${readerName(reader)} was removed.`;
    });
  }

  async function change(reader: Reader, request: () => Promise<void>): Promise<void> {
    busyReader = reader.id;
    render();
    try {
      await request();
      editing = undefined;
      errorBox.hidden = true;
    } catch (failure) {
      showError(messageOf(failure));
    } finally {
      busyReader = undefined;
      render();
    }
  }

  function upsert(reader: Reader): void {
    const index = readers.findIndex((known) => known.id === reader.id);
    if (index === -1) readers.push(reader);
    else readers[index] = reader;
  }

  function adminCell(reader: Reader): HTMLElement | null {
    if (!isAdmin) return null;
    const disabled = busyReader !== undefined;
    const name = readerName(reader);
    if (editing?.readerId === reader.id && editing.mode === 'label') {
      const input = h('input', { value: reader.label ?? '', 'aria-label': `New label for ${name}` });
      queueMicrotask(() => input.focus());
      return h(
        'form',
        {
          class: 'inline-field',
          onsubmit: (event: Event) => {
            event.preventDefault();
            void relabel(reader, input.value.trim());
          },
        },
        input,
        h('button', { type: 'submit', disabled }, 'Save'),
        h('button', { type: 'button', onclick: () => stopEditing() }, 'Keep'),
      );
    }
    if (editing?.readerId === reader.id && editing.mode === 'remove') {
      return h(
        'span',
        { class: 'inline-field' },
        `Remove ${name}?`,
        h('button', { type: 'button', disabled, onclick: () => void remove(reader) }, 'Remove reader'),
        h('button', { type: 'button', onclick: () => stopEditing() }, 'Keep'),
      );
    }
    return h(
      'span',
      { class: 'inline-field' },
      h(
        'button',
        { type: 'button', disabled, 'aria-label': `Rename ${name}`, onclick: () => startEditing(reader, 'label') },
        'Rename',
      ),
      h(
        'button',
        { type: 'button', disabled, 'aria-label': `Remove ${name}`, onclick: () => startEditing(reader, 'remove') },
        'Remove',
      ),
    );
  }

  function startEditing(reader: Reader, mode: 'label' | 'remove'): void {
    editing = { readerId: reader.id, mode };
    render();
  }

  function stopEditing(): void {
    editing = undefined;
    render();
  }

  /** Read one reader fresh from Stripe (and have the service store what it finds), as a cashier's "check". */
  async function check(reader: Reader): Promise<void> {
    await change(reader, async () => {
      const fresh = (await api.get<{ reader: Reader }>(`/readers/${reader.id}`)).reader;
      upsert(fresh);
      notice.textContent = `${readerName(fresh)}: ${HEALTH_WORDS[fresh.health].toLowerCase()}.`;
    });
  }

  function showError(message: string): void {
    errorBox.hidden = false;
    replace(errorBox, h('p', {}, message));
  }

  function render(): void {
    const locationName = (id: string | null) =>
      account.locations.find((location) => location.id === id)?.displayName ?? id ?? '—';
    replace(
      body,
      readers.map((reader) =>
        h(
          'tr',
          { 'data-reader-id': reader.id, 'data-health': reader.health },
          h('th', { scope: 'row' }, readerName(reader), h('span', { class: 'reader-id' }, reader.id)),
          h('td', {}, locationName(reader.locationId)),
          h('td', {}, reader.deviceType),
          h('td', {}, h('span', { class: `badge health-${reader.health}` }, HEALTH_WORDS[reader.health])),
          h('td', {}, time(reader.lastSeenAt)),
          h('td', {}, doing(reader)),
          h(
            'td',
            { class: 'row-actions' },
            h(
              'button',
              {
                type: 'button',
                disabled: busyReader !== undefined,
                'aria-label': `Check ${readerName(reader)}`,
                onclick: () => void check(reader),
              },
              'Check',
            ),
            reader.action?.status === 'in_progress'
              ? h(
                  'button',
                  {
                    type: 'button',
                    disabled: busyReader !== undefined,
                    'aria-label': `Reset ${readerName(reader)}`,
                    onclick: () => void reset(reader),
                  },
                  'Reset',
                )
              : null,
            adminCell(reader),
          ),
        ),
      ),
    );
  }

  void load();
  return {
    element,
    dispose() {
      disposed = true;
      clearTimeout(refreshTimer);
      stopListening();
      for (const location of account.locations) live.unsubscribe({ locationId: location.id });
    },
  };
}

/** What the reader is busy with, in a cashier's words; nothing once its last action has finished. */
function doing(reader: Reader): string {
  if (reader.action?.status !== 'in_progress') return '—';
  const words: Record<string, string> = {
    process_payment_intent: 'Taking a payment',
    refund_payment: 'Taking a refund',
    collect_payment_method: 'Reading a card',
    confirm_payment_intent: 'Confirming a payment',
    set_reader_display: 'Showing the cart',
  };
  return words[reader.action.type] ?? reader.action.type.replaceAll('_', ' ');
}

/** The readers of the account's locations: health, last seen, what each is doing, and a reset for a stuck one. */
import { messageOf } from './api.ts';
import type { ConsoleContext, Screen } from './context.ts';
import { h, replace } from './dom.ts';
import { HEALTH_WORDS, readerName, time } from './format.ts';
import type { Reader } from './types.ts';

export function readersScreen(context: ConsoleContext): Screen {
  const { api, live, account } = context;
  let readers: Reader[] = [];
  let busyReader: string | undefined;
  const notice = h('div', { class: 'notice', role: 'status', id: 'readers-notice' });
  const errorBox = h('div', { class: 'error', role: 'alert', hidden: true, id: 'readers-error' });
  const body = h('tbody', {});
  const element = h(
    'div',
    { class: 'screen readers' },
    h('h1', {}, 'Readers'),
    errorBox,
    notice,
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
            ['Reader', 'Location', 'Device', 'Health', 'Last seen', 'Doing', ''].map((name) =>
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

  async function load(): Promise<void> {
    try {
      readers = (await api.get<{ readers: Reader[] }>('/readers')).readers;
      errorBox.hidden = true;
      render();
    } catch (failure) {
      showError(messageOf(failure));
    }
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
          h('td', {}, reader.action ? `${reader.action.type.replaceAll('_', ' ')} (${reader.action.status})` : '—'),
          h(
            'td',
            {},
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
          ),
        ),
      ),
    );
  }

  void load();
  return {
    element,
    dispose() {
      stopListening();
      for (const location of account.locations) live.unsubscribe({ locationId: location.id });
    },
  };
}

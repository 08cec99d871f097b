/**
 * The POS console: sign-in, then the register, payments and readers screens under one header. The screen is chosen
 * by the address's hash (`#register`, `#payments`, `#readers`), so the browser's back button and a reload work.
 */
import { apiClient, EXPIRED_MESSAGE, messageOf } from './api.ts';
import type { ConsoleContext, Screen } from './context.ts';
import { h, replace } from './dom.ts';
import { type LiveState, LiveUpdates } from './live.ts';
import { paymentsScreen } from './payments.ts';
import { readersScreen } from './readers.ts';
import { registerScreen } from './register.ts';
import type { Account, LocalSession } from './types.ts';

const SESSION_KEY = 'pos-console.session';
const SCREENS = {
  register: { title: 'Register', build: registerScreen },
  payments: { title: 'Payments', build: paymentsScreen },
  readers: { title: 'Readers', build: readersScreen },
} as const;
type ScreenName = keyof typeof SCREENS;

interface Session {
  account: Account;
  liveUrl: string;
  locationId: string;
  simulator: boolean;
}

const root = document.getElementById('app') as HTMLElement;
let signedIn: { session: Session; live: LiveUpdates; screen?: Screen } | undefined;

function start(): void {
  const session = storedSession();
  if (session === undefined || tokenExpired(session.account.token)) {
    void showSignIn(session === undefined ? '' : EXPIRED_MESSAGE);
    return;
  }
  open(session);
}

async function showSignIn(message: string): Promise<void> {
  signedIn?.screen?.dispose();
  signedIn?.live.close();
  signedIn = undefined;
  sessionStorage.removeItem(SESSION_KEY);
  const notice = h('div', { class: message ? 'error' : 'hint', role: 'alert' }, message);
  const choices = h('div', { class: 'accounts' });
  replace(
    root,
    h(
      'main',
      { class: 'sign-in', id: 'sign-in' },
      h('h1', {}, 'POS console'),
      h('p', {}, 'Sign in as a location’s register, or as an admin for every location.'),
      notice,
      choices,
    ),
  );
  try {
    const response = await fetch('local-session.json');
    if (!response.ok) throw new Error('Sign-in is offered only by the local stack (npm start).');
    const local = (await response.json()) as LocalSession;
    replace(
      choices,
      local.accounts.map((account) =>
        h(
          'button',
          {
            type: 'button',
            class: 'account',
            onclick: () => {
              const session = {
                account,
                liveUrl: local.liveUrl,
                locationId: account.locations[0]?.id ?? '',
                simulator: local.simulator,
              };
              sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
              location.hash = '#register';
              open(session);
            },
          },
          h('span', { class: 'account-name' }, account.label),
          h('span', { class: 'hint' }, account.role === 'admin' ? 'Admin' : 'Register'),
        ),
      ),
    );
    choices.querySelector('button')?.focus();
  } catch (failure) {
    notice.className = 'error';
    notice.textContent = messageOf(failure);
  }
}

function open(session: Session): void {
  const live = new LiveUpdates(session.liveUrl, session.account.token);
  signedIn = { session, live };
  const liveBadge = h('span', { class: 'live', id: 'live-state', role: 'status' });
  const showLive = (state: LiveState) => {
    liveBadge.dataset.state = state;
    liveBadge.textContent = { live: 'Live', connecting: 'Connecting…', offline: 'Offline: checking every 2 s' }[state];
  };
  live.listen({ payment: () => {}, reader: () => {}, readerRemoved: () => {}, state: showLive });

  const nav = h(
    'nav',
    { 'aria-label': 'Screens' },
    Object.entries(SCREENS).map(([name, screen]) => h('a', { href: `#${name}`, 'data-screen': name }, screen.title)),
  );
  const locationPicker =
    session.account.locations.length > 1
      ? h(
          'select',
          {
            id: 'location',
            'aria-label': 'Location',
            onchange: (event: Event) => {
              session.locationId = (event.target as HTMLSelectElement).value;
              sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
              showScreen();
            },
          },
          session.account.locations.map((location) =>
            h('option', { value: location.id, selected: location.id === session.locationId }, location.displayName),
          ),
        )
      : h('span', {}, session.account.locations[0]?.displayName ?? '');
  const content = h('main', { id: 'content', tabindex: -1 });
  replace(
    root,
    h(
      'header',
      {},
      h('span', { class: 'brand' }, 'POS console'),
      nav,
      h(
        'div',
        { class: 'who' },
        locationPicker,
        liveBadge,
        session.account.locations.length > 1 ? h('span', { class: 'hint' }, session.account.label) : null,
        h('button', { type: 'button', onclick: () => void showSignIn('') }, 'Sign out'),
      ),
    ),
    content,
  );

  function showScreen(): void {
    if (signedIn === undefined) return;
    const name = screenName();
    signedIn.screen?.dispose();
    const api = apiClient(session.account.token, () => void showSignIn(EXPIRED_MESSAGE));
    const context: ConsoleContext = {
      account: session.account,
      api,
      live,
      locationId: session.locationId,
      simulator: session.simulator === true,
    };
    signedIn.screen = SCREENS[name].build(context);
    for (const link of nav.querySelectorAll('a')) {
      if (link.dataset.screen === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    document.title = `${SCREENS[name].title} · POS console`;
    replace(content, signedIn.screen.element);
  }
  window.onhashchange = showScreen;
  showScreen();
}

function screenName(): ScreenName {
  const name = location.hash.slice(1);
  return name in SCREENS ? (name as ScreenName) : 'register';
}

function storedSession(): Session | undefined {
  try {
    const text = sessionStorage.getItem(SESSION_KEY);
    return text === null ? undefined : (JSON.parse(text) as Session);
  } catch {
    return undefined;
  }
}

/** A token past its `exp` is refused by the API anyway; going to sign-in at once spares the cashier a failed sale. */
function tokenExpired(token: string): boolean {
  try {
    const payload = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as {
      exp?: number;
    };
    return typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now();
  } catch {
    return true;
  }
}

start();

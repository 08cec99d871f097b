/**
 * The POS console: sign-in, then the register, payments and readers screens under one header. The screen is chosen
 * by the address's hash (`#register`, `#payments`, `#readers`), so the browser's back button and a reload work.
 */
import { type Api, apiClient, EXPIRED_MESSAGE, messageOf } from './api.ts';
import { type ConsoleConfig, loadConfig } from './config.ts';
import type { ConsoleContext, Screen } from './context.ts';
import { h, replace } from './dom.ts';
import { beginSignIn, completeSignIn, refreshIdToken, signOutUrl } from './hosted-ui.ts';
import { type LiveState, LiveUpdates } from './live.ts';
import { paymentsScreen } from './payments.ts';
import { readersScreen } from './readers.ts';
import { registerScreen } from './register.ts';
import { claimsOf, tokenExpired } from './token.ts';
import type { Account, LocalSession, Reader } from './types.ts';

const SESSION_KEY = 'pos-console.session';
const SCREENS = {
  register: { title: 'Register', build: registerScreen },
  payments: { title: 'Payments', build: paymentsScreen },
  readers: { title: 'Readers', build: readersScreen },
} as const;
type ScreenName = keyof typeof SCREENS;

interface Session {
  account: Account;
  locationId: string;
  simulator: boolean;
  /** From the Hosted UI: renews the account's ID token before it expires. */
  refreshToken?: string;
}

/** How long before its expiry an ID token is renewed, and how soon a failed renewal is tried again. */
const REFRESH_BEFORE_MS = 5 * 60_000;
const REFRESH_RETRY_MS = 30_000;

const root = document.getElementById('app') as HTMLElement;
let config: ConsoleConfig;
let signedIn: { session: Session; live: LiveUpdates; screen?: Screen } | undefined;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

async function start(): Promise<void> {
  try {
    config = await loadConfig();
  } catch (failure) {
    replace(
      root,
      h(
        'main',
        { class: 'sign-in' },
        h('h1', {}, 'POS console'),
        h('p', { class: 'error', role: 'alert' }, messageOf(failure)),
      ),
    );
    return;
  }
  if (config.signIn.kind === 'cognito') {
    try {
      const answer = await completeSignIn(config.signIn);
      if (answer !== undefined) {
        const session = await sessionOf(answer.idToken, answer.refreshToken);
        keep(session);
        open(session);
        return;
      }
    } catch (failure) {
      void showSignIn(messageOf(failure));
      return;
    }
  }
  const session = storedSession();
  if (session !== undefined && tokenExpired(session.account.token) && session.refreshToken !== undefined) {
    await renew(session).catch(() => {});
  }
  if (session === undefined || tokenExpired(session.account.token)) {
    void showSignIn(session === undefined ? '' : EXPIRED_MESSAGE);
    return;
  }
  open(session);
}

/** A new ID token for the session, from its refresh token; kept for the next page load too. */
async function renew(session: Session): Promise<void> {
  if (config.signIn.kind !== 'cognito' || session.refreshToken === undefined) throw new Error('No refresh token');
  session.account.token = await refreshIdToken(config.signIn, session.refreshToken);
  keep(session);
}

/**
 * Renew the session's ID token shortly before it expires, so a register signed in at opening stays signed in through
 * the shift. A failed renewal is tried again while the token lasts; after that the API's 401 sends the cashier to
 * sign-in, as without a refresh token.
 */
function scheduleRefresh(session: Session, soonestMs = 0): void {
  clearTimeout(refreshTimer);
  if (session.refreshToken === undefined) return;
  const expiresAt = Number(claimsOf(session.account.token).exp ?? 0) * 1000;
  const attempt = () => {
    renew(session).then(
      // A token issued for less than the lead time is not renewed back to back.
      () => scheduleRefresh(session, REFRESH_RETRY_MS),
      () => {
        if (Date.now() < expiresAt) refreshTimer = setTimeout(attempt, REFRESH_RETRY_MS);
      },
    );
  };
  refreshTimer = setTimeout(attempt, Math.max(expiresAt - REFRESH_BEFORE_MS - Date.now(), soonestMs));
}

async function showSignIn(message: string): Promise<void> {
  clearTimeout(refreshTimer);
  signedIn?.screen?.dispose();
  signedIn?.live.close();
  signedIn = undefined;
  sessionStorage.removeItem(SESSION_KEY);
  const notice = h('div', { class: message ? 'error' : 'hint', role: 'alert' }, message);
  const choices = h('div', { class: 'accounts' });
  const signIn = config.signIn;
  replace(
    root,
    h(
      'main',
      { class: 'sign-in', id: 'sign-in' },
      h('h1', {}, 'POS console'),
      h(
        'p',
        {},
        signIn.kind === 'local'
          ? 'Sign in as a location’s register, or as an admin for every location.'
          : 'Sign in with your shop account.',
      ),
      notice,
      choices,
    ),
  );
  if (signIn.kind === 'cognito') {
    const button = h(
      'button',
      {
        type: 'button',
        class: 'primary',
        id: 'hosted-sign-in',
        onclick: () => {
          button.disabled = true;
          void beginSignIn(signIn, location.hash || '#register').catch((failure: unknown) => {
            button.disabled = false;
            notice.className = 'error';
            notice.textContent = messageOf(failure);
          });
        },
      },
      'Sign in',
    );
    replace(choices, button);
    button.focus();
    return;
  }
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
              const session = { account, locationId: account.locations[0]?.id ?? '', simulator: local.simulator };
              keep(session);
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

/**
 * The account an ID token from the Hosted UI signs in as: its locations (`custom:locations`, `*` for every one) and
 * role (`custom:role`). An admin's locations are named by `GET /locations`; a cashier's go by their ids, and a cashier
 * of every location works for the locations its readers are at. A token the API refuses (no second factor on a
 * privileged account) ends the sign-in with the API's own reason.
 */
async function sessionOf(token: string, refreshToken: string | undefined): Promise<Session> {
  const claims = claimsOf(token);
  const api = apiClient(
    config.apiUrl,
    () => token,
    () => {},
  );
  const admin = claims['custom:role'] === 'admin';
  const granted = String(claims['custom:locations'] ?? '')
    .split(/[,\s]+/)
    .filter((entry) => entry.length > 0);
  let locations: Account['locations'];
  if (admin) {
    locations = (await api.get<{ locations: Account['locations'] }>('/locations')).locations;
  } else if (granted.includes('*') || String(claims.mfa_required) === 'true') {
    const { readers } = await api.get<{ readers: Reader[] }>('/readers');
    const ids = [...new Set(readers.map((reader) => reader.locationId).filter((id) => id !== null))];
    locations = ids.map((id) => ({ id, displayName: id }));
  } else {
    locations = granted.map((id) => ({ id, displayName: id }));
  }
  if (locations.length === 0) {
    throw new Error('This account has no location to work for yet. Ask your admin to give it one, then sign in again.');
  }
  const label = [claims.name, claims.email, claims['cognito:username']].find((value) => typeof value === 'string');
  return {
    account: { label: String(label ?? 'Signed in'), role: admin ? 'admin' : 'cashier', token, locations },
    locationId: locations[0]?.id ?? '',
    simulator: false,
    ...(refreshToken === undefined ? {} : { refreshToken }),
  };
}

function keep(session: Session): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function signOut(): void {
  if (config.signIn.kind === 'cognito') {
    clearTimeout(refreshTimer);
    signedIn?.screen?.dispose();
    signedIn?.live.close();
    sessionStorage.removeItem(SESSION_KEY);
    location.assign(signOutUrl(config.signIn));
    return;
  }
  void showSignIn('');
}

function open(session: Session): void {
  const live = new LiveUpdates(config.liveUrl, () => session.account.token);
  signedIn = { session, live };
  scheduleRefresh(session);
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
              keep(session);
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
        h('button', { type: 'button', onclick: signOut }, 'Sign out'),
      ),
    ),
    content,
  );

  function showScreen(): void {
    if (signedIn === undefined) return;
    const name = screenName();
    signedIn.screen?.dispose();
    const api: Api = apiClient(
      config.apiUrl,
      () => session.account.token,
      () => void showSignIn(EXPIRED_MESSAGE),
    );
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

void start();

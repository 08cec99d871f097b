/**
 * Sign-in through the Cognito Hosted UI: the OAuth 2.0 authorization code grant with PKCE, as a public client (no
 * secret in the page). The page sends the user to `/oauth2/authorize`; the Hosted UI sends them back to the console's
 * own address with a `code`, which the page exchanges at `/oauth2/token`, proving with the verifier that it started
 * the sign-in. The ID token is what the POS API and the live updates accept.
 */
import type { SignInConfig } from './config.ts';

export type HostedUi = Extract<SignInConfig, { kind: 'cognito' }>;

const PENDING_KEY = 'pos-console.hosted-ui';
const DEFAULT_SCOPES = ['openid', 'email', 'profile'];

interface Pending {
  state: string;
  verifier: string;
  /** The screen to open once signed in (`#payments`). */
  returnTo: string;
}

/** Where the Hosted UI sends the user back: the console's own folder (`https://…/console/`), registered as is. */
export function redirectUri(): string {
  return new URL('./', location.href).href.replace(/[?#].*$/, '');
}

/** Leave for the Hosted UI; the answer comes back to `redirectUri()`. */
export async function beginSignIn(hostedUi: HostedUi, returnTo: string): Promise<void> {
  const verifier = randomText(32);
  const pending: Pending = { state: randomText(16), verifier, returnTo };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL('/oauth2/authorize', hostedUi.domain);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: hostedUi.clientId,
    redirect_uri: redirectUri(),
    scope: (hostedUi.scopes ?? DEFAULT_SCOPES).join(' '),
    state: pending.state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
}

/**
 * The ID token, when this page load is the Hosted UI's answer; undefined when it is not. Throws what went wrong, in
 * words for the user, when the answer is an error or does not belong to a sign-in this tab started. Either way the
 * code leaves the address bar, so a reload or a bookmark never sends it again.
 */
export async function completeSignIn(
  hostedUi: HostedUi,
): Promise<{ idToken: string; refreshToken?: string; returnTo: string } | undefined> {
  const answer = new URLSearchParams(location.search);
  if (!answer.has('code') && !answer.has('error')) return undefined;
  const pending = takePending();
  history.replaceState(null, '', `${redirectUri()}${pending?.returnTo ?? ''}`);
  if (answer.has('error')) {
    throw new Error(`Sign-in did not complete: ${answer.get('error_description') ?? answer.get('error')}. Try again.`);
  }
  if (pending === undefined || answer.get('state') !== pending.state) {
    throw new Error('This sign-in was not started from this tab, or it was already used. Sign in again.');
  }
  const tokens = await tokenRequest(hostedUi, {
    grant_type: 'authorization_code',
    code: answer.get('code') ?? '',
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  return {
    idToken: tokens.idToken,
    ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
    returnTo: pending.returnTo,
  };
}

/**
 * A new ID token for the signed-in user, from the refresh token the sign-in gave (valid for the app client's refresh
 * token validity, a shift): the register stays signed in without leaving the screen every hour.
 */
export async function refreshIdToken(hostedUi: HostedUi, refreshToken: string): Promise<string> {
  return (await tokenRequest(hostedUi, { grant_type: 'refresh_token', refresh_token: refreshToken })).idToken;
}

async function tokenRequest(
  hostedUi: HostedUi,
  grant: Record<string, string>,
): Promise<{ idToken: string; refreshToken?: string }> {
  let response: Response;
  try {
    response = await fetch(new URL('/oauth2/token', hostedUi.domain), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...grant, client_id: hostedUi.clientId }),
    });
  } catch {
    throw new Error('The sign-in service could not be reached. Check the network, then sign in again.');
  }
  const tokens = (await response.json().catch(() => ({}))) as {
    id_token?: string;
    refresh_token?: string;
    error?: string;
  };
  if (!response.ok || typeof tokens.id_token !== 'string') {
    throw new Error(`Sign-in did not complete (${tokens.error ?? response.status}). Sign in again.`);
  }
  return { idToken: tokens.id_token, ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}) };
}

/** The Hosted UI's sign-out, which ends its session too and comes back to the console. */
export function signOutUrl(hostedUi: HostedUi): string {
  const url = new URL('/logout', hostedUi.domain);
  url.search = new URLSearchParams({ client_id: hostedUi.clientId, logout_uri: redirectUri() }).toString();
  return url.href;
}

function takePending(): Pending | undefined {
  const text = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  try {
    return text === null ? undefined : (JSON.parse(text) as Pending);
  } catch {
    return undefined;
  }
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

/** `bytes` random bytes as base64url: 32 make a verifier of 43 characters, within RFC 7636's 43 to 128. */
function randomText(bytes: number): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

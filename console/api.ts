/**
 * The POS API, on the console's own origin or at the URL its settings name. Every error carries the API's own
 * message, which is written for a cashier; nothing here retries a request, so a call that moves money is only ever
 * sent when a person asks for it. A token past its expiry is not sent at all: the user goes back to sign-in.
 */
import { tokenExpired } from './token.ts';

/** A failed call: the API's status, code and message (`error.message`, or API Gateway's `message`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The API says the same request may succeed later (a busy or offline reader). */
  readonly retryable: boolean;

  constructor(status: number, code: string, message: string, retryable: boolean) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryable = retryable;
  }
}

/** A request that never got an answer: it may or may not have been carried out. */
export const UNREACHABLE_MESSAGE =
  'The payment service could not be reached. Check the network, then check the payment before trying again.';

export const EXPIRED_MESSAGE = 'Your sign-in has expired. Sign in again to go on.';

/** How far behind the service's clock the device's may be when telling an expired token from a lost request. */
const CLOCK_SKEW_MS = 60_000;

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
}

/**
 * A client for one signed-in account, calling the API at `baseUrl` (empty: the console's own origin) with its current
 * token (`token()`, which a refresh replaces); `onExpired` runs when the API refuses it (401).
 */
export function apiClient(baseUrl: string, token: () => string, onExpired: () => void): Api {
  const expired = () => {
    onExpired();
    return new ApiError(401, 'unauthorized', EXPIRED_MESSAGE, false);
  };
  async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    // The API would refuse it; sent across origins, API Gateway's refusal may not even be readable by the page.
    if (tokenExpired(token())) throw expired();
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token()}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      // A refusal without CORS headers reads as a failed request: a token at its end (allowing for a clock that is
      // behind) was refused, not lost.
      if (tokenExpired(token(), CLOCK_SKEW_MS)) throw expired();
      throw new ApiError(0, 'unreachable', UNREACHABLE_MESSAGE, false);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.status === 401) {
      onExpired();
      throw new ApiError(401, 'unauthorized', EXPIRED_MESSAGE, false);
    }
    if (!response.ok) throw errorOf(response.status, json);
    return json as T;
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body = {}, headers) => call('POST', path, body, headers),
    patch: (path, body) => call('PATCH', path, body),
    delete: (path) => call('DELETE', path),
  };
}

function errorOf(status: number, json: unknown): ApiError {
  const body = (json ?? {}) as { error?: { code?: string; message?: string; retryable?: boolean }; message?: string };
  if (body.error?.message) {
    return new ApiError(status, body.error.code ?? 'error', body.error.message, body.error.retryable === true);
  }
  const message = body.message ?? `The payment service answered ${status}.`;
  return new ApiError(
    status,
    'gateway',
    `${message}. Try again in a moment; if it goes on, call support.`,
    status >= 500,
  );
}

/** What to show for any failure: the API's message, or what went wrong in the console itself. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

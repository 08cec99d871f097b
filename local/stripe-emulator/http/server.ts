/**
 * The HTTP front: a plain `node:http` handler. `/v1` requests go through Stripe's pipeline — authenticate,
 * route, parse (form body or query string), validate, idempotency, handle, answer with a `Request-Id` — and
 * the events a request caused are handed to webhook delivery once its response is sent. An armed request fault
 * (`/_emulator/faults`) fails a request before it runs, or replaces the answer of one that ran. `/_emulator`
 * requests go to the controls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Stripe from 'stripe';
import { apiRouter } from '../api/routes.ts';
import { redactKey } from '../api-keys.ts';
import { handleControl } from '../controls.ts';
import type { EmulatorCore } from '../core.ts';
import { errors, StripeError } from '../errors.ts';
import { fingerprintOf, type StoredResponse } from '../idempotency.ts';
import { newRequestId } from '../ids.ts';
import { expireDueAuthorizations } from '../payments/transitions.ts';
import type { RequestFault } from '../request-faults.ts';
import type { EventBatch } from '../webhooks/event-batch.ts';
import { parseForm } from './form.ts';
import { validateParams } from './params.ts';
import type { ApiCall } from './router.ts';

const MAX_BODY_BYTES = 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The key of an `Authorization` header: its Bearer token or Basic-auth user name; undefined for another scheme. */
function keyOf(authorization: string): string | undefined {
  const [scheme = '', credentials = ''] = authorization.trim().split(/\s+/, 2);
  if (scheme.toLowerCase() === 'basic') return Buffer.from(credentials, 'base64').toString('utf8').split(':')[0] ?? '';
  if (scheme.toLowerCase() === 'bearer') return credentials;
  return undefined;
}

/**
 * Stripe accepts the secret key as Bearer token or as Basic-auth user name; any test-mode key works here, but one
 * rolled with `/_emulator/keys/roll` only until its expiry.
 */
function authenticate(core: EmulatorCore, req: IncomingMessage): void {
  const authorization = header(req, 'authorization');
  if (authorization === undefined || authorization.trim() === '') throw errors.missingApiKey();
  const key = keyOf(authorization);
  if (key === undefined) throw errors.invalidApiKey(authorization);
  if (key === '') throw errors.missingApiKey();
  if (!/^(sk|rk)_test_\w+$/.test(key)) throw errors.invalidApiKey(key);
  core.apiKeys.check(key);
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function errorBody(error: StripeError): string {
  return JSON.stringify({ error: error.body }, null, 2);
}

/** What the API answers a request, before it is sent (or lost to a request fault). */
interface ApiAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
  replayed: boolean;
  /** The events the request caused; none for a replay or a request rejected before it ran. */
  events: EventBatch | null;
}

/** Builds the request listener of the emulator's HTTP server. */
export function createRequestListener(core: EmulatorCore): (req: IncomingMessage, res: ServerResponse) => void {
  const router = apiRouter();

  async function answerApi(
    req: IncomingMessage,
    url: URL,
    method: string,
    requestId: string,
    idempotencyKey: string | null,
  ): Promise<ApiAnswer> {
    let claimed = false;
    try {
      const body = await readBody(req);
      authenticate(core, req);
      expireDueAuthorizations(core);
      const matched = router.match(method, url.pathname);
      if (matched === undefined) throw errors.unrecognizedUrl(method, url.pathname);
      const raw = parseForm(method === 'POST' ? body : url.search.slice(1));
      const params = validateParams(raw, matched.route.rules);
      if (idempotencyKey !== null) {
        const admission = core.idempotency.admit(idempotencyKey, fingerprintOf(method, url.pathname, raw));
        if (admission.kind === 'replay') {
          const { response } = admission;
          const headers = {
            ...response.headers,
            'Idempotent-Replayed': 'true',
            'Original-Request': response.requestId,
          };
          return { status: response.status, body: response.body, headers, replayed: true, events: null };
        }
        claimed = true;
      }
      const events = core.batch({ requestId, idempotencyKey });
      const call: ApiCall = {
        core,
        params,
        path: matched.path,
        expand: Array.isArray(params.expand) ? params.expand.map(String) : [],
        events,
        requestId,
        idempotencyKey,
      };
      let stored: StoredResponse;
      try {
        const result = await matched.route.handle(call);
        stored = { status: 200, body: JSON.stringify(result, null, 2), requestId, headers: {} };
      } catch (error) {
        const failure = error instanceof StripeError ? error : errors.internal(String(error));
        if (!failure.storedForIdempotency) throw failure;
        stored = { status: failure.status, body: errorBody(failure), requestId, headers: failure.headers };
      }
      if (idempotencyKey !== null) core.idempotency.complete(idempotencyKey, stored);
      claimed = false;
      return { status: stored.status, body: stored.body, headers: stored.headers, replayed: false, events };
    } catch (error) {
      if (claimed && idempotencyKey !== null) core.idempotency.release(idempotencyKey);
      const failure = error instanceof StripeError ? error : errors.internal(String(error));
      return {
        status: failure.status,
        body: errorBody(failure),
        headers: failure.headers,
        replayed: false,
        events: null,
      };
    }
  }

  /** Fail a request as its fault says; returns the status the client saw (0: no answer). */
  function failRequest(res: ServerResponse, fault: RequestFault, headers: Record<string, string>): number {
    switch (fault.fault) {
      case 'server_error':
      case 'rate_limit': {
        const failure = fault.fault === 'server_error' ? errors.serverError() : errors.rateLimit();
        send(res, failure.status, errorBody(failure), { ...failure.headers, ...headers });
        return failure.status;
      }
      case 'connection_reset':
        res.destroy();
        return 0;
      case 'timeout':
        core.requestFaults.hold(res);
        return 0;
    }
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const requestId = newRequestId();
    const idempotencyKey = method === 'POST' ? (header(req, 'idempotency-key') ?? null) : null;
    const authorization = header(req, 'authorization');
    const key = authorization === undefined ? undefined : keyOf(authorization);
    const logged = core.requestLog.arrived(method, url.pathname, idempotencyKey, key ? redactKey(key) : null);
    const baseHeaders: Record<string, string> = {
      'Request-Id': requestId,
      'Stripe-Version': header(req, 'stripe-version') ?? Stripe.API_VERSION,
    };
    if (idempotencyKey !== null) baseHeaders['Idempotency-Key'] = idempotencyKey;
    const fault = core.requestFaults.take(method, url.pathname);
    if (fault !== null && !fault.afterExecuting) {
      // The request never reaches Stripe's application: nothing runs, no idempotency key is kept.
      await readBody(req).catch(() => '');
      logged(failRequest(res, fault, baseHeaders), false);
      return;
    }
    const answer = await answerApi(req, url, method, requestId, idempotencyKey);
    const events = answer.events;
    if (fault !== null) {
      // The change took effect: Stripe announces it, whatever became of the answer.
      if (events !== null) core.publish(events);
      logged(failRequest(res, fault, baseHeaders), answer.replayed);
      return;
    }
    // Webhooks go out after the response: a receiver must never hear of a state it cannot read yet.
    if (events !== null) res.once('finish', () => core.publish(events));
    send(res, answer.status, answer.body, { ...answer.headers, ...baseHeaders });
    logged(answer.status, answer.replayed);
  }

  async function handleEmulatorControl(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
  ): Promise<void> {
    const body = await readBody(req);
    const answer = handleControl(core, method, url.pathname, body);
    send(res, answer.status, JSON.stringify(answer.body, null, 2), {});
  }

  return (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const handled = url.pathname.startsWith('/_emulator')
      ? handleEmulatorControl(req, res, url, method)
      : handleApi(req, res, url, method);
    handled
      .catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        send(res, 500, JSON.stringify({ error: { type: 'api_error', message: String(error) } }), {});
      })
      // Anything but a read may have changed the state kept in the data directory.
      .finally(() => {
        if (method !== 'GET') core.changed();
      });
  };
}

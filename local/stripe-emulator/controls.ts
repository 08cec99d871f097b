/**
 * `/_emulator`: controls that are not part of Stripe's API (no key needed, JSON bodies), through which the local
 * stack and tests drive the hard cases — a reader offline, a customer's cancel, timeouts, lost connections,
 * failing API requests, webhook faults, refunds that fail or never settle — mint a real reader's one-time
 * registration code, roll an API key, read the request log, change timing, move the clock forward and reset.
 */

import { RolledAlreadyError } from './api-keys.ts';
import type { EmulatorCore } from './core.ts';
import { StripeError } from './errors.ts';
import { SIMULATED_DEVICE_TYPES } from './objects/reader.ts';
import type { Timing } from './options.ts';
import { REQUEST_FAULT_KINDS, type RequestFault } from './request-faults.ts';
import type { AuthorizationFault, CommandFault, RefundFault } from './state/store.ts';
import { REFUND_FAILURE_REASONS } from './state/store.ts';
import { customerCancel, isReaderConflict, readerState, readerView, setOnline } from './terminal/reader-machine.ts';
import { mintRegistrationCode } from './terminal/registration-codes.ts';
import type { DeliverySettings } from './webhooks/delivery.ts';

/** A control's answer. */
export interface ControlResponse {
  status: number;
  body: unknown;
}

class ControlError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const COMMAND_FAULTS: readonly CommandFault[] = ['timeout', 'timeout_after_delivery'];
const AUTHORIZATION_FAULTS: readonly AuthorizationFault[] = [
  'connection_error',
  'connection_error_after_authorization',
  'disconnect',
];
const REFUND_FAULTS: readonly RefundFault['fault'][] = ['fail', 'pending_forever'];
const TIMING_KEYS: readonly (keyof Timing)[] = [
  'authorizationDelayMs',
  'captureWindowSeconds',
  'webhookRetries',
  'webhookRetryBaseMs',
  'readerCommandLatencyMs',
];

function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ControlError(400, 'The body must be JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ControlError(400, 'The body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ControlError(400, `${field} must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ControlError(400, `${field} must be a non-negative number`);
  }
  return value;
}

function reader(core: EmulatorCore, id: string): ReturnType<typeof readerState> {
  try {
    return readerState(core, id);
  } catch (error) {
    if (error instanceof StripeError) throw new ControlError(404, `No such reader: '${id}'`);
    throw error;
  }
}

function deliverySettings(body: Record<string, unknown>): DeliverySettings {
  // The body replaces the whole setting: anything omitted goes back to its default.
  const duplicate = body.duplicate === undefined ? 0 : nonNegative(body.duplicate, 'duplicate');
  if (!Number.isInteger(duplicate)) throw new ControlError(400, 'duplicate must be an integer');
  if (body.reverse !== undefined && typeof body.reverse !== 'boolean') {
    throw new ControlError(400, 'reverse must be a boolean');
  }
  return {
    mode: body.mode === undefined ? 'deliver' : oneOf(body.mode, ['deliver', 'drop', 'hold'], 'mode'),
    duplicate,
    delayMs: body.delayMs === undefined ? 0 : nonNegative(body.delayMs, 'delayMs'),
    reverse: body.reverse === true,
  };
}

function readerControl(
  core: EmulatorCore,
  id: string,
  control: string,
  body: Record<string, unknown>,
): ControlResponse {
  const state = reader(core, id);
  switch (control) {
    case 'offline':
      return { status: 200, body: setOnline(core, state, false) };
    case 'online':
      return { status: 200, body: setOnline(core, state, true) };
    case 'customer-cancel':
      try {
        return { status: 200, body: customerCancel(core, state) };
      } catch (error) {
        if (isReaderConflict(error)) throw new ControlError(409, error.message);
        throw error;
      }
    case 'next-command':
      state.commandFault = oneOf(body.fault, COMMAND_FAULTS, 'fault');
      return { status: 200, body: { reader: readerView(core, state), nextCommand: state.commandFault } };
    case 'next-authorization':
      state.authorizationFault = oneOf(body.fault, AUTHORIZATION_FAULTS, 'fault');
      return { status: 200, body: { reader: readerView(core, state), nextAuthorization: state.authorizationFault } };
    default:
      throw new ControlError(404, `Unknown reader control: ${control}`);
  }
}

const REQUEST_FAULT_FIELDS = ['method', 'path', 'fault', 'count', 'afterExecuting'];
const API_METHODS = ['GET', 'POST', 'DELETE'] as const;

/** A request fault from its control body; `count` defaults to 1 and `afterExecuting` to false. */
function requestFault(body: Record<string, unknown>): RequestFault {
  const unknown = Object.keys(body).filter((key) => !REQUEST_FAULT_FIELDS.includes(key));
  if (unknown.length > 0) throw new ControlError(400, `Unknown field: ${unknown.join(', ')}`);
  const method = oneOf(
    typeof body.method === 'string' ? body.method.toUpperCase() : body.method,
    API_METHODS,
    'method',
  );
  const path = body.path;
  if (typeof path !== 'string' || !/^\/v1(\/|\*$|$)/.test(path)) {
    throw new ControlError(400, 'path must be an API path under /v1, e.g. /v1/payment_intents or /v1/terminal/*');
  }
  if (path.slice(0, -1).includes('*')) throw new ControlError(400, "path may hold one '*', at its end");
  const count = body.count === undefined ? 1 : body.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new ControlError(400, 'count must be a positive integer');
  }
  if (body.afterExecuting !== undefined && typeof body.afterExecuting !== 'boolean') {
    throw new ControlError(400, 'afterExecuting must be a boolean');
  }
  return {
    method,
    path,
    fault: oneOf(body.fault, REQUEST_FAULT_KINDS, 'fault'),
    count,
    afterExecuting: body.afterExecuting === true,
  };
}

/**
 * `POST /_emulator/refunds/next {"fault": "fail" | "pending_forever", "failureReason"?}`: arm a fault for the next
 * card refund, replacing any armed before. `failureReason` (default `declined`) goes with `fail` only.
 */
function refundFault(body: Record<string, unknown>): RefundFault {
  const unknown = Object.keys(body).filter((key) => key !== 'fault' && key !== 'failureReason');
  if (unknown.length > 0) throw new ControlError(400, `Unknown field: ${unknown.join(', ')}`);
  const fault = oneOf(body.fault, REFUND_FAULTS, 'fault');
  if (fault === 'pending_forever') {
    if (body.failureReason !== undefined) {
      throw new ControlError(400, 'failureReason goes with fault "fail" only');
    }
    return { fault };
  }
  const failureReason =
    body.failureReason === undefined ? 'declined' : oneOf(body.failureReason, REFUND_FAILURE_REASONS, 'failureReason');
  return { fault, failureReason };
}

/**
 * `POST /_emulator/registration_codes {"deviceType"?}`: mint a one-time registration code, as a real reader shows
 * one, for a reader of `deviceType` (default `simulated_wisepos_e`).
 */
function registrationCode(core: EmulatorCore, body: Record<string, unknown>): ControlResponse {
  const unknown = Object.keys(body).filter((key) => key !== 'deviceType');
  if (unknown.length > 0) throw new ControlError(400, `Unknown field: ${unknown.join(', ')}`);
  const deviceType =
    body.deviceType === undefined
      ? 'simulated_wisepos_e'
      : oneOf(body.deviceType, SIMULATED_DEVICE_TYPES, 'deviceType');
  const minted = mintRegistrationCode(core.store, deviceType, core.clock.now());
  return { status: 200, body: { registrationCode: minted.code, deviceType: minted.deviceType } };
}

/**
 * `POST /_emulator/keys/roll {"key": "sk_test_…", "expireOldAfterSeconds"?: n}`: roll a secret key as the Dashboard
 * does: answers a new key, and `key` is refused once `expireOldAfterSeconds` (default 0: at once) have passed on the
 * emulator's clock.
 */
function rollKey(core: EmulatorCore, body: Record<string, unknown>): ControlResponse {
  const unknown = Object.keys(body).filter((key) => key !== 'key' && key !== 'expireOldAfterSeconds');
  if (unknown.length > 0) throw new ControlError(400, `Unknown field: ${unknown.join(', ')}`);
  if (typeof body.key !== 'string' || !/^sk_test_\w+$/.test(body.key)) {
    throw new ControlError(400, 'key must be the test secret key to roll (sk_test_…)');
  }
  const expireAfter =
    body.expireOldAfterSeconds === undefined ? 0 : nonNegative(body.expireOldAfterSeconds, 'expireOldAfterSeconds');
  try {
    return { status: 200, body: core.apiKeys.roll(body.key, expireAfter) };
  } catch (error) {
    if (error instanceof RolledAlreadyError) throw new ControlError(409, error.message);
    throw error;
  }
}

/** `POST /_emulator/clock/advance {"seconds": n}`: move the clock forward, running what falls due on the way. */
function advanceClock(core: EmulatorCore, body: Record<string, unknown>): ControlResponse {
  const unknown = Object.keys(body).filter((key) => key !== 'seconds');
  if (unknown.length > 0) throw new ControlError(400, `Unknown field: ${unknown.join(', ')}`);
  const seconds = nonNegative(body.seconds, 'seconds');
  return { status: 200, body: core.clock.advance(seconds) };
}

function configControl(core: EmulatorCore, body: Record<string, unknown>): ControlResponse {
  const unknown = Object.keys(body).filter((key) => !(TIMING_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new ControlError(400, `Unknown setting: ${unknown.join(', ')}`);
  const changes: Partial<Timing> = {};
  for (const key of TIMING_KEYS) {
    if (body[key] !== undefined) changes[key] = nonNegative(body[key], key);
  }
  Object.assign(core.timing, changes);
  return { status: 200, body: { ...core.timing } };
}

function route(core: EmulatorCore, method: string, path: string, body: Record<string, unknown>): ControlResponse {
  const parts = path.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const [first, second, third] = parts;
  if (method === 'GET' && parts.length === 1 && first === 'requests') {
    return { status: 200, body: { data: core.requestLog.list() } };
  }
  if (method === 'GET' && parts.length === 1 && first === 'config') return { status: 200, body: { ...core.timing } };
  if (method === 'GET' && parts.length === 1 && first === 'seeded') return { status: 200, body: core.seeded };
  if (method === 'GET' && parts.length === 1 && first === 'clock') return { status: 200, body: core.clock.state() };
  if (method === 'GET' && parts.length === 1 && first === 'keys')
    return { status: 200, body: { data: core.apiKeys.list() } };
  if (method === 'GET' && parts.length === 1 && first === 'webhooks') {
    const { settings, heldCount, attempts } = core.webhooks;
    return { status: 200, body: { ...settings, held: heldCount, attempts } };
  }
  if (parts.length === 1 && first === 'faults') {
    if (method === 'GET') return { status: 200, body: { data: core.requestFaults.list() } };
    if (method === 'DELETE') return { status: 200, body: { cleared: core.requestFaults.clear() } };
  }
  if (method !== 'POST') throw new ControlError(404, `Unknown control: ${method} ${path}`);
  if (first === 'readers' && second !== undefined && third !== undefined && parts.length === 3) {
    return readerControl(core, second, third, body);
  }
  if (first === 'webhooks' && parts.length === 1) {
    core.webhooks.settings = deliverySettings(body);
    return { status: 200, body: { ...core.webhooks.settings } };
  }
  if (first === 'webhooks' && second === 'release' && parts.length === 2) {
    return { status: 200, body: { released: core.webhooks.release() } };
  }
  if (first === 'events' && second !== undefined && third === 'resend' && parts.length === 3) {
    const event = core.store.events.get(second);
    if (event === undefined) throw new ControlError(404, `No such event: '${second}'`);
    core.webhooks.resend(event);
    return { status: 200, body: { resent: event.id } };
  }
  if (first === 'faults' && parts.length === 1) {
    const fault = requestFault(body);
    core.requestFaults.arm(fault);
    return { status: 200, body: fault };
  }
  if (first === 'refunds' && second === 'next' && parts.length === 2) {
    core.store.nextRefundFault = refundFault(body);
    return { status: 200, body: { nextRefund: core.store.nextRefundFault } };
  }
  if (first === 'registration_codes' && parts.length === 1) return registrationCode(core, body);
  if (first === 'config' && parts.length === 1) return configControl(core, body);
  if (first === 'clock' && second === 'advance' && parts.length === 2) return advanceClock(core, body);
  if (first === 'keys' && second === 'roll' && parts.length === 2) return rollKey(core, body);
  if (first === 'reset' && parts.length === 1) {
    core.reset();
    return { status: 200, body: { reset: true, seeded: core.seeded } };
  }
  throw new ControlError(404, `Unknown control: ${method} ${path}`);
}

/** Answer one `/_emulator` request. */
export function handleControl(core: EmulatorCore, method: string, path: string, rawBody: string): ControlResponse {
  try {
    return route(core, method, path, method === 'POST' ? parseBody(rawBody) : {});
  } catch (error) {
    if (error instanceof ControlError) return { status: error.status, body: { error: { message: error.message } } };
    throw error;
  }
}

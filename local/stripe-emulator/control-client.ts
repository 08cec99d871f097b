/**
 * A client for the emulator's `/_emulator` controls (faults, refund faults, registration codes, key rolls, timing,
 * webhooks, the request log, the clock): the one place that knows how they are called, for the local stack, this project's tests
 * and benchmarks, and a POS team's own tests.
 */
import type { ClockState } from './clock.ts';
import type { SimulatedDeviceType } from './options.ts';
import type { RefundFailureReason, RefundFault } from './state/store.ts';

export type { ClockState } from './clock.ts';
export type { SimulatedDeviceType } from './options.ts';
export type { RefundFailureReason, RefundFault } from './state/store.ts';

/**
 * What `nextRefund` arms: `fail`, the next card refund to settle fails with `failureReason` (default `declined`);
 * `pending_forever`, the next card refund created stays `pending` and never settles.
 */
export type NextRefundFault = { fault: 'fail'; failureReason?: RefundFailureReason } | { fault: 'pending_forever' };

/** What `keys/roll` answers: the new key, and the rolled one (redacted) with the unix second it is refused from. */
export interface RolledKeyAnswer {
  secretKey: string;
  rolledKey: string;
  expiresAt: number;
}

/** A control's answer: its HTTP status and its JSON body (undefined when empty). */
export interface ControlAnswer<T> {
  status: number;
  body: T;
}

export interface ControlOptions {
  /** POST (the default) sends `body` as JSON; GET and DELETE send none. */
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  /** Which statuses are answers rather than failures (default: 2xx). */
  accept?: (status: number) => boolean;
}

export interface EmulatorControls {
  /** Call a control; rejects with the status and body when `accept` refuses the status. */
  send<T = unknown>(path: string, options?: ControlOptions): Promise<ControlAnswer<T>>;
  /** POST a control with a JSON body (`{}` by default) and resolve with its JSON answer. */
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  /** GET a control's JSON answer. */
  get<T = unknown>(path: string): Promise<T>;
  /**
   * Roll the test secret key `key` (`POST /_emulator/keys/roll`): resolves with its successor; `key` is refused (401
   * `api_key_expired`) once `expireOldAfterSeconds` (default 0) have passed on the emulator's clock.
   */
  rollKey(key: string, expireOldAfterSeconds?: number): Promise<RolledKeyAnswer>;
  /** Move the emulator's clock `seconds` forward (running what falls due) and resolve with the clock after it. */
  advanceClock(seconds: number): Promise<ClockState>;
  /** The emulator's clock now. */
  clock(): Promise<ClockState>;
  /** Arm a fault for the next card refund (replacing any armed before) and resolve with what was armed. */
  nextRefund(fault: NextRefundFault): Promise<RefundFault>;
  /**
   * Mint a one-time registration code (three words, as a real reader shows) for a reader of `deviceType` (default
   * `simulated_wisepos_e`): `POST /v1/terminal/readers` registers one reader with it, then refuses it as used.
   */
  registrationCode(deviceType?: SimulatedDeviceType): Promise<string>;
}

/** The controls of the emulator at `baseUrl` (`http://127.0.0.1:12111`). A path may start with `/_emulator/`. */
export function emulatorControls(baseUrl: string): EmulatorControls {
  const send = async <T>(path: string, options: ControlOptions = {}): Promise<ControlAnswer<T>> => {
    const method = options.method ?? 'POST';
    const control = path.replace(/^\/?(_emulator\/?)?/, '');
    const response = await fetch(`${baseUrl}/_emulator/${control}`, {
      method,
      ...(method === 'POST'
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(options.body ?? {}) }
        : {}),
    });
    const text = await response.text();
    const accept = options.accept ?? ((status: number) => status >= 200 && status < 300);
    if (!accept(response.status)) throw new Error(`emulator ${control}: ${response.status} ${text}`);
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  const post = async <T>(path: string, body: unknown = {}): Promise<T> => (await send<T>(path, { body })).body;
  const get = async <T>(path: string): Promise<T> => (await send<T>(path, { method: 'GET' })).body;
  return {
    send,
    post,
    get,
    rollKey: (key, expireOldAfterSeconds) =>
      post<RolledKeyAnswer>('keys/roll', {
        key,
        ...(expireOldAfterSeconds === undefined ? {} : { expireOldAfterSeconds }),
      }),
    advanceClock: (seconds) => post<ClockState>('clock/advance', { seconds }),
    clock: () => get<ClockState>('clock'),
    nextRefund: async (fault) => (await post<{ nextRefund: RefundFault }>('refunds/next', fault)).nextRefund,
    registrationCode: async (deviceType) =>
      (
        await post<{ registrationCode: string; deviceType: SimulatedDeviceType }>(
          'registration_codes',
          deviceType === undefined ? {} : { deviceType },
        )
      ).registrationCode,
  };
}

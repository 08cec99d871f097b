/** Start-up options of the emulator, its run-time timing knobs, and how `npm run emulator` reads them from the environment. */
import type { EmulatorClock } from './clock.ts';

/** Registration codes of Stripe's simulated readers. */
export type SimulatedRegistrationCode = 'simulated-wpe' | 'simulated-s700' | 'simulated-s710';

/** The `device_type` of Stripe's simulated readers. */
export type SimulatedDeviceType = 'simulated_wisepos_e' | 'simulated_stripe_s700' | 'simulated_stripe_s710';

/** A location to seed at start-up, with its simulated readers. */
export interface SeedLocation {
  displayName: string;
  readers: { label: string; registrationCode?: SimulatedRegistrationCode }[];
}

/** The seed: `true` (default) one location with two simulated readers, `false` nothing, or these locations. */
export type SeedOption = boolean | { locations: SeedLocation[] };

/** Timing knobs, changeable at run time through `POST /_emulator/config`. */
export interface Timing {
  /** From `present_payment_method` (or `confirm_payment_intent`) to the authorization's outcome. */
  authorizationDelayMs: number;
  /** How long an uncaptured authorization lasts before it expires. */
  captureWindowSeconds: number;
  /** Redeliveries after a failed webhook delivery. */
  webhookRetries: number;
  /** First redelivery delay, doubled for each further one. */
  webhookRetryBaseMs: number;
  /**
   * How long a reader command takes to reach the reader and be acknowledged. The reader is locked meanwhile,
   * so a second command sent at the same moment is `terminal_reader_busy`. 0 (default) answers at once.
   */
  readerCommandLatencyMs: number;
  /** From a card refund's creation (`pending`) to its outcome (`succeeded`, or `failed` when armed). */
  refundDelayMs: number;
}

/** Options of `startEmulator`; every one has a default. */
export interface EmulatorOptions extends Partial<Timing> {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; 127.0.0.1 by default. */
  host?: string;
  /** A webhook endpoint registered at start-up, subscribed to every event. */
  webhookUrl?: string;
  /** Its signing secret (`whsec_…`); generated when a url is given without one. */
  webhookSecret?: string;
  /** What to create at start-up (and again on `/_emulator/reset`). */
  seed?: SeedOption;
  /**
   * Keep the state in `state.json` under this directory: loaded at start, saved after every change and on
   * close, so a restarted emulator goes on where it stopped. In memory only when unset.
   */
  dataDir?: string;
  /**
   * The clock to run on; a new one (wall time) by default. An in-process stack passes the clock it also gives its
   * Lambda handlers, so that advancing it moves both. With `dataDir`, a saved clock moves it forward on start.
   */
  clock?: EmulatorClock;
}

export const DEFAULT_TIMING: Timing = {
  authorizationDelayMs: 500,
  captureWindowSeconds: 2 * 24 * 60 * 60,
  webhookRetries: 3,
  webhookRetryBaseMs: 1000,
  readerCommandLatencyMs: 0,
  refundDelayMs: 500,
};

/** The default port of `npm run emulator`. */
export const DEFAULT_PORT = 12111;

/** Timing from options, defaults filled in. */
export function timingFrom(options: Partial<Timing>): Timing {
  return {
    authorizationDelayMs: options.authorizationDelayMs ?? DEFAULT_TIMING.authorizationDelayMs,
    captureWindowSeconds: options.captureWindowSeconds ?? DEFAULT_TIMING.captureWindowSeconds,
    webhookRetries: options.webhookRetries ?? DEFAULT_TIMING.webhookRetries,
    webhookRetryBaseMs: options.webhookRetryBaseMs ?? DEFAULT_TIMING.webhookRetryBaseMs,
    readerCommandLatencyMs: options.readerCommandLatencyMs ?? DEFAULT_TIMING.readerCommandLatencyMs,
    refundDelayMs: options.refundDelayMs ?? DEFAULT_TIMING.refundDelayMs,
  };
}

const TIMING_ENV: Record<keyof Timing, string> = {
  authorizationDelayMs: 'EMULATOR_AUTHORIZATION_DELAY_MS',
  captureWindowSeconds: 'EMULATOR_CAPTURE_WINDOW_SECONDS',
  webhookRetries: 'EMULATOR_WEBHOOK_RETRIES',
  webhookRetryBaseMs: 'EMULATOR_WEBHOOK_RETRY_BASE_MS',
  readerCommandLatencyMs: 'EMULATOR_READER_COMMAND_LATENCY_MS',
  refundDelayMs: 'EMULATOR_REFUND_DELAY_MS',
};

function nonNegativeNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number, got '${raw}'`);
  }
  return value;
}

/**
 * Options from the environment: `STRIPE_EMULATOR_PORT` (default 12111), `EMULATOR_WEBHOOK_URL`,
 * `EMULATOR_WEBHOOK_SECRET`, `EMULATOR_HOST`, `EMULATOR_DATA_DIR` and the `EMULATOR_*` timing knobs. Throws on a
 * malformed value.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv): EmulatorOptions {
  const options: EmulatorOptions = {
    port: env.STRIPE_EMULATOR_PORT ? nonNegativeNumber('STRIPE_EMULATOR_PORT', env.STRIPE_EMULATOR_PORT) : DEFAULT_PORT,
  };
  if (env.EMULATOR_HOST) options.host = env.EMULATOR_HOST;
  if (env.EMULATOR_WEBHOOK_URL) options.webhookUrl = env.EMULATOR_WEBHOOK_URL;
  if (env.EMULATOR_WEBHOOK_SECRET) options.webhookSecret = env.EMULATOR_WEBHOOK_SECRET;
  if (env.EMULATOR_DATA_DIR) options.dataDir = env.EMULATOR_DATA_DIR;
  for (const [knob, name] of Object.entries(TIMING_ENV) as [keyof Timing, string][]) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') options[knob] = nonNegativeNumber(name, raw);
  }
  return options;
}

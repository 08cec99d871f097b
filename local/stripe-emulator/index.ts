/**
 * The Stripe Terminal emulator, started in-process: `startEmulator()` listens on a free port of 127.0.0.1 and
 * resolves with its URL, the seeded location and reader ids, and `close()`. Point the SDK at it with
 * `new Stripe('sk_test_…', { host: '127.0.0.1', port: emulator.port, protocol: 'http' })`.
 * The contract it implements is `spec/stripe-emulator.md`; `README.md` beside this file lists its controls.
 * `emulator.clock` is its virtual clock (`POST /_emulator/clock/advance` moves it too).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatorClock } from './clock.ts';
import { EmulatorCore, type SeededState } from './core.ts';
import { createRequestListener } from './http/server.ts';
import { newWebhookSecret } from './objects/webhook-endpoint.ts';
import { type EmulatorOptions, timingFrom } from './options.ts';
import { StateFile } from './state/persistence.ts';

export { type Clock, type ClockState, type ClockTimer, EmulatorClock } from './clock.ts';
export {
  type ControlAnswer,
  type ControlOptions,
  type EmulatorControls,
  emulatorControls,
  type NextRefundFault,
  type RolledKeyAnswer,
  type SimulatedDeviceType,
} from './control-client.ts';
export type { SeededState } from './core.ts';
export { DEFAULT_PORT, type EmulatorOptions, optionsFromEnv, type SeedLocation, type Timing } from './options.ts';

/** A running emulator. */
export interface Emulator {
  /** Base URL, e.g. `http://127.0.0.1:12111`. */
  url: string;
  port: number;
  /** Signing secret of the start-up webhook endpoint, when a `webhookUrl` was given. */
  webhookSecret?: string;
  /**
   * Locations and readers created at start-up; the same ids come back after `/_emulator/reset`. Seeded ones deleted
   * through the API (and kept deleted by `dataDir` across a restart) are left out until a reset brings them back.
   */
  readonly seeded: SeededState;
  /** The emulator's clock: `now()` in epoch ms, `advance(seconds)`; the one given in the options, when one was. */
  clock: EmulatorClock;
  /** Stop listening, drop open connections, stop every timer and webhook delivery; save the state (`dataDir`). */
  close(): Promise<void>;
}

/**
 * Start an emulator; rejects (e.g. `EADDRINUSE`) when it cannot listen, or when `dataDir` holds a state file it
 * cannot read.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const webhook =
    options.webhookUrl === undefined
      ? null
      : { url: options.webhookUrl, secret: options.webhookSecret ?? newWebhookSecret() };
  const stateFile = options.dataDir === undefined ? null : new StateFile(options.dataDir);
  const core = new EmulatorCore(
    { timing: timingFrom(options), seed: options.seed ?? true, webhook },
    stateFile?.read() ?? null,
    options.clock ?? new EmulatorClock(),
  );
  const server = createServer(createRequestListener(core));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      core.shutdown();
      reject(error);
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Only an emulator that is listening saves: one that failed to start must not overwrite a running one's file.
  if (stateFile !== null) core.keepStateIn(stateFile);
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const emulator: Emulator = {
    url: `http://${urlHost}:${port}`,
    port,
    get seeded() {
      return core.seeded;
    },
    clock: core.clock,
    close: () =>
      new Promise((resolve) => {
        core.shutdown();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  if (webhook !== null) emulator.webhookSecret = webhook.secret;
  return emulator;
}

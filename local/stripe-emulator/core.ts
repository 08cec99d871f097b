/**
 * The emulator's runtime, shared by the HTTP API and the `/_emulator` controls: the object store, the clock, the
 * timing knobs, timers, webhook delivery, idempotency keys, the request log and armed request faults; and its
 * start-up state (seeded locations and readers, the start-up webhook endpoint), to which `reset()` returns.
 */

import { ApiKeys } from './api-keys.ts';
import { EmulatorClock } from './clock.ts';
import { IdempotencyStore } from './idempotency.ts';
import { stableId } from './ids.ts';
import { buildConfiguration } from './objects/configuration.ts';
import type { EventCause } from './objects/event.ts';
import { buildLocation, SEED_ADDRESS } from './objects/location.ts';
import { buildReader, SIMULATED_READERS } from './objects/reader.ts';
import { buildWebhookEndpoint } from './objects/webhook-endpoint.ts';
import { DEFAULT_TIMING, type SeedLocation, type SeedOption, type Timing } from './options.ts';
import { RequestFaults } from './request-faults.ts';
import { RequestLog } from './request-log.ts';
import { captureState, restoreState, type SavedState, type StateFile } from './state/persistence.ts';
import { Store } from './state/store.ts';
import { Timers } from './state/timers.ts';
import { WebhookDelivery } from './webhooks/delivery.ts';
import { EventBatch } from './webhooks/event-batch.ts';

/** What was seeded, as `startEmulator` reports it. */
export interface SeededState {
  locations: { id: string; displayName: string; readers: { id: string; label: string }[] }[];
}

/** The seed used when none is given: one location, two simulated readers. */
export const DEFAULT_SEED: SeedLocation[] = [
  {
    displayName: 'Emulator Store',
    readers: [
      { label: 'Register 1', registrationCode: 'simulated-wpe' },
      { label: 'Register 2', registrationCode: 'simulated-s700' },
    ],
  },
];

/** Start-up state the core returns to on reset. */
export interface StartupState {
  timing: Timing;
  seed: SeedOption;
  webhook: { url: string; secret: string } | null;
}

/** The emulator runtime. */
export class EmulatorCore {
  readonly store = new Store();
  /** The emulator's time; `reset()` leaves it as it is, since time never goes back. */
  readonly clock: EmulatorClock;
  readonly timers: Timers;
  readonly timing: Timing;
  readonly webhooks: WebhookDelivery;
  readonly idempotency: IdempotencyStore;
  readonly requestLog: RequestLog;
  readonly requestFaults = new RequestFaults();
  /** Keys rolled with `/_emulator/keys/roll`, refused once expired. */
  readonly apiKeys: ApiKeys;
  seeded: SeededState = { locations: [] };
  /** The id of the start-up webhook endpoint, derived from its URL; null without one. */
  readonly startupEndpointId: string | null;
  private readonly startup: StartupState;
  private stateFile: StateFile | null = null;

  /**
   * With `saved`, the core goes on from a state an earlier run saved (its clock included); the seed only adds what
   * it lacks. `clock` may be shared with others (the local stack's Lambda handlers), to move together.
   */
  constructor(startup: StartupState, saved: SavedState | null = null, clock = new EmulatorClock()) {
    this.startup = startup;
    this.clock = clock;
    this.timers = new Timers(clock);
    this.idempotency = new IdempotencyStore(clock);
    this.requestLog = new RequestLog(clock);
    this.apiKeys = new ApiKeys(clock);
    this.timing = { ...DEFAULT_TIMING, ...startup.timing };
    this.webhooks = new WebhookDelivery(this.store, this.timing, this.timers, clock);
    this.startupEndpointId = startup.webhook === null ? null : stableId('we', startup.webhook.url, 24);
    if (saved !== null) restoreState(this, saved);
    this.seed();
  }

  /** Save the state to `file` now, and again after every change until shutdown. */
  keepStateIn(file: StateFile): void {
    this.stateFile = file;
    file.keep(() => captureState(this));
  }

  /** Note a change of state, to be saved (when the core keeps its state in a file). */
  changed(): void {
    this.stateFile?.changed();
  }

  /** A batch for the events of one change. */
  batch(cause: EventCause = { requestId: null, idempotencyKey: null }): EventBatch {
    return new EventBatch(this.store, cause, this.clock);
  }

  /** Send a batch's events to the webhook endpoints (in the background). */
  publish(batch: EventBatch): void {
    this.webhooks.deliver(batch.events);
    this.changed();
  }

  /**
   * Back to the start-up state: objects, faults and held requests, idempotency keys, rolled API keys, log, delivery
   * settings and timing. The clock stays where it is: what was dated before must not lie in the future.
   */
  reset(): void {
    this.timers.clearAll();
    this.webhooks.reset();
    this.idempotency.clear();
    this.requestLog.clear();
    this.apiKeys.clear();
    this.requestFaults.clear();
    this.requestFaults.release();
    this.store.paymentIntents.clear();
    this.store.charges.clear();
    this.store.refunds.clear();
    this.store.refundTimers.clear();
    this.store.nextRefundFault = null;
    this.store.refundsPendingForever.clear();
    this.store.paymentMethods.clear();
    this.store.locations.clear();
    this.store.configurations.clear();
    this.store.readers.clear();
    this.store.registrationCodes.clear();
    this.store.deleted.clear();
    this.store.events.clear();
    this.store.webhookEndpoints.clear();
    this.store.authorizationExpiry.clear();
    Object.assign(this.timing, DEFAULT_TIMING, this.startup.timing);
    this.seed();
  }

  /** Stop every timer and delivery, end the requests held open by `timeout` faults, and save the state. */
  shutdown(): void {
    this.timers.clearAll();
    this.webhooks.reset();
    this.requestFaults.release();
    this.stateFile?.stop();
    this.stateFile = null;
  }

  /**
   * The start-up endpoint, the account default Terminal Configuration (Stripe provides one on every account, seeded
   * or not), and the seeded locations and readers the store lacks: all of them on a fresh start or a reset; after a
   * restart from a saved state, the saved ones keep their state (a reader offline stays so) and those deleted through
   * the API stay deleted (and out of `seeded`).
   */
  private seed(): void {
    const defaultConfiguration = stableId('tmc', 'account-default');
    if (!this.store.configurations.has(defaultConfiguration)) {
      this.store.configurations.set(
        defaultConfiguration,
        buildConfiguration({ id: defaultConfiguration, name: null, isAccountDefault: true }),
      );
    }
    const { webhook } = this.startup;
    if (webhook !== null && this.startupEndpointId !== null) {
      const endpoint = buildWebhookEndpoint({
        id: this.startupEndpointId,
        now: this.clock.now(),
        url: webhook.url,
        enabledEvents: ['*'],
        apiVersion: null,
        description: 'Start-up endpoint',
        metadata: {},
      });
      this.store.webhookEndpoints.set(endpoint.id, { endpoint, secret: webhook.secret });
    }
    const seed = this.startup.seed;
    const locations = seed === true ? DEFAULT_SEED : seed === false ? [] : seed.locations;
    const { store } = this;
    const now = this.clock.now();
    this.seeded = { locations: [] };
    locations.forEach((seedLocation, locationIndex) => {
      const locationId = stableId('tml', `location:${locationIndex}:${seedLocation.displayName}`);
      // A seeded location or reader deleted through the API stays deleted after a restart.
      if (store.deleted.has(locationId)) return;
      if (!store.locations.has(locationId)) {
        store.locations.set(locationId, buildLocation(locationId, seedLocation.displayName, { ...SEED_ADDRESS }));
      }
      const readers: { id: string; label: string }[] = [];
      seedLocation.readers.forEach((seedReader, readerIndex) => {
        const key = `reader:${locationIndex}:${readerIndex}:${seedReader.label}`;
        const id = stableId('tmr', key);
        if (store.deleted.has(id)) return;
        readers.push({ id, label: seedReader.label });
        if (store.readers.has(id)) return;
        const registrationCode = seedReader.registrationCode ?? 'simulated-wpe';
        const reader = buildReader({
          id,
          now,
          registrationCode,
          deviceType: SIMULATED_READERS[registrationCode].deviceType,
          label: seedReader.label,
          location: locationId,
          metadata: {},
          serialNumber: stableUuid(key),
        });
        store.readers.set(id, {
          reader,
          online: true,
          commandFault: null,
          authorizationFault: null,
          commandInFlight: false,
          payment: null,
        });
      });
      this.seeded.locations.push({ id: locationId, displayName: seedLocation.displayName, readers });
    });
  }
}

function stableUuid(seed: string): string {
  const hex = stableId('x', seed, 32).slice(2);
  const digits = [...hex].map((char) => (char.charCodeAt(0) % 16).toString(16)).join('');
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-4${digits.slice(13, 16)}-a${digits.slice(17, 20)}-${digits.slice(20, 32)}`;
}

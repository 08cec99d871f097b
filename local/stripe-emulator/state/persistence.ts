/**
 * The emulator's state kept in a file (`<dataDir>/state.json`), so that a restarted emulator — and a restarted
 * local stack, whose DynamoDB Local keeps its data too — still knows the PaymentIntents, charges, readers and
 * keys the rest of the system refers to. What is saved is the object store (with the fault armed for the next
 * refund and the minted registration codes), the idempotency keys and the clock's offset (a restarted emulator must not go back in time); timers
 * are started again on load, and the per-run controls (request log, request faults, webhook delivery settings and
 * retries, timing) start afresh.
 *
 * Writes are cheap enough to follow every change: changes within a short window go out in one write, and a
 * write replaces the file atomically (a temporary file renamed over it), so a process killed mid-write leaves
 * the previous state, never half of one. Closing the emulator (SIGINT, SIGTERM) writes what is pending.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Stripe from 'stripe';
import type { SavedClock } from '../clock.ts';
import type { EmulatorCore } from '../core.ts';
import type { SavedKey } from '../idempotency.ts';
import { scheduleRefund } from '../payments/refunds.ts';
import { scheduleExpiry } from '../payments/transitions.ts';
import { resumePayment } from '../terminal/reader-machine.ts';
import type { EndpointState, ReaderState, RefundFault, RegistrationCode, SavedReaderPayment } from './store.ts';

const STATE_VERSION = 1;
/** Changes within this window are written together. */
const SAVE_DELAY_MS = 200;

/** A simulated reader as saved: its device state without timers, and no command in flight. */
export interface SavedReader extends Omit<ReaderState, 'payment' | 'commandInFlight'> {
  payment: SavedReaderPayment | null;
}

/** The content of the state file. Lists keep creation order, as the store's maps do. */
export interface SavedState {
  version: typeof STATE_VERSION;
  paymentIntents: Stripe.PaymentIntent[];
  charges: Stripe.Charge[];
  /** Absent from files saved before the emulator had refunds. */
  refunds?: Stripe.Refund[];
  /** The fault armed for the next card refund; absent from files saved before the emulator had one. */
  nextRefundFault?: RefundFault | null;
  /** Refunds that stay `pending` for good (`pending_forever`). */
  refundsPendingForever?: string[];
  paymentMethods: Stripe.PaymentMethod[];
  locations: Stripe.Terminal.Location[];
  /** Terminal Configurations; absent from files saved before the emulator had them. */
  configurations?: Stripe.Terminal.Configuration[];
  readers: SavedReader[];
  /** One-time registration codes, used or not; absent from files saved before the emulator minted them. */
  registrationCodes?: RegistrationCode[];
  /** Readers and locations deleted through the API; absent from files saved before they could be deleted. */
  deleted?: string[];
  events: Stripe.Event[];
  webhookEndpoints: EndpointState[];
  /** The start-up endpoint of the run that saved; the next run replaces it with its own (its URL and secret). */
  startupEndpoint: string | null;
  /** Uncaptured authorizations and when they expire (epoch ms on the emulator's clock). */
  authorizationExpiry: { paymentIntent: string; expiresAt: number }[];
  idempotencyKeys: SavedKey[];
  /** How far the clock was advanced; absent from files saved before the emulator had a clock. */
  clock?: SavedClock;
}

/** Everything the core holds that outlives a restart. */
export function captureState(core: EmulatorCore): SavedState {
  const { store } = core;
  return {
    version: STATE_VERSION,
    paymentIntents: [...store.paymentIntents.values()],
    charges: [...store.charges.values()],
    refunds: [...store.refunds.values()],
    nextRefundFault: store.nextRefundFault,
    refundsPendingForever: [...store.refundsPendingForever],
    paymentMethods: [...store.paymentMethods.values()],
    locations: [...store.locations.values()],
    configurations: [...store.configurations.values()],
    readers: [...store.readers.values()].map(({ commandInFlight: _inFlight, payment, ...reader }) => ({
      ...reader,
      payment: payment === null ? null : withoutTimer(payment),
    })),
    registrationCodes: [...store.registrationCodes.values()],
    deleted: [...store.deleted],
    events: [...store.events.values()],
    webhookEndpoints: [...store.webhookEndpoints.values()],
    startupEndpoint: core.startupEndpointId,
    authorizationExpiry: [...store.authorizationExpiry].map(([paymentIntent, { expiresAt }]) => ({
      paymentIntent,
      expiresAt,
    })),
    idempotencyKeys: core.idempotency.saved(),
    clock: core.clock.saved(),
  };
}

function withoutTimer(payment: NonNullable<ReaderState['payment']>): SavedReaderPayment {
  if (payment.stage !== 'reading' && payment.stage !== 'authorizing') return payment;
  const { timer: _timer, ...saved } = payment;
  return saved;
}

/**
 * Load a saved state into an empty core, starting its timers again: an authorization whose capture window
 * passed while the emulator was down expires at once; a card that was being authorized is authorized again.
 * The clock first goes on from where it was, so deadlines are measured on the time they were set in.
 */
export function restoreState(core: EmulatorCore, saved: SavedState): void {
  const { store } = core;
  if (saved.clock !== undefined) core.clock.restore(saved.clock);
  for (const paymentIntent of saved.paymentIntents) store.paymentIntents.set(paymentIntent.id, paymentIntent);
  for (const charge of saved.charges) store.charges.set(charge.id, charge);
  store.nextRefundFault = saved.nextRefundFault ?? null;
  for (const id of saved.refundsPendingForever ?? []) store.refundsPendingForever.add(id);
  for (const refund of saved.refunds ?? []) {
    store.refunds.set(refund.id, refund);
    // A refund still pending when the emulator stopped settles as if just created, unless it never settles.
    if (refund.status === 'pending' && !store.refundsPendingForever.has(refund.id)) {
      scheduleRefund(core, refund.id, core.timing.refundDelayMs);
    }
  }
  for (const paymentMethod of saved.paymentMethods) store.paymentMethods.set(paymentMethod.id, paymentMethod);
  for (const location of saved.locations) store.locations.set(location.id, location);
  for (const configuration of saved.configurations ?? []) store.configurations.set(configuration.id, configuration);
  for (const id of saved.deleted ?? []) store.deleted.add(id);
  for (const event of saved.events) store.events.set(event.id, event);
  for (const endpoint of saved.webhookEndpoints) {
    if (endpoint.endpoint.id !== saved.startupEndpoint) store.webhookEndpoints.set(endpoint.endpoint.id, endpoint);
  }
  for (const { payment, ...reader } of saved.readers) {
    const state: ReaderState = { ...reader, commandInFlight: false, payment: null };
    if (payment !== null) state.payment = resumePayment(core, state, payment);
    store.readers.set(state.reader.id, state);
  }
  for (const code of saved.registrationCodes ?? []) store.registrationCodes.set(code.code, code);
  for (const { paymentIntent, expiresAt } of saved.authorizationExpiry) scheduleExpiry(core, paymentIntent, expiresAt);
  core.idempotency.restore(saved.idempotencyKeys);
}

function clockReadable(clock: unknown): boolean {
  if (clock === undefined) return true;
  const { offsetMs, nowMs } = (clock ?? {}) as Partial<SavedClock>;
  return Number.isFinite(offsetMs) && (offsetMs ?? -1) >= 0 && Number.isFinite(nowMs);
}

/** The file in a data directory that holds the emulator's state. */
export class StateFile {
  readonly path: string;
  private capture: (() => SavedState) | null = null;
  private pending: NodeJS.Timeout | null = null;

  /** Creates `dataDir` when it does not exist yet. */
  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'state.json');
  }

  /** What an earlier run saved; null when nothing was. Throws, naming the file, when it cannot be used. */
  read(): SavedState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let saved: Partial<SavedState> | null = null;
    try {
      saved = JSON.parse(text) as Partial<SavedState>;
    } catch {
      saved = null;
    }
    if (saved?.version !== STATE_VERSION || !Array.isArray(saved.paymentIntents) || !clockReadable(saved.clock)) {
      throw new Error(
        `${this.path} is not a state file this emulator can read (version ${STATE_VERSION}); move it away to start afresh`,
      );
    }
    return saved as SavedState;
  }

  /** Write `capture()` now, and from now on shortly after each change (`changed`). */
  keep(capture: () => SavedState): void {
    this.capture = capture;
    this.write();
  }

  /** Something changed: write within a short window, together with whatever else changes in it. */
  changed(): void {
    if (this.capture === null || this.pending !== null) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.write();
    }, SAVE_DELAY_MS);
    this.pending.unref();
  }

  /** Write what is pending and stop writing (the emulator closes). */
  stop(): void {
    if (this.pending !== null) clearTimeout(this.pending);
    this.pending = null;
    this.write();
    this.capture = null;
  }

  private write(): void {
    if (this.capture === null) return;
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(this.capture()), { mode: 0o600 });
      renameSync(temporary, this.path);
    } catch (error) {
      // A failed save must not take the emulator down; the next change or the close tries again.
      console.error(`stripe-emulator: cannot save its state to ${this.path}: ${(error as Error).message}`);
    }
  }
}

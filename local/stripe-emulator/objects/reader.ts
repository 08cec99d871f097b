/** Terminal Reader objects for Stripe's simulated readers, every non-optional field of `Stripe.Terminal.Reader` present. */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import type { SimulatedDeviceType, SimulatedRegistrationCode } from '../options.ts';

/** Simulated readers by registration code: their `device_type`. */
export const SIMULATED_READERS: Record<SimulatedRegistrationCode, { deviceType: SimulatedDeviceType }> = {
  'simulated-wpe': { deviceType: 'simulated_wisepos_e' },
  'simulated-s700': { deviceType: 'simulated_stripe_s700' },
  'simulated-s710': { deviceType: 'simulated_stripe_s710' },
};

/** The device types a reader can have, the WisePOS E first. */
export const SIMULATED_DEVICE_TYPES: readonly SimulatedDeviceType[] = Object.values(SIMULATED_READERS).map(
  (simulated) => simulated.deviceType,
);

/**
 * The label of a simulated reader registered without one: Stripe uses the registration code. The code is not kept
 * on the reader, but a simulated reader's code follows from its device type.
 */
export function defaultLabel(deviceType: string): string {
  const entry = Object.entries(SIMULATED_READERS).find(([, simulated]) => simulated.deviceType === deviceType);
  return entry?.[0] ?? deviceType;
}

/** Whether `code` registers one of Stripe's simulated readers. */
export function isSimulatedRegistrationCode(code: string): code is SimulatedRegistrationCode {
  return Object.hasOwn(SIMULATED_READERS, code);
}

/**
 * A new, online reader with no action, seen at `now` (epoch ms on the emulator's clock), registered with
 * `registrationCode` (a simulated one, or a one-time code minted by `/_emulator/registration_codes`).
 */
export function buildReader(input: {
  id: string;
  registrationCode: string;
  deviceType: SimulatedDeviceType;
  label: string | undefined;
  location: string | null;
  metadata: Stripe.Metadata;
  serialNumber?: string;
  now: number;
}): Stripe.Terminal.Reader {
  const reader: Stripe.Terminal.Reader = {
    id: input.id,
    object: 'terminal.reader',
    action: null,
    device_sw_version: '',
    device_type: input.deviceType,
    ip_address: '0.0.0.0',
    label: input.label ?? input.registrationCode,
    last_seen_at: input.now,
    livemode: false,
    location: input.location,
    metadata: input.metadata,
    serial_number: input.serialNumber ?? randomUUID(),
    status: 'online',
  };
  return reader;
}

/** Terminal Reader objects for Stripe's simulated readers, every non-optional field of `Stripe.Terminal.Reader` present. */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import type { SimulatedRegistrationCode } from '../options.ts';

/** Simulated readers by registration code: their `device_type` and Stripe's default label. */
export const SIMULATED_READERS: Record<SimulatedRegistrationCode, { deviceType: string; label: string }> = {
  'simulated-wpe': { deviceType: 'simulated_wisepos_e', label: 'Simulated WisePOS E' },
  'simulated-s700': { deviceType: 'simulated_stripe_s700', label: 'Simulated Stripe S700' },
  'simulated-s710': { deviceType: 'simulated_stripe_s710', label: 'Simulated Stripe S710' },
};

/** Whether `code` registers one of Stripe's simulated readers. */
export function isSimulatedRegistrationCode(code: string): code is SimulatedRegistrationCode {
  return Object.hasOwn(SIMULATED_READERS, code);
}

/** A new, online simulated reader with no action, seen at `now` (epoch ms on the emulator's clock). */
export function buildReader(input: {
  id: string;
  registrationCode: SimulatedRegistrationCode;
  label: string | undefined;
  location: string | null;
  metadata: Stripe.Metadata;
  serialNumber?: string;
  now: number;
}): Stripe.Terminal.Reader {
  const simulated = SIMULATED_READERS[input.registrationCode];
  const reader: Stripe.Terminal.Reader = {
    id: input.id,
    object: 'terminal.reader',
    action: null,
    device_sw_version: '',
    device_type: simulated.deviceType,
    ip_address: '0.0.0.0',
    label: input.label ?? simulated.label,
    last_seen_at: input.now,
    livemode: false,
    location: input.location,
    metadata: input.metadata,
    serial_number: input.serialNumber ?? randomUUID(),
    status: 'online',
  };
  return reader;
}

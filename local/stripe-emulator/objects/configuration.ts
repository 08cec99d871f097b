/**
 * Terminal Configuration objects, every non-optional field of `Stripe.Terminal.Configuration` present. Settings
 * are shown only when set, as Stripe shows them; `tipping` holds one entry per currency.
 */
import type Stripe from 'stripe';

/** The tipping settings of one currency, as given and as shown. */
export interface CurrencyTipping {
  fixed_amounts?: number[] | null;
  percentages?: number[] | null;
  smart_tip_threshold?: number;
}

/** Tipping settings by lowercase currency code. */
export type TippingSettings = Partial<Record<TippingCurrency, CurrencyTipping>>;

/** The currencies a Configuration takes tipping settings for (the SDK's `ConfigurationCreateParams.Tipping`). */
export const TIPPING_CURRENCIES = [
  'aed',
  'aud',
  'cad',
  'chf',
  'czk',
  'dkk',
  'eur',
  'gbp',
  'gip',
  'hkd',
  'huf',
  'jpy',
  'mxn',
  'myr',
  'nok',
  'nzd',
  'pln',
  'ron',
  'sek',
  'sgd',
  'usd',
] as const satisfies readonly (keyof Stripe.Terminal.ConfigurationCreateParams.Tipping)[];
export type TippingCurrency = (typeof TIPPING_CURRENCIES)[number];

/** Settings besides tipping that a Configuration shows as they were given. */
export const DEVICE_SETTINGS = [
  'bbpos_wisepad3',
  'bbpos_wisepos_e',
  'cellular',
  'offline',
  'reader_security',
  'reboot_window',
  'stripe_s700',
  'stripe_s710',
  'stripe_t600',
  'verifone_m425',
  'verifone_p400',
  'verifone_p630',
  'verifone_ux700',
  'verifone_v660p',
  'wifi',
] as const satisfies readonly (keyof Stripe.Terminal.Configuration & keyof Stripe.Terminal.ConfigurationCreateParams)[];
export type DeviceSetting = (typeof DEVICE_SETTINGS)[number];

/** A new configuration without settings. */
export function buildConfiguration(input: {
  id: string;
  name: string | null;
  isAccountDefault: boolean;
}): Stripe.Terminal.Configuration {
  const configuration: Stripe.Terminal.Configuration = {
    id: input.id,
    object: 'terminal.configuration',
    is_account_default: input.isAccountDefault,
    livemode: false,
    name: input.name,
  };
  return configuration;
}

/** The tipping settings of `configuration` for `currency`, if it has any. */
export function currencyTippingOf(
  configuration: Stripe.Terminal.Configuration | undefined,
  currency: string,
): CurrencyTipping | undefined {
  const tipping = configuration?.tipping as TippingSettings | undefined;
  return tipping?.[currency as TippingCurrency];
}

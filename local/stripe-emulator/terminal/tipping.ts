/**
 * On-reader tipping. A reader offers a tip only when the Terminal Configuration that applies to it has tipping for the
 * PaymentIntent's currency: its location's `configuration_overrides` when that one sets tipping, else the account
 * default configuration. `skip_tipping` or `tipping[amount_eligible]=0` skips it for one payment (Stripe's Terminal
 * SDKs report no tip in these cases, and a 0 tip when the customer picks "No tip").
 */
import type Stripe from 'stripe';
import type { EmulatorCore } from '../core.ts';
import { errors } from '../errors.ts';
import { type CurrencyTipping, currencyTippingOf } from '../objects/configuration.ts';
import { MAXIMUM_AMOUNT } from '../objects/payment-intent.ts';
import type { ReaderState } from '../state/store.ts';

/** The account default configuration (Stripe provides one on every account). */
export function accountDefaultConfiguration(core: EmulatorCore): Stripe.Terminal.Configuration | undefined {
  for (const configuration of core.store.configurations.values()) {
    if (configuration.is_account_default === true) return configuration;
  }
  return undefined;
}

/** The tipping settings that apply to `reader` for `currency`; undefined when the reader offers no tip. */
export function readerTipping(
  core: EmulatorCore,
  reader: Stripe.Terminal.Reader,
  currency: string,
): CurrencyTipping | undefined {
  const locationId = typeof reader.location === 'string' ? reader.location : (reader.location?.id ?? null);
  const overrideId = locationId === null ? undefined : core.store.locations.get(locationId)?.configuration_overrides;
  const override = overrideId === undefined ? undefined : core.store.configurations.get(overrideId);
  // Settings are inherited per feature: a location's configuration without tipping leaves tipping to the default.
  const source = override?.tipping === undefined ? accountDefaultConfiguration(core) : override;
  return currencyTippingOf(source, currency);
}

/**
 * The tip the customer chose on the reader for `paymentIntent` (`present_payment_method`'s `amount_tip`, 0 when
 * none was given): null when the reader offered none. The amount with the tip must stay within Stripe's maximum.
 */
export function chosenTip(
  core: EmulatorCore,
  state: ReaderState,
  paymentIntent: Stripe.PaymentIntent,
  amountTip: number | undefined,
): number | null {
  const action = state.reader.action;
  const config = action?.process_payment_intent?.process_config ?? action?.collect_payment_method?.collect_config;
  if (config?.skip_tipping === true || config?.tipping?.amount_eligible === 0) return null;
  if (readerTipping(core, state.reader, paymentIntent.currency) === undefined) return null;
  const tip = amountTip ?? 0;
  if (paymentIntent.amount + tip > MAXIMUM_AMOUNT) {
    throw errors.amountTooLarge(
      'amount_tip',
      `The amount including the tip (${paymentIntent.amount + tip}) must be no more than ${MAXIMUM_AMOUNT}.`,
    );
  }
  return tip;
}

/** Confirm `paymentIntent` for its amount including `tip`: `amount` includes it, `amount_details.tip` holds it. */
export function addTip(paymentIntent: Stripe.PaymentIntent, tip: number | null): void {
  if (tip === null) return;
  paymentIntent.amount += tip;
  paymentIntent.amount_details = { ...paymentIntent.amount_details, tip: { amount: tip } };
}

/** Take a tip added at collection back out, when the payment did not go through with it. */
export function removeTip(paymentIntent: Stripe.PaymentIntent): void {
  const tip = paymentIntent.amount_details?.tip?.amount;
  if (tip === undefined) return;
  paymentIntent.amount -= tip;
  paymentIntent.amount_details = { ...paymentIntent.amount_details, tip: {} };
}

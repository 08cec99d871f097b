/**
 * Currencies a Terminal payment may be made in, with Stripe's minimum charge amount for each (in the currency's
 * minor unit). Stripe rejects smaller amounts with `amount_too_small`; checking first gives the POS a
 * validation error that names the field.
 */
export const MINIMUM_AMOUNTS: Readonly<Record<string, number>> = {
  aud: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  jpy: 50,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  usd: 50,
};

/** Stripe's largest amount for a card payment (eight digits). */
export const MAXIMUM_AMOUNT = 99_999_999;

export const SUPPORTED_CURRENCIES = Object.keys(MINIMUM_AMOUNTS);

/** Stripe's minimum amount for `currency`, or undefined when Terminal payments are not offered in it. */
export function minimumAmount(currency: string): number | undefined {
  return MINIMUM_AMOUNTS[currency];
}

/**
 * An amount in the currency's minor unit as a cashier reads it (`1299 usd` → `$12.99`, `500 jpy` → `¥500`): the
 * currency's own number of decimals, from the runtime's ISO 4217 data.
 */
export function formatMoney(amount: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
  const decimals = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** decimals);
}

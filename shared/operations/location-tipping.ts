/**
 * On-reader tipping for a location (GET and PUT /locations/{id}/tipping): the tipping of the Terminal Configuration
 * the location names in its `configuration_overrides`, which its readers take their settings from. The first PUT
 * creates that configuration and names it; later ones set one currency's tipping in it and leave the others.
 *
 * A location without tipping of its own shows none here; its readers then follow the account's default
 * configuration (set in the Stripe Dashboard). A configuration set up outside this API and shared by several
 * locations is changed for all of them.
 */
import type Stripe from 'stripe';
import type { StripeAccess } from '../dependencies.ts';
import { InvalidInputError, LocationNotFoundError, type ValidationIssue } from '../payments/failures.ts';
import {
  type CurrencyTippingParams,
  createLocationConfiguration,
  retrieveConfiguration,
  retrieveLocation,
  setLocationConfiguration,
  tippingByCurrency,
  updateConfigurationTipping,
} from '../stripe/configurations.ts';
import { isStripeError, stripeErrorCode, toFailure } from '../stripe/errors.ts';

/** One currency's tip suggestions, as the API shows them. */
export interface CurrencyTipping {
  currency: string;
  /** Percentages of the amount, as offered on the reader; empty when none. */
  percentages: number[];
  /** Amounts in the currency's minor unit; empty when none. */
  fixedAmounts: number[];
  /** Below this amount the reader offers `fixedAmounts`, above it `percentages`; null when not set. */
  smartTipThreshold: number | null;
}

/** The Tipping resource: the location's own configuration (null when it has none) and its tipping by currency. */
export interface LocationTipping {
  locationId: string;
  configurationId: string | null;
  settings: CurrencyTipping[];
}

/** A PUT: one currency's tipping for a location's readers. */
export interface TippingChange {
  locationId: string;
  /** Names the request in the keys of the writes that set values (`idempotencyKeys`). */
  requestId: string;
  currency: string;
  percentages?: number[] | undefined;
  fixedAmounts?: number[] | undefined;
  smartTipThreshold?: number | undefined;
}

interface Deadline {
  deadline: number;
}

/** The API's name of each of Stripe's tipping fields. */
const FIELDS = {
  percentages: 'percentages',
  fixed_amounts: 'fixedAmounts',
  smart_tip_threshold: 'smartTipThreshold',
} as const;
type StripeField = keyof typeof FIELDS;
const STRIPE_FIELDS = Object.keys(FIELDS) as StripeField[];

/** The location's tipping, as its configuration holds it now. */
export async function readLocationTipping(
  deps: StripeAccess,
  locationId: string,
  options: Deadline,
): Promise<LocationTipping> {
  const location = await existingLocation(deps, locationId, options);
  const named = location.configuration_overrides;
  const configuration = named ? await retrieveConfiguration(deps, named, options) : undefined;
  return tippingOf(locationId, configuration);
}

/** Set one currency's tipping for the location's readers, creating the location's configuration the first time. */
export async function setLocationTipping(
  deps: StripeAccess,
  change: TippingChange,
  options: Deadline,
): Promise<LocationTipping> {
  const { locationId } = change;
  const location = await existingLocation(deps, locationId, options);
  const named = location.configuration_overrides;
  let configuration = named ? await retrieveConfiguration(deps, named, options) : undefined;
  configuration ??= await ownConfiguration(deps, change, options);
  const conflicts = fieldConflicts(configuration, change);
  if (conflicts.length > 0) throw new InvalidInputError(conflicts);
  let updated = await sendTipping(deps, configuration.id, change, options);
  if (updated === undefined) {
    // The configuration was deleted since it was read: the location gets one of its own.
    configuration = await ownConfiguration(deps, change, options);
    updated = await sendTipping(deps, configuration.id, change, options);
  }
  if (updated === undefined) throw new Error(`Configuration ${configuration.id} vanished while being updated`);
  return tippingOf(locationId, updated);
}

async function existingLocation(
  deps: StripeAccess,
  locationId: string,
  options: Deadline,
): Promise<Stripe.Terminal.Location> {
  const location = await retrieveLocation(deps, locationId, options);
  if (location === undefined) throw new LocationNotFoundError();
  return location;
}

/**
 * Create the location's configuration and name it in the location's `configuration_overrides`. The creation is keyed
 * by the location, so racing first requests share one configuration (and none sets tipping another loses); when the
 * configuration that key made is gone, a key of this request's makes another.
 */
async function ownConfiguration(
  deps: StripeAccess,
  change: TippingChange,
  options: Deadline,
): Promise<Stripe.Terminal.Configuration> {
  const { locationId, requestId } = change;
  const attach = async (configuration: Stripe.Terminal.Configuration) => {
    await setLocationConfiguration(deps, locationId, configuration.id, { requestId, deadline: options.deadline });
    return configuration;
  };
  try {
    return await attach(await createLocationConfiguration(deps, locationId, options));
  } catch (error) {
    if (stripeErrorCode(error) !== 'resource_missing') throw error;
    if (stripeParam(error) !== 'configuration_overrides') throw new LocationNotFoundError();
  }
  return attach(await createLocationConfiguration(deps, locationId, { ...options, requestId }));
}

async function sendTipping(
  deps: StripeAccess,
  configurationId: string,
  change: TippingChange,
  options: Deadline,
): Promise<Stripe.Terminal.Configuration | undefined> {
  const tipping: CurrencyTippingParams = {};
  if (change.percentages !== undefined) tipping.percentages = change.percentages;
  if (change.fixedAmounts !== undefined) tipping.fixed_amounts = change.fixedAmounts;
  if (change.smartTipThreshold !== undefined) tipping.smart_tip_threshold = change.smartTipThreshold;
  try {
    return await updateConfigurationTipping(deps, configurationId, change.currency, tipping, {
      requestId: change.requestId,
      deadline: options.deadline,
    });
  } catch (error) {
    throw tippingRefusal(error);
  }
}

/**
 * Stripe's rule: every currency of a configuration sets the same tipping fields. The change is checked against the
 * configuration's other currencies first, so the POS learns which fields to give.
 */
export function fieldConflicts(configuration: Stripe.Terminal.Configuration, change: TippingChange): ValidationIssue[] {
  const wanted = new Set(
    STRIPE_FIELDS.filter((field) => {
      const value = change[FIELDS[field]];
      return value !== undefined;
    }),
  );
  for (const [currency, settings] of tippingByCurrency(configuration)) {
    if (currency === change.currency) continue;
    const set = STRIPE_FIELDS.filter((field) => isSet(settings[field]));
    if (set.length === 0) continue;
    const differing = STRIPE_FIELDS.filter((field) => set.includes(field) !== wanted.has(field));
    if (differing.length === 0) continue;
    const names = set.map((field) => FIELDS[field]).join(', ');
    return differing.map((field) => ({
      field: FIELDS[field],
      message: `Every currency of this location's tipping sets the same fields: ${currency} sets ${names}.`,
    }));
  }
  return [];
}

function isSet(value: number | number[] | null | undefined): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null;
}

/** Settings Stripe refused (`param` `tipping[…]`) are the request's fault; anything else is answered as usual. */
function tippingRefusal(error: unknown): unknown {
  const param = stripeParam(error);
  if (!isStripeError(error) || error.rawType !== 'invalid_request_error' || !param?.startsWith('tipping')) {
    return toFailure(error);
  }
  const named = /\[(\w+)\]$/.exec(param)?.[1];
  const field = named !== undefined && named in FIELDS ? FIELDS[named as StripeField] : 'currency';
  return new InvalidInputError([{ field, message: 'Stripe does not accept these tipping settings.' }]);
}

function stripeParam(error: unknown): string | undefined {
  const param = (error as { param?: unknown } | null)?.param;
  return typeof param === 'string' ? param : undefined;
}

/** The Tipping resource of `configuration` (none: the location has no configuration of its own). */
export function tippingOf(
  locationId: string,
  configuration: Stripe.Terminal.Configuration | undefined,
): LocationTipping {
  const settings = tippingByCurrency(configuration)
    .flatMap(([currency, values]) => {
      const shown: CurrencyTipping = {
        currency,
        percentages: values.percentages ?? [],
        fixedAmounts: values.fixed_amounts ?? [],
        smartTipThreshold: values.smart_tip_threshold ?? null,
      };
      const empty = shown.percentages.length === 0 && shown.fixedAmounts.length === 0;
      return empty && shown.smartTipThreshold === null ? [] : [shown];
    })
    .sort((a, b) => a.currency.localeCompare(b.currency));
  return { locationId, configurationId: configuration?.id ?? null, settings };
}

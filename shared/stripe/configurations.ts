/**
 * Terminal locations and Configurations: what tipping a location's readers offer. Reads and writes end by the
 * request's deadline (`sendUntil`); every write carries its key from `idempotencyKeys`.
 */
import type Stripe from 'stripe';
import type { StripeAccess } from '../dependencies.ts';
import { idempotencyKeys } from '../payments/idempotency.ts';
import { existing, sendUntil } from './calls.ts';
import { stripeErrorCode } from './errors.ts';

/** One currency's tipping, as Stripe takes it (`tipping[<currency>]`). */
export type CurrencyTippingParams = Stripe.Terminal.ConfigurationUpdateParams.Tipping.Usd;

/** One currency's tipping, as a configuration shows it. */
export type CurrencyTippingSettings = Stripe.Terminal.Configuration.Tipping.Usd;

/** A configuration's tipping, currency by currency (none for no configuration). */
export function tippingByCurrency(
  configuration: Stripe.Terminal.Configuration | undefined,
): [string, CurrencyTippingSettings][] {
  const tipping: object = configuration?.tipping ?? {};
  return (Object.entries(tipping) as [string, CurrencyTippingSettings | null | undefined][]).flatMap(
    ([currency, settings]) => (settings === undefined || settings === null ? [] : [[currency, settings]]),
  );
}

interface Deadline {
  deadline?: number;
}

/** The location as Stripe holds it; undefined when Stripe does not have it (or it was deleted). */
export async function retrieveLocation(
  deps: StripeAccess,
  id: string,
  options: Deadline = {},
): Promise<Stripe.Terminal.Location | undefined> {
  const client = await deps.stripe();
  return existing(() =>
    sendUntil(deps, options.deadline, (requestOptions) => client.terminal.locations.retrieve(id, {}, requestOptions)),
  );
}

/** The configuration; undefined when Stripe does not have it (or it was deleted). */
export async function retrieveConfiguration(
  deps: StripeAccess,
  id: string,
  options: Deadline = {},
): Promise<Stripe.Terminal.Configuration | undefined> {
  const client = await deps.stripe();
  return existing(() =>
    sendUntil(deps, options.deadline, (requestOptions) =>
      client.terminal.configurations.retrieve(id, {}, requestOptions),
    ),
  );
}

/**
 * Create the location's own configuration, with no settings yet. Keyed by the location alone, so requests racing to
 * create it get one configuration; `requestId` gives a key of its own when the first one's configuration is gone.
 */
export async function createLocationConfiguration(
  deps: StripeAccess,
  locationId: string,
  options: Deadline & { requestId?: string },
): Promise<Stripe.Terminal.Configuration> {
  const client = await deps.stripe();
  const idempotencyKey = idempotencyKeys.tippingConfiguration(locationId, options.requestId);
  return sendUntil(deps, options.deadline, (requestOptions) =>
    client.terminal.configurations.create({ name: `Location ${locationId}` }, { ...requestOptions, idempotencyKey }),
  );
}

/** Name `configurationId` in the location's `configuration_overrides`: its readers take their settings from it. */
export async function setLocationConfiguration(
  deps: StripeAccess,
  locationId: string,
  configurationId: string,
  options: Deadline & { requestId: string },
): Promise<Stripe.Terminal.Location> {
  const client = await deps.stripe();
  const idempotencyKey = idempotencyKeys.locationConfiguration(locationId, configurationId, options.requestId);
  const location = await sendUntil(deps, options.deadline, (requestOptions) =>
    client.terminal.locations.update(
      locationId,
      { configuration_overrides: configurationId },
      { ...requestOptions, idempotencyKey },
    ),
  );
  return location as Stripe.Terminal.Location;
}

/**
 * Set one currency's tipping; Stripe keeps the configuration's other currencies as they are. Undefined when the
 * configuration no longer exists.
 */
export async function updateConfigurationTipping(
  deps: StripeAccess,
  configurationId: string,
  currency: string,
  tipping: CurrencyTippingParams,
  options: Deadline & { requestId: string },
): Promise<Stripe.Terminal.Configuration | undefined> {
  const client = await deps.stripe();
  const idempotencyKey = idempotencyKeys.tipping(configurationId, currency, options.requestId);
  const params: Stripe.Terminal.ConfigurationUpdateParams = {
    tipping: { [currency]: tipping } as Stripe.Terminal.ConfigurationUpdateParams.Tipping,
  };
  try {
    const configuration = await sendUntil(deps, options.deadline, (requestOptions) =>
      client.terminal.configurations.update(configurationId, params, { ...requestOptions, idempotencyKey }),
    );
    return 'deleted' in configuration && configuration.deleted
      ? undefined
      : (configuration as Stripe.Terminal.Configuration);
  } catch (error) {
    // The parameters name no other object: what is missing is the configuration.
    if (stripeErrorCode(error) === 'resource_missing') return undefined;
    throw error;
  }
}

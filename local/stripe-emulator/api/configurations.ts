/**
 * `/v1/terminal/configurations`: create, retrieve, update, list (`is_account_default`), delete. The account default
 * configuration exists from the start, as Stripe provides one on every account; it can be updated, not deleted.
 * Tipping is checked as Stripe documents it: at most three suggestions of each kind, and the same keys for every
 * currency.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { type OptionalRule, type ParamSpec, pagination, paramsOf, rule } from '../http/params.ts';
import { type ApiCall, paramsAs, type Route } from '../http/router.ts';
import { newId } from '../ids.ts';
import {
  buildConfiguration,
  type CurrencyTipping,
  DEVICE_SETTINGS,
  TIPPING_CURRENCIES,
  type TippingCurrency,
  type TippingSettings,
} from '../objects/configuration.ts';
import { expandObject } from './expand.ts';
import { listPage, newestFirst } from './list.ts';

type CreateParams = Stripe.Terminal.ConfigurationCreateParams;
type UpdateParams = Stripe.Terminal.ConfigurationUpdateParams;
type TippingParams = NonNullable<Exclude<CreateParams['tipping'], ''>>;

/** Stripe's readers show three tip suggestions of each kind. */
const MAX_SUGGESTIONS = 3;

function emptyable(inner: OptionalRule): OptionalRule {
  return { ...inner, emptyable: true };
}

const currencyTipping = rule.hashOf<Stripe.Terminal.ConfigurationCreateParams.Tipping.Usd>({
  fixed_amounts: rule.arrayOf(rule.integer(0)),
  percentages: rule.arrayOf(rule.integer(0)),
  smart_tip_threshold: rule.integer(0),
});
// Typed as the SDK's Tipping: a currency it names that TIPPING_CURRENCIES lacks does not compile.
const tippingFields: ParamSpec<TippingParams> = Object.fromEntries(
  TIPPING_CURRENCIES.map((currency) => [currency, currencyTipping]),
) as Record<TippingCurrency, OptionalRule>;
const tipping = rule.hashOf<TippingParams>(tippingFields);
const splashscreen = rule.hashOf<Stripe.Terminal.ConfigurationCreateParams.BbposWiseposE>({
  splashscreen: rule.emptyableString(),
});
const enabled = rule.hashOf<Stripe.Terminal.ConfigurationCreateParams.Offline>({
  enabled: rule.required(rule.boolean()),
});
const readerSecurity = rule.hashOf<Stripe.Terminal.ConfigurationCreateParams.ReaderSecurity>({
  admin_menu_passcode: rule.emptyableString(),
});
const rebootWindow = rule.hashOf<Stripe.Terminal.ConfigurationCreateParams.RebootWindow>({
  end_hour: rule.required(rule.integer(0)),
  start_hour: rule.required(rule.integer(0)),
});

const createRules = paramsOf<CreateParams>({
  bbpos_wisepad3: splashscreen,
  bbpos_wisepos_e: splashscreen,
  cellular: emptyable(enabled),
  expand: rule.expand(),
  name: rule.string(),
  offline: emptyable(enabled),
  reader_security: emptyable(readerSecurity),
  reboot_window: rebootWindow,
  stripe_s700: splashscreen,
  stripe_s710: splashscreen,
  stripe_t600: splashscreen,
  tipping: emptyable(tipping),
  verifone_m425: splashscreen,
  verifone_p400: splashscreen,
  verifone_p630: splashscreen,
  verifone_ux700: splashscreen,
  verifone_v660p: splashscreen,
  wifi: rule.emptyableAnyHash(),
});
const updateRules = paramsOf<UpdateParams>({
  bbpos_wisepad3: emptyable(splashscreen),
  bbpos_wisepos_e: emptyable(splashscreen),
  cellular: emptyable(enabled),
  expand: rule.expand(),
  name: rule.string(),
  offline: emptyable(enabled),
  reader_security: emptyable(readerSecurity),
  reboot_window: emptyable(rebootWindow),
  stripe_s700: emptyable(splashscreen),
  stripe_s710: emptyable(splashscreen),
  stripe_t600: emptyable(splashscreen),
  tipping: emptyable(tipping),
  verifone_m425: emptyable(splashscreen),
  verifone_p400: emptyable(splashscreen),
  verifone_p630: emptyable(splashscreen),
  verifone_ux700: emptyable(splashscreen),
  verifone_v660p: emptyable(splashscreen),
  wifi: rule.emptyableAnyHash(),
});
const retrieveRules = paramsOf<Stripe.Terminal.ConfigurationRetrieveParams>({ expand: rule.expand() });
const listRules = paramsOf<Stripe.Terminal.ConfigurationListParams>({
  ...pagination,
  expand: rule.expand(),
  is_account_default: rule.boolean(),
});
const deleteRules = paramsOf<Stripe.Terminal.ConfigurationDeleteParams>({});

const TIPPING_KEYS = ['fixed_amounts', 'percentages', 'smart_tip_threshold'] as const;

/**
 * The tipping settings after an update: each currency given replaces that currency's settings, the others stay;
 * `tipping=''` removes them all. Checked as a whole.
 */
function tippingAfter(current: TippingSettings | undefined, given: CreateParams['tipping']): TippingSettings | null {
  if (given === '') return null;
  const merged: TippingSettings = { ...current };
  for (const [currency, settings] of Object.entries(given ?? {}) as [TippingCurrency, CurrencyTipping][]) {
    for (const key of ['fixed_amounts', 'percentages'] as const) {
      const values = settings[key];
      if (values !== undefined && values !== null && values.length > MAX_SUGGESTIONS) {
        throw errors.invalidRequest(
          `Invalid tipping[${currency}][${key}]: at most ${MAX_SUGGESTIONS} values are allowed, ${values.length} were given.`,
          `tipping[${currency}][${key}]`,
        );
      }
    }
    merged[currency] = { ...settings };
  }
  const keysOf = (settings: CurrencyTipping): string =>
    TIPPING_KEYS.filter((key) => settings[key] !== undefined && settings[key] !== null).join(', ');
  const entries = Object.entries(merged) as [TippingCurrency, CurrencyTipping][];
  const [first] = entries;
  const different = entries.find(([, settings]) => first !== undefined && keysOf(settings) !== keysOf(first[1]));
  if (first !== undefined && different !== undefined) {
    throw errors.invalidRequest(
      `Every currency in tipping must use the same keys: ${first[0]} sets ${keysOf(first[1]) || 'none'}, ${different[0]} sets ${keysOf(different[1]) || 'none'}.`,
      `tipping[${different[0]}]`,
    );
  }
  return merged;
}

/** A copy of a setting as given, without the values given empty (an empty value unsets it). */
function withoutEmpty(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, entry]) => entry !== '')
      .map(([key, entry]) => [key, withoutEmpty(entry)]),
  );
}

/** Apply create or update parameters to `configuration`; everything is checked before anything changes. */
function applySettings(configuration: Stripe.Terminal.Configuration, params: CreateParams | UpdateParams): void {
  const tippingUpdate = params.tipping === undefined ? undefined : tippingAfter(configuration.tipping, params.tipping);
  const shown = configuration as unknown as Record<string, unknown>;
  if (params.name !== undefined) configuration.name = params.name;
  for (const key of DEVICE_SETTINGS) {
    const value = params[key];
    if (value === undefined) continue;
    if (value === '') delete shown[key];
    else shown[key] = withoutEmpty(value);
  }
  if (tippingUpdate === null) delete configuration.tipping;
  else if (tippingUpdate !== undefined) configuration.tipping = tippingUpdate;
}

function findConfiguration(call: ApiCall): Stripe.Terminal.Configuration {
  const id = call.path.configuration ?? '';
  const configuration = call.core.store.configurations.get(id);
  if (configuration === undefined) throw errors.resourceMissing('terminal.configuration', id, 'configuration');
  return configuration;
}

function respond(call: ApiCall, configuration: Stripe.Terminal.Configuration): Stripe.Terminal.Configuration {
  return expandObject(configuration, call.expand, call.core.store);
}

function createConfiguration(call: ApiCall): Stripe.Terminal.Configuration {
  const params = paramsAs<CreateParams>(call);
  const configuration = buildConfiguration({
    id: newId('tmc', 14),
    name: params.name ?? null,
    isAccountDefault: false,
  });
  applySettings(configuration, params);
  call.core.store.configurations.set(configuration.id, configuration);
  return respond(call, configuration);
}

function updateConfiguration(call: ApiCall): Stripe.Terminal.Configuration {
  const configuration = findConfiguration(call);
  applySettings(configuration, paramsAs<UpdateParams>(call));
  return respond(call, configuration);
}

function listConfigurations(call: ApiCall): Stripe.ApiList<Stripe.Terminal.Configuration> {
  const params = paramsAs<Stripe.Terminal.ConfigurationListParams>(call);
  const matching = newestFirst(call.core.store.configurations.values()).filter(
    (configuration) =>
      params.is_account_default === undefined || configuration.is_account_default === params.is_account_default,
  );
  const page = listPage(matching, params, '/v1/terminal/configurations', 'terminal.configuration');
  return expandObject(page, call.expand, call.core.store);
}

/**
 * Delete a configuration. The account default cannot be deleted, and neither can a configuration a location still
 * names in its `configuration_overrides` (those locations would be left pointing at nothing): both are 400s.
 */
function deleteConfiguration(call: ApiCall): Stripe.Terminal.DeletedConfiguration {
  const configuration = findConfiguration(call);
  if (configuration.is_account_default === true) {
    throw errors.invalidRequest(`${configuration.id} is the account default configuration, which cannot be deleted.`);
  }
  const users = [...call.core.store.locations.values()]
    .filter((location) => location.configuration_overrides === configuration.id)
    .map((location) => location.id);
  if (users.length > 0) {
    throw errors.invalidRequest(
      `${configuration.id} is the configuration_overrides of ${users.join(', ')}: update ${users.length === 1 ? 'that location' : 'those locations'} first.`,
    );
  }
  call.core.store.configurations.delete(configuration.id);
  const deleted: Stripe.Terminal.DeletedConfiguration = {
    id: configuration.id,
    object: 'terminal.configuration',
    deleted: true,
  };
  return deleted;
}

/** The Terminal Configuration routes. */
export const configurationRoutes: Route[] = [
  { method: 'POST', pattern: '/v1/terminal/configurations', rules: createRules, handle: createConfiguration },
  { method: 'GET', pattern: '/v1/terminal/configurations', rules: listRules, handle: listConfigurations },
  {
    method: 'GET',
    pattern: '/v1/terminal/configurations/:configuration',
    rules: retrieveRules,
    handle: (call) => respond(call, findConfiguration(call)),
  },
  {
    method: 'POST',
    pattern: '/v1/terminal/configurations/:configuration',
    rules: updateRules,
    handle: updateConfiguration,
  },
  {
    method: 'DELETE',
    pattern: '/v1/terminal/configurations/:configuration',
    rules: deleteRules,
    handle: deleteConfiguration,
  },
];

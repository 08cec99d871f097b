/** `/v1/terminal/locations`, `/v1/terminal/readers` (with the reader commands) and the reader test helper. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { type ParamSpec, pagination, paramsOf, rule } from '../http/params.ts';
import { type ApiCall, paramsAs, type Route } from '../http/router.ts';
import { newId } from '../ids.ts';
import { buildLocation } from '../objects/location.ts';
import { buildReader, defaultLabel, isSimulatedRegistrationCode, SIMULATED_READERS } from '../objects/reader.ts';
import type { SimulatedDeviceType } from '../options.ts';
import type { ReaderState, RegistrationCode } from '../state/store.ts';
import { DEFAULT_CARD_NUMBER, describeCard, type PresentedType } from '../terminal/cards.ts';
import {
  cancelAction,
  collectPaymentMethod,
  confirmPaymentIntent,
  presentPaymentMethod,
  processPaymentIntent,
  readerState,
  readerView,
  refundPayment,
  releaseReader,
  setReaderDisplay,
} from '../terminal/reader-machine.ts';
import { codeOfReader } from '../terminal/registration-codes.ts';
import { expandObject } from './expand.ts';
import { filteredPage, listPage, newestFirst } from './list.ts';
import { mergeMetadata } from './metadata.ts';

/** The test helper's parameter type (the SDK does not export its namespace by name). */
type PresentParams = NonNullable<Parameters<Stripe['testHelpers']['terminal']['readers']['presentPaymentMethod']>[1]>;

const tipping = rule.hashOf<{ amount_eligible?: number }>({ amount_eligible: rule.integer(0) });
const ALLOW_REDISPLAY = ['always', 'limited', 'unspecified'] as const;

const locationAddress = rule.hashOf<Stripe.Terminal.LocationCreateParams.Address>({
  city: rule.string(),
  country: rule.required(rule.string()),
  line1: rule.string(),
  line2: rule.string(),
  postal_code: rule.string(),
  state: rule.string(),
});

const locationCreateRules = paramsOf<Stripe.Terminal.LocationCreateParams>({
  address: locationAddress,
  address_kana: rule.anyHash(),
  address_kanji: rule.anyHash(),
  configuration_overrides: rule.string(),
  display_name: rule.string(),
  display_name_kana: rule.string(),
  display_name_kanji: rule.string(),
  expand: rule.expand(),
  metadata: rule.metadata(),
  phone: rule.string(),
});
const locationUpdateRules = paramsOf<Stripe.Terminal.LocationUpdateParams>({
  address: rule.hashOf<NonNullable<Stripe.Terminal.LocationUpdateParams['address']>>({
    city: rule.string(),
    country: rule.string(),
    line1: rule.string(),
    line2: rule.string(),
    postal_code: rule.string(),
    state: rule.string(),
  }),
  address_kana: rule.anyHash(),
  address_kanji: rule.anyHash(),
  configuration_overrides: rule.emptyableString(),
  display_name: rule.emptyableString(),
  display_name_kana: rule.emptyableString(),
  display_name_kanji: rule.emptyableString(),
  expand: rule.expand(),
  metadata: rule.metadata(),
  phone: rule.emptyableString(),
});
const locationRetrieveRules = paramsOf<Stripe.Terminal.LocationRetrieveParams>({ expand: rule.expand() });
const locationListRules = paramsOf<Stripe.Terminal.LocationListParams>({ ...pagination, expand: rule.expand() });
const locationDeleteRules = paramsOf<Stripe.Terminal.LocationDeleteParams>({});

const readerCreateRules = paramsOf<Stripe.Terminal.ReaderCreateParams>({
  registration_code: rule.required(rule.string()),
  expand: rule.expand(),
  label: rule.string(),
  location: rule.string(),
  metadata: rule.metadata(),
});
const readerRetrieveRules = paramsOf<Stripe.Terminal.ReaderRetrieveParams>({ expand: rule.expand() });
const readerUpdateRules = paramsOf<Stripe.Terminal.ReaderUpdateParams>({
  expand: rule.expand(),
  label: rule.emptyableString(),
  metadata: rule.metadata(),
});
const readerDeleteRules = paramsOf<Stripe.Terminal.ReaderDeleteParams>({});
const readerListRules = paramsOf<Stripe.Terminal.ReaderListParams>({
  ...pagination,
  device_type: rule.string(),
  expand: rule.expand(),
  location: rule.string(),
  serial_number: rule.string(),
  status: rule.string(['offline', 'online']),
});
const cancelActionRules = paramsOf<Stripe.Terminal.ReaderCancelActionParams>({ expand: rule.expand() });
const refundPaymentRules = paramsOf<Stripe.Terminal.ReaderRefundPaymentParams>({
  amount: rule.integer(1),
  charge: rule.string(),
  expand: rule.expand(),
  metadata: rule.metadata(),
  payment_intent: rule.string(),
  refund_application_fee: rule.boolean(),
  refund_payment_config: rule.hashOf<Stripe.Terminal.ReaderRefundPaymentParams.RefundPaymentConfig>({
    enable_customer_cancellation: rule.boolean(),
  }),
  reverse_transfer: rule.boolean(),
});
const processRules = paramsOf<Stripe.Terminal.ReaderProcessPaymentIntentParams>({
  payment_intent: rule.required(rule.string()),
  expand: rule.expand(),
  process_config: rule.hashOf<Stripe.Terminal.ReaderProcessPaymentIntentParams.ProcessConfig>({
    allow_redisplay: rule.string(ALLOW_REDISPLAY),
    enable_customer_cancellation: rule.boolean(),
    return_url: rule.string(),
    skip_tipping: rule.boolean(),
    tipping,
  }),
});
const collectRules = paramsOf<Stripe.Terminal.ReaderCollectPaymentMethodParams>({
  payment_intent: rule.required(rule.string()),
  collect_config: rule.hashOf<Stripe.Terminal.ReaderCollectPaymentMethodParams.CollectConfig>({
    allow_redisplay: rule.string(ALLOW_REDISPLAY),
    enable_customer_cancellation: rule.boolean(),
    skip_tipping: rule.boolean(),
    tipping,
  }),
  expand: rule.expand(),
});
const confirmRules = paramsOf<Stripe.Terminal.ReaderConfirmPaymentIntentParams>({
  payment_intent: rule.required(rule.string()),
  confirm_config: rule.hashOf<Stripe.Terminal.ReaderConfirmPaymentIntentParams.ConfirmConfig>({
    return_url: rule.string(),
  }),
  expand: rule.expand(),
});
const lineItem: ParamSpec<Stripe.Terminal.ReaderSetReaderDisplayParams.Cart.LineItem> = {
  amount: rule.required(rule.integer()),
  description: rule.required(rule.string()),
  quantity: rule.required(rule.integer(1)),
};
const displayRules = paramsOf<Stripe.Terminal.ReaderSetReaderDisplayParams>({
  type: rule.required(rule.string(['cart'])),
  cart: rule.hashOf<Stripe.Terminal.ReaderSetReaderDisplayParams.Cart>({
    currency: rule.required(rule.string()),
    line_items: rule.required(rule.arrayOf(rule.hashOf(lineItem))),
    tax: rule.integer(),
    total: rule.required(rule.integer()),
  }),
  expand: rule.expand(),
});
const presentRules = paramsOf<PresentParams>({
  amount_tip: rule.integer(0),
  card: rule.hashOf<NonNullable<PresentParams['card']>>({
    cvc: rule.string(),
    exp_month: rule.required(rule.integer(1)),
    exp_year: rule.required(rule.integer()),
    number: rule.required(rule.string()),
  }),
  card_present: rule.hashOf<NonNullable<PresentParams['card_present']>>({
    number: rule.string(),
  }),
  expand: rule.expand(),
  interac_present: rule.hashOf<NonNullable<PresentParams['interac_present']>>({
    number: rule.string(),
  }),
  type: rule.string(['card', 'card_present', 'interac_present']),
});

function findLocation(call: ApiCall): Stripe.Terminal.Location {
  const id = call.path.location ?? '';
  const location = call.core.store.locations.get(id);
  if (location === undefined) throw errors.resourceMissing('terminal.location', id, 'location');
  return location;
}

function createLocation(call: ApiCall): Stripe.Terminal.Location {
  const params = paramsAs<Stripe.Terminal.LocationCreateParams>(call);
  if (params.display_name === undefined) throw errors.parameterMissing('display_name');
  if (params.address === undefined) throw errors.parameterMissing('address');
  const location = buildLocation(
    newId('tml', 14),
    params.display_name,
    {
      city: params.address.city ?? null,
      country: params.address.country,
      line1: params.address.line1 ?? null,
      line2: params.address.line2 ?? null,
      postal_code: params.address.postal_code ?? null,
      state: params.address.state ?? null,
    },
    mergeMetadata({}, params.metadata),
  );
  if (params.phone !== undefined) location.phone = params.phone;
  if (params.configuration_overrides !== undefined) {
    location.configuration_overrides = overridingConfiguration(call, params.configuration_overrides);
  }
  call.core.store.locations.set(location.id, location);
  return expandObject(location, call.expand, call.core.store);
}

/**
 * The configuration a location's `configuration_overrides` names: it must exist, and cannot be the account default,
 * which applies to every location already (Stripe: the default cannot be applied to a location directly).
 */
function overridingConfiguration(call: ApiCall, id: string): string {
  const configuration = call.core.store.configurations.get(id);
  if (configuration === undefined) {
    throw errors.resourceMissing('terminal.configuration', id, 'configuration_overrides', 400);
  }
  if (configuration.is_account_default === true) {
    throw errors.invalidRequest(
      `${id} is the account default configuration, which applies to every location already: it cannot be a location's configuration_overrides.`,
      'configuration_overrides',
    );
  }
  return configuration.id;
}

function updateLocation(call: ApiCall): Stripe.Terminal.Location {
  const location = findLocation(call);
  const params = paramsAs<Stripe.Terminal.LocationUpdateParams>(call);
  const overrides = params.configuration_overrides === null ? '' : params.configuration_overrides;
  const configuration =
    overrides === undefined || overrides === '' ? overrides : overridingConfiguration(call, overrides);
  const country = params.address?.country;
  if (country !== undefined && country !== location.address.country) {
    throw errors.invalidRequest(
      `You cannot change the country of a location (${location.address.country}). Create a new location in ${country} and register the readers to it instead.`,
      'address[country]',
    );
  }
  if (params.address !== undefined) {
    const given = Object.fromEntries(Object.entries(params.address).filter(([, value]) => value !== undefined));
    location.address = { ...location.address, ...given };
  }
  if (typeof params.display_name === 'string' && params.display_name !== '')
    location.display_name = params.display_name;
  if (params.phone === '' || params.phone === null) delete location.phone;
  else if (params.phone !== undefined) location.phone = params.phone;
  if (configuration === '') delete location.configuration_overrides;
  else if (configuration !== undefined) location.configuration_overrides = configuration;
  location.metadata = mergeMetadata(location.metadata, params.metadata);
  return expandObject(location, call.expand, call.core.store);
}

/**
 * Delete a location. One that readers are still registered to is refused (400): Stripe has the readers removed first,
 * and the emulator does not leave readers pointing at a location that is gone.
 */
function deleteLocation(call: ApiCall): Stripe.Terminal.DeletedLocation {
  const location = findLocation(call);
  const registered = [...call.core.store.readers.values()]
    .filter((state) => readerLocation(state) === location.id)
    .map((state) => state.reader.id);
  if (registered.length > 0) {
    const shown = registered.slice(0, 5).join(', ') + (registered.length > 5 ? ', …' : '');
    throw errors.invalidRequest(
      `This location has ${registered.length} reader${registered.length === 1 ? '' : 's'} registered to it (${shown}). Delete them before deleting the location.`,
      'location',
    );
  }
  call.core.store.locations.delete(location.id);
  call.core.store.deleted.add(location.id);
  const deleted: Stripe.Terminal.DeletedLocation = { id: location.id, object: 'terminal.location', deleted: true };
  return deleted;
}

function readerLocation(state: ReaderState): string | null {
  const location = state.reader.location;
  return typeof location === 'string' ? location : (location?.id ?? null);
}

function reader(call: ApiCall): ReturnType<typeof readerState> {
  return readerState(call.core, call.path.reader ?? '');
}

function respondReader(call: ApiCall, view: Stripe.Terminal.Reader): Stripe.Terminal.Reader {
  return expandObject(view, call.expand, call.core.store);
}

/**
 * What `registration_code` registers: a simulated code, any number of readers; a one-time code minted by
 * `/_emulator/registration_codes`, one reader (refused once used). Anything else is refused.
 */
function registering(
  call: ApiCall,
  code: string,
): { deviceType: SimulatedDeviceType; oneTime: RegistrationCode | null } {
  if (isSimulatedRegistrationCode(code)) return { deviceType: SIMULATED_READERS[code].deviceType, oneTime: null };
  const minted = call.core.store.registrationCodes.get(code);
  if (minted === undefined) {
    throw errors.invalidRequest(
      `Invalid registration_code: '${code}'. The emulator registers simulated readers (${Object.keys(SIMULATED_READERS).join(', ')}) and readers showing a one-time code minted by POST /_emulator/registration_codes.`,
      'registration_code',
    );
  }
  if (minted.reader !== null) {
    throw errors.invalidRequest(
      `The registration code \`${code}\` has already been used to register a reader.`,
      'registration_code',
    );
  }
  return { deviceType: minted.deviceType, oneTime: minted };
}

function createReader(call: ApiCall): Stripe.Terminal.Reader {
  const params = paramsAs<Stripe.Terminal.ReaderCreateParams>(call);
  if (params.location !== undefined && !call.core.store.locations.has(params.location)) {
    throw errors.resourceMissing('terminal.location', params.location, 'location', 400);
  }
  const code = params.registration_code;
  const { deviceType, oneTime } = registering(call, code);
  const created = buildReader({
    id: newId('tmr', 14),
    registrationCode: code,
    deviceType,
    label: params.label,
    location: params.location ?? null,
    metadata: mergeMetadata({}, params.metadata),
    now: call.core.clock.now(),
  });
  call.core.store.readers.set(created.id, {
    reader: created,
    online: true,
    commandFault: null,
    authorizationFault: null,
    commandInFlight: false,
    payment: null,
  });
  if (oneTime !== null) oneTime.reader = created.id;
  return respondReader(call, structuredClone(created));
}

function updateReader(call: ApiCall): Stripe.Terminal.Reader {
  const state = reader(call);
  const params = paramsAs<Stripe.Terminal.ReaderUpdateParams>(call);
  // An empty label goes back to the default one: the registration code, as when the reader was registered without one.
  if (params.label === '' || params.label === null) {
    state.reader.label = codeOfReader(call.core.store, state.reader.id) ?? defaultLabel(state.reader.device_type);
  } else if (params.label !== undefined) state.reader.label = params.label;
  state.reader.metadata = mergeMetadata(state.reader.metadata, params.metadata);
  return respondReader(call, readerView(call.core, state));
}

/**
 * Delete (unregister) a reader, whatever it is doing: Stripe documents no refusal. What it was doing stops without a
 * webhook (`releaseReader`); a command still on its way to it answers 404.
 */
function deleteReader(call: ApiCall): Stripe.Terminal.DeletedReader {
  const state = reader(call);
  releaseReader(call.core, state);
  call.core.store.readers.delete(state.reader.id);
  call.core.store.deleted.add(state.reader.id);
  const deleted: Stripe.Terminal.DeletedReader = {
    id: state.reader.id,
    object: 'terminal.reader',
    deleted: true,
    device_type: state.reader.device_type,
    serial_number: state.reader.serial_number,
  };
  return deleted;
}

function listReaders(call: ApiCall): Stripe.ApiList<Stripe.Terminal.Reader> {
  const params = paramsAs<Stripe.Terminal.ReaderListParams>(call);
  const page = filteredPage(
    newestFirst(call.core.store.readers.values()),
    (state) => state.reader.id,
    (state) =>
      (params.location === undefined || readerLocation(state) === params.location) &&
      (params.status === undefined || (state.online ? 'online' : 'offline') === params.status) &&
      (params.device_type === undefined || state.reader.device_type === params.device_type) &&
      (params.serial_number === undefined || state.reader.serial_number === params.serial_number),
    (state) => readerView(call.core, state),
    params,
    '/v1/terminal/readers',
    'terminal.reader',
  );
  return expandObject(page, call.expand, call.core.store);
}

function presentedCard(params: PresentParams): {
  type: PresentedType;
  number: string;
  expiry?: { month: number; year: number };
} {
  const type = (params.type ?? 'card_present') as PresentedType;
  if (type === 'card') {
    if (params.card === undefined) throw errors.parameterMissing('card');
    return { type, number: params.card.number, expiry: { month: params.card.exp_month, year: params.card.exp_year } };
  }
  const number = type === 'interac_present' ? params.interac_present?.number : params.card_present?.number;
  return { type, number: number ?? DEFAULT_CARD_NUMBER[type] };
}

function presentPaymentMethodCall(call: ApiCall): Stripe.Terminal.Reader {
  const state = reader(call);
  const params = paramsAs<PresentParams>(call);
  const presented = presentedCard(params);
  const card = describeCard(presented.type, presented.number, call.core.clock.now(), presented.expiry);
  return respondReader(call, presentPaymentMethod(call.core, state, { card, amountTip: params.amount_tip }));
}

/** The Terminal routes. */
export const terminalRoutes: Route[] = [
  { method: 'POST', pattern: '/v1/terminal/locations', rules: locationCreateRules, handle: createLocation },
  {
    method: 'GET',
    pattern: '/v1/terminal/locations',
    rules: locationListRules,
    handle: (call) => {
      const page = listPage(
        newestFirst(call.core.store.locations.values()),
        paramsAs<Stripe.Terminal.LocationListParams>(call),
        '/v1/terminal/locations',
        'terminal.location',
      );
      return expandObject(page, call.expand, call.core.store);
    },
  },
  {
    method: 'GET',
    pattern: '/v1/terminal/locations/:location',
    rules: locationRetrieveRules,
    handle: (call) => expandObject(findLocation(call), call.expand, call.core.store),
  },
  { method: 'POST', pattern: '/v1/terminal/locations/:location', rules: locationUpdateRules, handle: updateLocation },
  { method: 'DELETE', pattern: '/v1/terminal/locations/:location', rules: locationDeleteRules, handle: deleteLocation },
  { method: 'POST', pattern: '/v1/terminal/readers', rules: readerCreateRules, handle: createReader },
  { method: 'GET', pattern: '/v1/terminal/readers', rules: readerListRules, handle: listReaders },
  {
    method: 'GET',
    pattern: '/v1/terminal/readers/:reader',
    rules: readerRetrieveRules,
    handle: (call) => respondReader(call, readerView(call.core, reader(call))),
  },
  { method: 'POST', pattern: '/v1/terminal/readers/:reader', rules: readerUpdateRules, handle: updateReader },
  { method: 'DELETE', pattern: '/v1/terminal/readers/:reader', rules: readerDeleteRules, handle: deleteReader },
  {
    method: 'POST',
    pattern: '/v1/terminal/readers/:reader/process_payment_intent',
    rules: processRules,
    handle: async (call) =>
      respondReader(
        call,
        await processPaymentIntent(
          call.core,
          reader(call),
          paramsAs<Stripe.Terminal.ReaderProcessPaymentIntentParams>(call),
        ),
      ),
  },
  {
    method: 'POST',
    pattern: '/v1/terminal/readers/:reader/refund_payment',
    rules: refundPaymentRules,
    handle: async (call) =>
      respondReader(
        call,
        await refundPayment(call.core, reader(call), paramsAs<Stripe.Terminal.ReaderRefundPaymentParams>(call)),
      ),
  },
  {
    method: 'POST',
    pattern: '/v1/terminal/readers/:reader/collect_payment_method',
    rules: collectRules,
    handle: async (call) =>
      respondReader(
        call,
        await collectPaymentMethod(
          call.core,
          reader(call),
          paramsAs<Stripe.Terminal.ReaderCollectPaymentMethodParams>(call),
        ),
      ),
  },
  {
    method: 'POST',
    pattern: '/v1/terminal/readers/:reader/confirm_payment_intent',
    rules: confirmRules,
    handle: async (call) =>
      respondReader(
        call,
        await confirmPaymentIntent(
          call.core,
          reader(call),
          paramsAs<Stripe.Terminal.ReaderConfirmPaymentIntentParams>(call),
        ),
      ),
  },
  {
    method: 'POST',
    pattern: '/v1/terminal/readers/:reader/set_reader_display',
    rules: displayRules,
    handle: async (call) =>
      respondReader(
        call,
        await setReaderDisplay(call.core, reader(call), paramsAs<Stripe.Terminal.ReaderSetReaderDisplayParams>(call)),
      ),
  },
  {
    method: 'POST',
    pattern: '/v1/terminal/readers/:reader/cancel_action',
    rules: cancelActionRules,
    handle: (call) => respondReader(call, cancelAction(call.core, reader(call))),
  },
  {
    method: 'POST',
    pattern: '/v1/test_helpers/terminal/readers/:reader/present_payment_method',
    rules: presentRules,
    handle: presentPaymentMethodCall,
  },
];

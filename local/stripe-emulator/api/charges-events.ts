/** `/v1/charges/{id}` (retrieve) and `/v1/events` (retrieve, list with `type` / `types` / `created` filters). */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { pagination, paramsOf, rule } from '../http/params.ts';
import { type ApiCall, paramsAs, type Route } from '../http/router.ts';
import { expandObject } from './expand.ts';
import { createdMatches, listPage, newestFirst } from './list.ts';

const chargeRetrieveRules = paramsOf<Stripe.ChargeRetrieveParams>({ expand: rule.expand() });
const eventRetrieveRules = paramsOf<Stripe.EventRetrieveParams>({ expand: rule.expand() });
const eventListRules = paramsOf<Stripe.EventListParams>({
  ...pagination,
  created: rule.range(),
  delivery_success: rule.boolean(),
  expand: rule.expand(),
  type: rule.string(),
  types: rule.arrayOf(rule.string()),
});

/** Stripe's `type` filter takes one `*` wildcard, e.g. `payment_intent.*`. */
function typeMatches(type: string, pattern: string): boolean {
  if (!pattern.includes('*')) return type === pattern;
  const [prefix = '', suffix = ''] = pattern.split('*', 2);
  return type.startsWith(prefix) && type.endsWith(suffix) && type.length >= prefix.length + suffix.length;
}

function retrieveCharge(call: ApiCall): Stripe.Charge {
  const id = call.path.charge ?? '';
  const charge = call.core.store.charges.get(id);
  if (charge === undefined) throw errors.resourceMissing('charge', id, 'charge');
  return expandObject(charge, call.expand, call.core.store);
}

function retrieveEvent(call: ApiCall): Stripe.Event {
  const id = call.path.id ?? '';
  const event = call.core.store.events.get(id);
  if (event === undefined) throw errors.resourceMissing('event', id, 'id');
  return structuredClone(event);
}

function listEvents(call: ApiCall): Stripe.ApiList<Stripe.Event> {
  const params = paramsAs<Stripe.EventListParams>(call);
  if (params.type !== undefined && params.types !== undefined) {
    throw errors.invalidRequest('You may only specify one of these parameters: type, types.', 'types');
  }
  const matching = newestFirst(call.core.store.events.values()).filter(
    (event) =>
      createdMatches(event.created, params.created) &&
      (params.type === undefined || typeMatches(event.type, params.type)) &&
      (params.types === undefined || params.types.includes(event.type)),
  );
  return structuredClone(listPage(matching, params, '/v1/events', 'event'));
}

/** Charge and event routes. */
export const chargeAndEventRoutes: Route[] = [
  { method: 'GET', pattern: '/v1/charges/:charge', rules: chargeRetrieveRules, handle: retrieveCharge },
  { method: 'GET', pattern: '/v1/events', rules: eventListRules, handle: listEvents },
  { method: 'GET', pattern: '/v1/events/:id', rules: eventRetrieveRules, handle: retrieveEvent },
];

/**
 * `expand[]`: replace an id in a response by the object it names (`latest_charge` → the Charge). Dotted paths
 * expand further (`latest_charge.payment_intent`), and lists expand through `data.`. A field Stripe cannot
 * expand is a 400, as at Stripe.
 */
import { errors } from '../errors.ts';
import type { Store } from '../state/store.ts';

type Json = Record<string, unknown>;

/** Expandable fields per object type, and where to find what they name (null: only ever null here). */
const EXPANDABLE: Record<string, Record<string, ((store: Store, id: string) => unknown) | null>> = {
  payment_intent: {
    latest_charge: (store, id) => store.charges.get(id),
    payment_method: (store, id) => store.paymentMethods.get(id),
    customer: null,
    application: null,
    on_behalf_of: null,
    review: null,
    source: null,
    payment_record: null,
  },
  charge: {
    payment_intent: (store, id) => store.paymentIntents.get(id),
    customer: null,
    balance_transaction: null,
    application: null,
    application_fee: null,
    on_behalf_of: null,
    review: null,
    source_transfer: null,
    failure_balance_transaction: null,
  },
  'terminal.reader': {
    location: (store, id) => store.locations.get(id),
  },
};

function expandPath(target: Json, segments: string[], store: Store, fullPath: string): void {
  const [field, ...rest] = segments;
  if (field === undefined) return;
  if (target.object === 'list' && field === 'data' && Array.isArray(target.data)) {
    for (const item of target.data) expandPath(item as Json, rest, store, fullPath);
    return;
  }
  const fields = EXPANDABLE[String(target.object)];
  if (fields === undefined || !Object.hasOwn(fields, field)) throw errors.notExpandable(fullPath);
  const resolve = fields[field];
  const current = target[field];
  if (typeof current === 'string' && resolve) {
    const found = resolve(store, current);
    if (found !== undefined) target[field] = structuredClone(found);
  }
  const expanded = target[field];
  if (rest.length > 0 && expanded !== null && typeof expanded === 'object') {
    expandPath(expanded as Json, rest, store, fullPath);
  }
}

/** A copy of `object` with `paths` expanded. */
export function expandObject<T extends object>(object: T, paths: string[], store: Store): T {
  const copy = structuredClone(object);
  for (const path of paths) expandPath(copy as Json, path.split('.'), store, path);
  return copy;
}

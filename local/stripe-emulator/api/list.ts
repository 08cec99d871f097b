/** Stripe's list responses: newest first, `limit` (1–100, default 10), `starting_after` / `ending_before` cursors. */
import type Stripe from 'stripe';
import { errors, StripeError } from '../errors.ts';

/** A page of `newestFirst` as Stripe lists it. */
export function listPage<T extends { id: string }>(
  newestFirst: T[],
  params: Stripe.PaginationParams,
  url: string,
  objectName: string,
): Stripe.ApiList<T> {
  const limit = params.limit ?? 10;
  if (limit < 1) throw errors.parameterIntegerTooSmall('limit', 1);
  if (limit > 100) {
    throw new StripeError(400, {
      type: 'invalid_request_error',
      code: 'parameter_invalid_integer',
      message: 'This value must be less than or equal to 100.',
      param: 'limit',
    });
  }
  let items = newestFirst;
  let fromEnd = false;
  if (params.starting_after !== undefined) {
    const index = newestFirst.findIndex((item) => item.id === params.starting_after);
    if (index < 0) throw errors.resourceMissing(objectName, params.starting_after, 'starting_after', 400);
    items = newestFirst.slice(index + 1);
  } else if (params.ending_before !== undefined) {
    const index = newestFirst.findIndex((item) => item.id === params.ending_before);
    if (index < 0) throw errors.resourceMissing(objectName, params.ending_before, 'ending_before', 400);
    items = newestFirst.slice(0, index);
    fromEnd = true;
  }
  const data = fromEnd ? items.slice(Math.max(0, items.length - limit)) : items.slice(0, limit);
  return { object: 'list', data, has_more: items.length > data.length, url };
}

/** Whether a `created` (unix seconds) passes a Stripe `created` filter (exact value or range). */
export function createdMatches(created: number, filter: Stripe.RangeQueryParam | number | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'number') return created === filter;
  return (
    (filter.gt === undefined || created > filter.gt) &&
    (filter.gte === undefined || created >= filter.gte) &&
    (filter.lt === undefined || created < filter.lt) &&
    (filter.lte === undefined || created <= filter.lte)
  );
}

/** Objects of a map, newest first. */
export function newestFirst<T>(items: Iterable<T>): T[] {
  return [...items].reverse();
}

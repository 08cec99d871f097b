/** Stripe's list responses: newest first, `limit` (1–100, default 10), `starting_after` / `ending_before` cursors. */
import type Stripe from 'stripe';
import { errors, StripeError } from '../errors.ts';

/** `limit` as Stripe takes it: 1–100, 10 when not given. */
function checkedLimit(given: number | undefined): number {
  const limit = given ?? 10;
  if (limit < 1) throw errors.parameterIntegerTooSmall('limit', 1);
  if (limit > 100) {
    throw new StripeError(400, {
      type: 'invalid_request_error',
      code: 'parameter_invalid_integer',
      message: 'This value must be less than or equal to 100.',
      param: 'limit',
    });
  }
  return limit;
}

/** A page of `newestFirst` as Stripe lists it. */
export function listPage<T extends { id: string }>(
  newestFirst: T[],
  params: Stripe.PaginationParams,
  url: string,
  objectName: string,
): Stripe.ApiList<T> {
  const limit = checkedLimit(params.limit);
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

/**
 * A filtered page as Stripe pages a filtered list: the cursor is looked up among all the objects (newest first), not
 * only those that match, so a cursor object that stopped matching (a reader gone offline between two pages) still
 * marks the place; only a cursor that does not exist is a 400. `matches` is tried on the objects after (or before) the
 * cursor until the page is full plus one, and only the page's objects are turned into what is shown (`view`).
 */
export function filteredPage<S, T>(
  newestFirst: readonly S[],
  idOf: (item: S) => string,
  matches: (item: S) => boolean,
  view: (item: S) => T,
  params: Stripe.PaginationParams,
  url: string,
  objectName: string,
): Stripe.ApiList<T> {
  const limit = checkedLimit(params.limit);
  const cursorIndex = (cursor: string, param: string): number => {
    const index = newestFirst.findIndex((item) => idOf(item) === cursor);
    if (index < 0) throw errors.resourceMissing(objectName, cursor, param, 400);
    return index;
  };
  const page: S[] = [];
  let hasMore = false;
  if (params.starting_after === undefined && params.ending_before !== undefined) {
    for (let index = cursorIndex(params.ending_before, 'ending_before') - 1; index >= 0; index--) {
      const item = newestFirst[index] as S;
      if (!matches(item)) continue;
      if (page.length === limit) {
        hasMore = true;
        break;
      }
      page.unshift(item);
    }
  } else {
    const start = params.starting_after === undefined ? 0 : cursorIndex(params.starting_after, 'starting_after') + 1;
    for (let index = start; index < newestFirst.length; index++) {
      const item = newestFirst[index] as S;
      if (!matches(item)) continue;
      if (page.length === limit) {
        hasMore = true;
        break;
      }
      page.push(item);
    }
  }
  return { object: 'list', data: page.map(view), has_more: hasMore, url };
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

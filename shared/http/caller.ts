/**
 * Who is calling, from the JWT claims API Gateway's authorizer verified (`requestContext.authorizer.jwt.claims`).
 */
import { ForbiddenError, PaymentNotFoundError, ReaderNotFoundError } from './errors.ts';

/** The signed-in POS user, the Stripe Terminal locations they may act for, and whether they run the fleet. */
export interface Caller {
  sub: string;
  /** Location ids, or `*` for every location. */
  locations: readonly string[] | '*';
  /** Present (true) for a shop's admin (`custom:role` = `admin`): may register, relabel and delete readers. */
  admin?: true;
}

/** The claim that lists the caller's locations, comma-separated, or `*`. */
export const LOCATIONS_CLAIM = 'custom:locations';

/** The claim that names the caller's role; `admin` opens the fleet routes. */
export const ROLE_CLAIM = 'custom:role';

/** The role that opens the fleet routes. */
export const ADMIN_ROLE = 'admin';

/**
 * Set (`true`), instead of `custom:locations` and `custom:role`, in the token of a user who may act for every location
 * or runs the fleet but signed in without a second factor (`functions/identity/issue-tokens.ts`).
 */
export const MFA_REQUIRED_CLAIM = 'mfa_required';

/** The answer to a token that carries `mfa_required`. */
export const MFA_REQUIRED_MESSAGE =
  'This account may act for every location or manage the reader fleet, so it must sign in with a second factor: ' +
  'set up an authenticator app (TOTP) for it, then sign in again.';

type Claims = Record<string, string | number | boolean | string[]>;

/**
 * The caller from verified claims; undefined when there is no subject. Throws 403 for a token issued without its
 * privileged claims because the user signed in without a second factor (`mfa_required`).
 */
export function callerFromClaims(claims: Claims | undefined): Caller | undefined {
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) return undefined;
  if (String(claims?.[MFA_REQUIRED_CLAIM]) === 'true') throw new ForbiddenError(MFA_REQUIRED_MESSAGE);
  const raw = claims?.[LOCATIONS_CLAIM];
  // API Gateway hands claims over as strings; an array claim arrives as "[a b]".
  const text = Array.isArray(raw) ? raw.join(',') : typeof raw === 'string' ? raw : '';
  const entries = text
    .replace(/^\[|\]$/g, '')
    .split(/[,\s]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const admin = claims?.[ROLE_CLAIM] === ADMIN_ROLE ? { admin: true as const } : {};
  if (entries.includes('*')) return { sub, locations: '*', ...admin };
  return { sub, locations: [...new Set(entries)], ...admin };
}

/** Throw 403 unless the caller is a shop's admin (`custom:role` = `admin`). */
export function authorizeAdmin(caller: Caller): void {
  if (caller.admin !== true) {
    throw new ForbiddenError('Only an admin can do this: the token needs the claim custom:role = admin.');
  }
}

/** True when the caller may act for `locationId`. */
export function canActFor(caller: Caller, locationId: string | null | undefined): boolean {
  if (caller.locations === '*') return true;
  return typeof locationId === 'string' && caller.locations.includes(locationId);
}

/** Throw 403 unless the caller may act for `locationId`, a location the caller named (`locationId` of a request). */
export function authorizeLocation(caller: Caller, locationId: string | null | undefined): void {
  if (!canActFor(caller, locationId)) throw new ForbiddenError();
}

/**
 * The payment loaded by id, if the caller may act for its location. Another location's payment is 404
 * `payment_not_found` with the same body as an unknown id, so the answer does not tell that the id exists.
 */
export function visiblePayment<T extends { locationId: string }>(caller: Caller, payment: T | undefined): T {
  if (payment === undefined || !canActFor(caller, payment.locationId)) throw new PaymentNotFoundError();
  return payment;
}

/** The reader loaded by id, if the caller may act for its location; else 404 `reader_not_found`, as for an unknown id. */
export function visibleReader<T extends { locationId: string | null }>(caller: Caller, reader: T | undefined): T {
  if (reader === undefined || !canActFor(caller, reader.locationId)) throw new ReaderNotFoundError();
  return reader;
}

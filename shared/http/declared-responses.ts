/**
 * Each handler declares the statuses and error codes it can answer with, next to its code. `openapi.yaml` is
 * checked against these declarations, and the integration tests check every answer against them.
 */
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

/** Status → error codes answered with it (empty for success statuses). */
export type DeclaredResponses = Readonly<Record<number, readonly string[]>>;

export interface ResponseDeclaration {
  success: number[];
  /** Error codes beside those every route of its kind can answer with. */
  errors: ErrorCode[];
  /**
   * `jwt` routes can answer 401, 403 and call Stripe (502); default `jwt`. Every one answers 403 `forbidden` to a token
   * issued without its privileged claims (`mfa_required`); one where the caller names a location also to a location
   * outside the caller's. A payment or reader of another location reached by id is not found, as an unknown id is.
   */
  auth?: 'jwt' | 'none';
  /** Routes that read a JSON body can refuse it (400 `invalid_json`, 415). */
  jsonBody?: boolean;
  /** Whether the route calls Stripe (502 `stripe_unavailable`); default true for `jwt` routes. */
  callsStripe?: boolean;
}

/** The full declaration for a route: its own codes plus the ones every such route shares. */
export function declareResponses(declaration: ResponseDeclaration): DeclaredResponses {
  const codes: ErrorCode[] = ['internal_error', ...declaration.errors];
  if ((declaration.auth ?? 'jwt') === 'jwt') {
    codes.push('validation_error', 'unauthorized', 'forbidden');
  }
  if (declaration.callsStripe ?? (declaration.auth ?? 'jwt') === 'jwt') codes.push('stripe_unavailable');
  if (declaration.jsonBody) codes.push('invalid_json', 'unsupported_media_type');
  const responses: Record<number, string[]> = {};
  for (const status of declaration.success) responses[status] = [];
  for (const code of new Set(codes)) {
    const status = ERROR_STATUS[code];
    responses[status] = [...(responses[status] ?? []), code].sort();
  }
  return responses;
}

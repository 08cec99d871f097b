/**
 * POST /locations — a new Terminal location, for an admin of every location (`custom:locations` = `*`): an admin of
 * some locations could not act for the new one. An `Idempotency-Key` header makes a retry safe: the same key and body
 * answer the same location; the same key with another body is 409 `idempotency_key_reused`.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeAdmin } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ForbiddenError } from '../../shared/http/errors.ts';
import { created } from '../../shared/http/responses.ts';
import { optionalIdempotencyKey, Text } from '../../shared/http/schemas.ts';
import { createLocation } from '../../shared/operations/reader-fleet.ts';
import * as z from '../../shared/zod.ts';

const Line = (field: string) =>
  Text.check(z.trim(), z.minLength(1, `Give the ${field}.`), z.maxLength(200, 'At most 200 characters.'));

const Body = z.strictObject({
  displayName: Text.check(
    z.trim(),
    z.minLength(1, 'Give the name the location is shown by.'),
    z.maxLength(100, 'At most 100 characters.'),
  ),
  address: z.strictObject({
    line1: Line('street address'),
    line2: z.optional(Line('second address line')),
    city: Line('city'),
    postalCode: Line('postal code').check(z.maxLength(20, 'At most 20 characters.')),
    country: z.string().check(z.regex(/^[A-Z]{2}$/, 'A two-letter ISO 3166-1 country code in capitals, such as US.')),
    state: z.optional(Line('state, province or region')),
  }),
});

export const responses = declareResponses({
  success: [201],
  errors: ['idempotency_key_reused', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ body, caller, deadline, deps, event, requestId }) => {
    authorizeAdmin(caller);
    if (caller.locations !== '*') {
      throw new ForbiddenError(
        'Only an admin of every location (custom:locations = *) can create a location: yours could not act for it.',
      );
    }
    const idempotencyKey = optionalIdempotencyKey(event.headers?.['idempotency-key']);
    const { address } = body;
    const location = await createLocation(
      deps,
      {
        displayName: body.displayName,
        address: {
          line1: address.line1,
          city: address.city,
          postal_code: address.postalCode,
          country: address.country,
          ...(address.line2 === undefined ? {} : { line2: address.line2 }),
          ...(address.state === undefined ? {} : { state: address.state }),
        },
      },
      { deadline, requestId, callerId: caller.sub, idempotencyKey },
    );
    return created({ location });
  },
  { body: Body },
);

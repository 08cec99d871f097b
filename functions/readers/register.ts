/**
 * POST /readers — register a reader (an admin's): the code the reader shows (Settings → Generate pairing code), at a
 * location the admin may act for, with an optional label. An unknown or used code is 400
 * `invalid_registration_code`. The code registers once, so send an `Idempotency-Key` header to make a retry safe: the
 * same key and body answer the same reader.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeAdmin, authorizeLocation } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { created } from '../../shared/http/responses.ts';
import { optionalIdempotencyKey, ReaderLabel, StripeId } from '../../shared/http/schemas.ts';
import { registerReader } from '../../shared/operations/reader-fleet.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import * as z from '../../shared/zod.ts';

const Body = z.strictObject({
  registrationCode: z
    .string()
    .check(
      z.trim(),
      z.minLength(1, 'Give the registration code the reader shows.'),
      z.maxLength(100, 'At most 100 characters.'),
      z.regex(/^[\x21-\x7e]+$/, 'A registration code is words joined by hyphens, such as puppies-plug-could.'),
    ),
  locationId: StripeId,
  label: z.optional(ReaderLabel),
});

export const responses = declareResponses({
  success: [201],
  errors: ['invalid_registration_code', 'location_not_found', 'idempotency_key_reused', 'stripe_timeout'],
  jsonBody: true,
});

export const handler = apiHandler(
  async ({ body, caller, deadline, deps, event, requestId }) => {
    authorizeAdmin(caller);
    authorizeLocation(caller, body.locationId);
    const idempotencyKey = optionalIdempotencyKey(event.headers?.['idempotency-key']);
    const reader = await registerReader(deps, body, { deadline, requestId, callerId: caller.sub, idempotencyKey });
    return created({ reader: toReaderResource(reader) });
  },
  { body: Body },
);

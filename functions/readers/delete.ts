/**
 * DELETE /readers/{id} — retire a reader (an admin's): unregistered at Stripe and gone from the reader list; the
 * POS hears `reader.removed`. Refused with 409 `reader_busy` while the reader runs an action (a payment or refund
 * waits on it): let it finish or cancel it first. Deleting it again answers 204 as well.
 */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { authorizeAdmin, canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { noContent } from '../../shared/http/responses.ts';
import { ReaderIdParams } from '../../shared/http/schemas.ts';
import { removeReader } from '../../shared/operations/reader-fleet.ts';

export const responses = declareResponses({
  success: [204],
  errors: ['reader_not_found', 'reader_busy', 'stripe_timeout'],
});

export const handler = apiHandler(
  async ({ params, caller, deadline, deps }) => {
    authorizeAdmin(caller);
    const access = (locationId: string | null) => canActFor(caller, locationId);
    await removeReader(deps, params.id, access, { deadline });
    return noContent();
  },
  { params: ReaderIdParams },
);

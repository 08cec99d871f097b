/** GET /readers/{id} — one reader, fresh from Stripe (status and current action). */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { canActFor } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { ReaderIdParams } from '../../shared/http/schemas.ts';
import { readReader } from '../../shared/operations/read-readers.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';

export const responses = declareResponses({ success: [200], errors: ['reader_not_found'] });

export const handler = apiHandler(
  async ({ params, caller, deps }) => {
    const reader = await readReader(deps, params.id, (locationId) => canActFor(caller, locationId));
    return ok({ reader: toReaderResource(reader) });
  },
  { params: ReaderIdParams },
);

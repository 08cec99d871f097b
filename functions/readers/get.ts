/** GET /readers/{id} — one reader, fresh from Stripe (status and current action). */
import { apiHandler } from '../../shared/http/api-handler.ts';
import { visibleReader } from '../../shared/http/caller.ts';
import { declareResponses } from '../../shared/http/declared-responses.ts';
import { ok } from '../../shared/http/responses.ts';
import { ReaderIdParams } from '../../shared/http/schemas.ts';
import { toReaderResource } from '../../shared/payments/resource.ts';
import { putReaderLocation, readerLocationOf } from '../../shared/store/readers.ts';
import { retrieveReader } from '../../shared/stripe/calls.ts';
import { readerSnapshot } from '../../shared/stripe/snapshots.ts';

export const responses = declareResponses({ success: [200], errors: ['reader_not_found'], forbidden: false });

export const handler = apiHandler(
  async ({ params, caller }) => {
    const found = await retrieveReader(params.id);
    const reader = visibleReader(caller, found === undefined ? undefined : readerSnapshot(found));

    // Keep the reader → location cache in step with what Stripe just said.
    const location = readerLocationOf(reader, new Date());
    if (location !== undefined) await putReaderLocation(location);
    return ok({ reader: toReaderResource(reader) });
  },
  { params: ReaderIdParams },
);

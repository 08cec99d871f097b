/**
 * The reconciler's cost of keeping the reader fleet's health, with a small and a large fleet: Stripe and DynamoDB
 * requests per run. Health is one paginated list of the readers per run (100 a page) and one query of the stored
 * fleet, so its Stripe requests grow with the readers (a page per 100), never with the payments; a run that finds
 * nothing new writes nothing, and a reader going offline is one write.
 */
import { countByOperation, stripeOperation } from '../payments.ts';
import type { BenchStack, DynamoTally, StripeRequest } from '../stack.ts';

/** One reconciler run: what it asked of Stripe and of DynamoDB. */
export interface FleetRun {
  /** `quiet`: nothing changed since the last run; `offline`: one reader went offline just before. */
  kind: 'quiet' | 'offline';
  stripe: { total: number; byOperation: Record<string, number> };
  /** Reader list pages, and retrieves of the fleet's own readers (none unless one was deleted at Stripe). */
  listPages: number;
  fleetRetrieves: number;
  tally: DynamoTally;
  durationMs: number;
  error?: string;
}

export interface FleetSize {
  /** Readers Stripe holds during the runs (every location). */
  readers: number;
  runs: FleetRun[];
}

export interface ReaderFleetResult {
  sizes: FleetSize[];
}

/** Stripe lists at most 100 readers a page. */
export const READER_LIST_PAGE = 100;

interface ReaderList {
  data: { id: string }[];
  has_more: boolean;
}

async function countReaders(bench: BenchStack): Promise<number> {
  let count = 0;
  for (let after: string | undefined; ; ) {
    const page = await bench.stripeApi<ReaderList>(
      'GET',
      `/v1/terminal/readers?limit=100${after === undefined ? '' : `&starting_after=${after}`}`,
    );
    count += page.data.length;
    after = page.data.at(-1)?.id;
    if (!page.has_more || after === undefined) return count;
  }
}

/**
 * Grow the fleet to each size in turn (readers registered at one location of their own), let one run store them, then
 * measure `quietRuns` runs with nothing new and one run after a reader went offline.
 */
export async function measureReaderFleet(
  bench: BenchStack,
  options: { sizes: readonly number[]; quietRuns: number },
): Promise<ReaderFleetResult> {
  const location = await bench.stripeApi<{ id: string }>('POST', '/v1/terminal/locations', {
    display_name: 'Bench fleet',
    'address[line1]': '1 Fleet St',
    'address[city]': 'Toronto',
    'address[postal_code]': 'M5V 1J1',
    'address[country]': 'CA',
    'address[state]': 'ON',
  });
  const fleet: string[] = [];
  const sizes: FleetSize[] = [];
  for (const size of options.sizes) {
    const missing = size - (await countReaders(bench));
    for (let n = 0; n < missing; n += 1) {
      const reader = await bench.stripeApi<{ id: string }>('POST', '/v1/terminal/readers', {
        registration_code: 'simulated-s700',
        location: location.id,
        label: `Fleet ${fleet.length + 1}`,
      });
      fleet.push(reader.id);
    }
    const readers = await countReaders(bench);
    // The first run stores the new readers; the measured ones start from a table in step with Stripe.
    await measureRun(bench, 'quiet', fleet);
    const runs: FleetRun[] = [];
    for (let n = 0; n < options.quietRuns; n += 1) runs.push(await measureRun(bench, 'quiet', fleet));
    const flapping = fleet.at(-1) ?? bench.location.readers[0];
    if (flapping !== undefined) {
      await bench.control(`readers/${flapping}/offline`, {});
      runs.push(await measureRun(bench, 'offline', fleet));
      await bench.control(`readers/${flapping}/online`, {});
      await measureRun(bench, 'quiet', fleet);
    }
    sizes.push({ readers, runs });
  }
  return { sizes };
}

async function measureRun(bench: BenchStack, kind: FleetRun['kind'], fleet: readonly string[]): Promise<FleetRun> {
  await bench.quiesce();
  const before = (await bench.stripeRequests()).length;
  const { result: outcome, tally } = await bench.dynamo.measure(() => bench.stack.scheduler.runNow());
  const requests: StripeRequest[] = (await bench.stripeRequests()).slice(before);
  const ours = new Set(fleet);
  const retrieves = requests.filter(
    (request) => stripeOperation(request) === 'retrieve_reader' && ours.has(request.path.split('/').at(-1) ?? ''),
  );
  return {
    kind,
    stripe: { total: requests.length, byOperation: countByOperation(requests) },
    listPages: requests.filter((request) => stripeOperation(request) === 'list_readers').length,
    fleetRetrieves: retrieves.length,
    tally,
    durationMs: outcome?.durationMs ?? 0,
    ...(outcome?.error ? { error: outcome.error.message } : {}),
  };
}

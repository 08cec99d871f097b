/**
 * The reconciler's DynamoDB reads per run with few and with many healthy (finished) payments in the table. A
 * reconciler that reads only the sparse indexes of payments needing attention reads the same either way; one that
 * scans or pages through all payments reads in proportion to the table.
 */
import { handlerExists, type LocalFunction } from '../../local/lambda.ts';
import { backgroundFunctions } from '../../shared/routes.ts';
import { countPayments, finishedPayment, writePayments } from '../seed.ts';
import type { BenchStack, DynamoTally } from '../stack.ts';
import { median } from '../stats.ts';

export interface ReconcilerRun {
  tally: DynamoTally;
  durationMs: number;
  error?: string;
}

export interface ReconcilerSize {
  /** Payments in the table during the runs (seeded healthy ones and those earlier scenarios finished). */
  payments: number;
  seeded: number;
  runs: ReconcilerRun[];
  medianReads: number;
}

export type ReconcilerReadsResult =
  | { available: false; reason: string }
  | { available: true; small: ReconcilerSize; large: ReconcilerSize; ratio: number };

/** The goal: reads per run with the large table at most this many times those with the small one. */
export const MAX_RECONCILER_READ_RATIO = 1.1;

const reconciler: LocalFunction = { ...backgroundFunctions.reconcile, timeoutSeconds: 60 };

/** Why the reconciler cannot be measured, or undefined when it can. */
export function reconcilerMissing(): string | undefined {
  return handlerExists(reconciler) ? undefined : `${backgroundFunctions.reconcile.entry} does not exist yet`;
}

/**
 * Seed healthy, finished payments until the table holds `payments` of them (payments earlier scenarios finished
 * count too), then run the reconciler `runs` times and count its DynamoDB requests.
 */
export async function measureReconcilerAt(
  bench: BenchStack,
  options: { payments: number; runs: number },
): Promise<ReconcilerSize | undefined> {
  const tableName = bench.stack.state.dynamodb.tableName;
  const { id: locationId, readers } = bench.location;
  const readerId = readers[0] as string;
  await bench.quiesce();
  const present = await countPayments(bench.table, tableName);
  const missing = Math.max(0, options.payments - present);
  const day = 24 * 60 * 60 * 1000;
  // Spread over the 30 days before yesterday, as a real table's payments are: every index key differs.
  const base = Date.now() - 2 * day;
  const records = Array.from({ length: missing }, (_, n) =>
    finishedPayment(locationId, readerId, new Date(base - ((present + n) % 30) * day - n * 37)),
  );
  await writePayments(bench.table, tableName, records, 6);
  const payments = await countPayments(bench.table, tableName);

  const results: ReconcilerRun[] = [];
  for (let n = 0; n < options.runs; n += 1) {
    await bench.quiesce();
    const { result: outcome, tally } = await bench.dynamo.measure(() => bench.stack.scheduler.runNow());
    if (outcome === undefined) return undefined;
    results.push({ tally, durationMs: outcome.durationMs, ...(outcome.error ? { error: outcome.error.message } : {}) });
  }
  return { payments, seeded: missing, runs: results, medianReads: median(results.map((run) => run.tally.reads)) };
}

/** Reads with the large table over reads with the small one (1 when both read nothing). */
export function readRatio(small: ReconcilerSize, large: ReconcilerSize): number {
  if (small.medianReads === 0) return large.medianReads === 0 ? 1 : Number.POSITIVE_INFINITY;
  return large.medianReads / small.medianReads;
}

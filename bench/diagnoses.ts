/**
 * Why a figure misses its goal, for the misses that have been traced to their code. Each diagnosis applies only
 * while the measurement still has the shape it was traced from (the same requests), so a stale one never shows:
 * the table then falls back to the bare breakdown.
 */
import { formatUsd } from './cost.ts';
import { formatBreakdown, formatCount } from './report.ts';

interface CallDiagnosis {
  /** `METHOD /path` or `METHOD /path (variant)`. */
  call: string;
  /** The DynamoDB requests the diagnosis explains, exactly. */
  requests: Record<string, number>;
  why: string;
}

const CALL_DIAGNOSES: readonly CallDiagnosis[] = [
  {
    call: 'POST /payments (with readerId)',
    requests: { GetItem: 1, PutItem: 2, TransactWriteItems: 1 },
    why:
      "create.ts reads the reader's cached location (locateReader: GetItem), openOrderPayment claims the order " +
      '(claimOrder: PutItem) and stores payment + order (insertPaymentForOrder: TransactWriteItems), then ' +
      'processOnReader stores the attempt (updatePayment: PutItem). To 3: make the claim a TransactWriteItems with a ' +
      'ConditionCheck on READER#{readerId} (locationId = body.locationId), falling back to Stripe only when it fails. ' +
      'To 2: also create the PaymentIntent first (key create:…:1) and claim the order + insert the payment + check ' +
      'the reader in that one transaction.',
  },
  {
    call: 'POST /readers/{id}/cancel-action',
    requests: { GetItem: 2, PutItem: 1 },
    why:
      "cancel-action.ts reads the reader's location (locateReader: GetItem) and the named payment (getPayment: " +
      'GetItem) separately: read both in one BatchGetItem with shared/store/readers.ts getPaymentAndReader(paymentId, ' +
      'readerId) and pass the reader to locateReader, as process.ts does. Then 2.',
  },
  {
    call: 'POST /payments/{id}/cancel (reader action in progress)',
    requests: { GetItem: 1, PutItem: 2 },
    why:
      'cancel.ts stores twice: releaseReaderAction applies the canceled action (PutItem), then the canceled ' +
      'PaymentIntent is applied (PutItem). Have releaseReaderAction return the observation instead of storing it and ' +
      'apply [canceled action, PaymentIntent] in one applyToPayment (store the action alone only when the Stripe ' +
      'cancel fails). Then 2.',
  },
];

/** Why this POS API call sends `requests` DynamoDB requests, when that has been traced. */
export function apiCallDiagnosis(call: string, requests: Record<string, number>): string | undefined {
  const match = CALL_DIAGNOSES.find(
    (diagnosis) => diagnosis.call === call && formatBreakdown(diagnosis.requests) === formatBreakdown(requests),
  );
  return match?.why;
}

/**
 * What to change so a handler stops loading `pkg` at cold start, given how it reaches it (`via`, from the bundle's
 * import graph), for the packages measured to cost it. Undefined when the handler needs the package.
 */
export function packageFix(pkg: string, via: readonly string[] = []): string | undefined {
  const through = (file: string) => via.includes(file);
  if (pkg === 'zod') {
    return through('shared/config.ts') && via.length === 3
      ? 'zod: shared/config.ts validates with zod 4 classic, which loads whole (~450 KB; ~85 ms to import here vs ~15 ms for zod/mini): use plain checks or zod/mini there.'
      : 'zod: the request schemas and shared/config.ts use zod 4 classic, which loads whole (~450 KB, ~85 ms here): use zod/mini.';
  }
  if (pkg === 'stripe') {
    if (through('shared/stripe/webhook-signature.ts')) {
      return 'stripe: webhook-signature.ts imports the whole SDK for constructEvent: verify with node:crypto (HMAC-SHA256 of "t.body", timingSafeEqual, 300 s tolerance).';
    }
    if (through('shared/stripe/errors.ts') && !through('shared/stripe/client.ts')) {
      return 'stripe: shared/stripe/errors.ts imports the SDK only for instanceof Stripe.errors.*: match error.type instead, so handlers that never call Stripe stop loading it.';
    }
  }
  return undefined;
}

/** What a payment's AWS cost is made of, for the diagnosis of a miss (a manual-capture payment, per 1,000). */
export interface CostFigures {
  /** Dollars over the goal. */
  over: number;
  writeUnits: number;
  indexWriteUnits: number;
  indexWritesUsd: number;
  paymentBytes: number;
  /** Webhook events a payment, and their HTTP API and SQS requests in dollars. */
  events: number;
  perEventUsd: number;
  stripeWaitUsd: number;
}

/**
 * Why 1,000 payments cost more than the goal, while most of their DynamoDB writes are index writes (the shape this
 * was traced from): every index of `shared/store/table.ts` projects all attributes (`local/create-table.ts`, the CDK
 * table likewise), so a write of the payment rewrites its copy in each index it is in, even when no index key moves.
 */
export function costDiagnosis(figures: CostFigures): string | undefined {
  if (figures.indexWriteUnits * 2 <= figures.writeUnits) return undefined;
  return (
    `Over by ${formatUsd(figures.over)}. ${Math.round(figures.indexWriteUnits)} of ${Math.round(figures.writeUnits)} ` +
    `WRU (${formatUsd(figures.indexWritesUsd)}) are index writes: every index projects all attributes, so each ` +
    `write of the ${formatCount(figures.paymentBytes)} B payment (create, process, each applied event, capture) ` +
    'rewrites its copies in byLocation and byCreated, and in the in-flight index it enters or leaves. An index ' +
    'projecting its keys only costs a write only when one of its keys changes (GET /payments would then read the ' +
    `payments it lists apart). Then the ${figures.events} webhook events: their HTTP API and SQS requests ` +
    `${formatUsd(figures.perEventUsd)}, each a receiver, a processor and a notifier run; and the Lambdas waiting ` +
    `on Stripe at 1,024 MB ${formatUsd(figures.stripeWaitUsd)} (half at 512 MB)`
  );
}

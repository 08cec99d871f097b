/**
 * What one reconciler run carries from payment to payment: its settings, clock, paced Stripe calls, the counts it
 * reports, and the two ways it stores a change. Every change is a version-conditional write of the payment
 * (`updatePayment`), and what Stripe showed goes through the reducer (`applyObservations`) exactly as the webhook
 * processor applies an event, with origin `poll`; so a webhook arriving later is judged against it and changes
 * nothing it already says.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Dependencies } from '../dependencies.ts';
import { applyObservations } from '../payments/reducer.ts';
import type { Observation, PaymentFlag, PaymentRecord } from '../payments/types.ts';
import { updatePayment } from '../store/payments.ts';
import type { CandidateIndex } from '../store/reconcile-queries.ts';
import { isReplayedAnswer } from '../stripe/errors.ts';
import type { Clock } from '../time.ts';
import { flagChanges, noFlagCounts } from './flags.ts';
import { createStripeCallPacer } from './pacing.ts';
import type { ReconcileSettings } from './settings.ts';

/** The structured logger a run writes to: Powertools' `Logger`. */
export type ReconcileLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** What a run did; the handler publishes it as metrics and returns it. */
export interface ReconcileSummary {
  /** Candidates read from each sparse index. */
  candidates: Record<CandidateIndex, number>;
  flagsSet: Record<PaymentFlag, number>;
  flagsCleared: Record<PaymentFlag, number>;
  /** Stripe outcomes the record lacked, recorded from a read. */
  outcomesRecorded: number;
  actionsCanceled: number;
  authorizationsCaptured: number;
  authorizationsCanceled: number;
  /** Refunds the run found settled (succeeded, failed or canceled), and of those the failed ones. */
  refundsSettled: number;
  refundsFailed: number;
  /** Order claims left without a recorded PaymentIntent that were settled from Stripe's side. */
  ordersSettled: number;
  /** Payments whose reconciliation failed (each is retried on a later run). */
  failures: number;
  stripeCalls: number;
  /** Reader items written (a reader that changed, its health included). */
  readersCached: number;
  /** Stored readers Stripe no longer has (deleted there), forgotten by this run. */
  readersForgotten: number;
  /** Readers Stripe listed offline; of those, offline longer than `READER_OFFLINE_ALERT_AFTER_SECONDS`. */
  readersOffline: number;
  readersOfflineAlerting: number;
  /** Readers whose action has been `in_progress` longer than `STUCK_ACTION_AFTER_SECONDS`. */
  readersStuck: number;
  /** Query requests sent to the sparse indexes, the items they read, and the read capacity they consumed. */
  indexQueries: number;
  indexItemsRead: number;
  indexCapacityUnits: number;
  /** Payments carrying each money-at-risk flag at the end of the run (a gauge, not what the run changed). */
  flaggedNow: Record<PaymentFlag, number>;
  /** The time budget ran out with candidates left: the next run continues where this one stopped. */
  cutShort: boolean;
  durationMs: number;
}

/** A summary with every count at zero. */
export function emptySummary(): ReconcileSummary {
  return {
    candidates: { activeReaderActions: 0, awaitingCaptureByAge: 0, awaitingCaptureByDeadline: 0, unsettledRefunds: 0 },
    flagsSet: noFlagCounts(),
    flagsCleared: noFlagCounts(),
    outcomesRecorded: 0,
    actionsCanceled: 0,
    authorizationsCaptured: 0,
    authorizationsCanceled: 0,
    refundsSettled: 0,
    refundsFailed: 0,
    ordersSettled: 0,
    failures: 0,
    stripeCalls: 0,
    readersCached: 0,
    readersForgotten: 0,
    readersOffline: 0,
    readersOfflineAlerting: 0,
    readersStuck: 0,
    indexQueries: 0,
    indexItemsRead: 0,
    indexCapacityUnits: 0,
    flaggedNow: noFlagCounts(),
    cutShort: false,
    durationMs: 0,
  };
}

/** A Stripe call's result, when it went out, and whether Stripe replayed a stored answer. */
export interface StripeAnswer<T> {
  result: T;
  startedAtMs: number;
  replayed: boolean;
}

export { isReplayedAnswer };

/** Why a payment was written: what Stripe showed (an outcome the record lacked), or the reconciler's own act. */
export type ChangeCause = 'stripe_state' | 'reconciler';

/** One run's context, handed to each candidate's reconciliation. */
export interface ReconcileRun {
  /** The table, Stripe and the clock the run works with. */
  deps: Dependencies;
  settings: ReconcileSettings;
  clock: Clock;
  logger: ReconcileLogger;
  summary: ReconcileSummary;
  /**
   * Run one Stripe call in its paced turn. `startedAtMs` is when it went out (a read is at least that fresh);
   * `replayed` is true when Stripe answered with the stored response of an earlier request with the same
   * idempotency key (a racing run's), so this call itself changed nothing.
   */
  stripe<T>(call: () => Promise<T>): Promise<StripeAnswer<T>>;
  /** Apply observations of Stripe's state through the reducer and store the result if it changed. */
  record(
    payment: PaymentRecord,
    observations: Observation[],
    now: Date,
    cause: ChangeCause,
    why: string,
  ): Promise<PaymentRecord>;
  /** Store a change of the reconciler's own (a flag); `change` must be a pure function of the record. */
  change(payment: PaymentRecord, change: (record: PaymentRecord) => PaymentRecord, why: string): Promise<PaymentRecord>;
}

/** A run with its own Stripe call pacer and an empty summary. */
export function createReconcileRun(input: {
  deps: Dependencies;
  settings: ReconcileSettings;
  logger: ReconcileLogger;
}): ReconcileRun {
  const { deps, settings, logger } = input;
  const clock = deps.clock;
  const summary = emptySummary();
  const pacer = createStripeCallPacer(settings.stripeCallIntervalMs, clock);

  /** Store `change`, and report the flags the one successful write raised or cleared (so each is reported once). */
  async function store(
    payment: PaymentRecord,
    change: (record: PaymentRecord) => PaymentRecord,
    why: string,
  ): Promise<{ record: PaymentRecord; changed: boolean }> {
    let base = payment;
    const result = await updatePayment(deps.store, payment, (fresh) => {
      base = fresh;
      return change(fresh);
    });
    if (!result.changed) return result;
    for (const { flag, change: kind } of flagChanges(base.flags, result.record.flags)) {
      (kind === 'set' ? summary.flagsSet : summary.flagsCleared)[flag] += 1;
      logger.info(kind === 'set' ? 'Payment flag set' : 'Payment flag cleared', {
        paymentId: result.record.id,
        flag,
        change: kind,
        why,
        status: result.record.status,
        readerId: result.record.readerId,
        locationId: result.record.locationId,
        captureBefore: result.record.captureBefore,
      });
    }
    return result;
  }

  return {
    deps,
    settings,
    clock,
    logger,
    summary,
    async stripe(call) {
      await pacer.turn();
      summary.stripeCalls = pacer.calls;
      const startedAtMs = clock.now();
      const result = await call();
      return { result, startedAtMs, replayed: isReplayedAnswer(result) };
    },
    async record(payment, observations, now, cause, why) {
      const result = await store(
        payment,
        (fresh) => {
          const applied = applyObservations(fresh, observations, now);
          return applied.changed ? applied.record : fresh;
        },
        why,
      );
      if (result.changed && cause === 'stripe_state') {
        summary.outcomesRecorded += 1;
        logger.info('Recorded what Stripe shows', {
          paymentId: result.record.id,
          why,
          status: result.record.status,
          readerAction: result.record.readerAction,
        });
      }
      return result.record;
    },
    async change(payment, change, why) {
      return (await store(payment, change, why)).record;
    },
  };
}

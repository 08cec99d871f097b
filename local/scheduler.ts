/**
 * The local EventBridge Scheduler: invokes the reconciler every `intervalSeconds` with a scheduled event,
 * never starting a run while the previous one is still going (a tick that comes during a run is skipped).
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { handlerExists, invoke, type LocalFunction, lambdaContext } from './lambda.ts';

const ACCOUNT_ID = '000000000000';

export interface SchedulerOptions {
  function: LocalFunction;
  /** Fractions allowed (`0.5`). */
  intervalSeconds: number;
  scheduleName?: string;
  region?: string;
  log?: (line: string) => void;
}

/** Outcome of one run, for tests and logs. */
export interface RunOutcome {
  startedAt: Date;
  durationMs: number;
  result?: unknown;
  error?: Error;
}

export interface LocalScheduler {
  /** False while the handler module does not exist: ticks pass without a run. */
  readonly active: boolean;
  onRun(listener: (outcome: RunOutcome) => void): void;
  /** Run now (after a run in progress, never beside it); undefined while the handler module is missing. */
  runNow(): Promise<RunOutcome | undefined>;
  /** Stop the timer and resolve once a run in progress has finished. */
  stop(): Promise<void>;
}

/** Start the timer; the first run is one interval after start. */
export function startScheduler(options: SchedulerOptions): LocalScheduler {
  const log = options.log ?? ((line: string) => console.error(line));
  const region = options.region ?? 'us-east-1';
  const scheduleArn = `arn:aws:scheduler:${region}:${ACCOUNT_ID}:schedule/default/${options.scheduleName ?? 'reconcile'}`;
  const intervalMs = Math.max(10, options.intervalSeconds * 1000);
  const listeners: ((outcome: RunOutcome) => void)[] = [];
  let active = handlerExists(options.function);
  let stopped = false;
  let running: Promise<RunOutcome | undefined> | undefined;
  if (!active) log(`scheduler: ${options.function.entry} does not exist yet; the reconciler is idle`);

  async function run(): Promise<RunOutcome | undefined> {
    if (!handlerExists(options.function)) return undefined;
    if (!active) log(`scheduler: ${options.function.entry} appeared; reconciling every ${options.intervalSeconds} s`);
    active = true;
    const startedAt = new Date();
    const event: ScheduledEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.scheduler',
      account: ACCOUNT_ID,
      time: startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [scheduleArn],
      detail: {},
    };
    const context = lambdaContext(options.function, region);
    let outcome: RunOutcome;
    try {
      const { result } = await invoke(options.function, event, context);
      outcome = { startedAt, durationMs: Date.now() - startedAt.getTime(), result };
    } catch (error) {
      log(`${options.function.name} failed, request ${context.awsRequestId}: ${(error as Error).stack ?? error}`);
      outcome = { startedAt, durationMs: Date.now() - startedAt.getTime(), error: error as Error };
    }
    for (const listener of listeners) listener(outcome);
    return outcome;
  }

  /** One run at a time: a caller arriving during a run waits for it, then runs. */
  async function runExclusive(): Promise<RunOutcome | undefined> {
    while (running) await running;
    running = run().finally(() => {
      running = undefined;
    });
    return running;
  }

  // A tick that finds a run still going is skipped, so runs never overlap and a slow one delays the next.
  const timer = setInterval(() => {
    if (!running && !stopped) void runExclusive();
  }, intervalMs);
  return {
    get active() {
      return active;
    },
    onRun(listener) {
      listeners.push(listener);
    },
    runNow: runExclusive,
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (running) await running;
    },
  };
}

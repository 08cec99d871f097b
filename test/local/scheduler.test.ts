import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalScheduler, startScheduler } from '../../local/scheduler.ts';
import type { ReconcileRecorder } from './fixtures/reconcile.ts';

const reconciler = { name: 'Reconcile', entry: 'test/local/fixtures/reconcile.ts', timeoutSeconds: 5 };
const recorder = (): ReconcileRecorder => {
  const shared = globalThis as { reconcileFixture?: ReconcileRecorder };
  shared.reconcileFixture ??= { durationMs: 0, inProgress: 0, maxInProgress: 0, events: [] };
  return shared.reconcileFixture;
};

let scheduler: LocalScheduler | undefined;

beforeEach(() => {
  Object.assign(recorder(), { durationMs: 0, inProgress: 0, maxInProgress: 0, events: [] });
});

afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the reconciler timer', () => {
  it('invokes the reconciler every interval with a scheduled event', async () => {
    // Act
    scheduler = startScheduler({ function: reconciler, intervalSeconds: 0.1, log: () => undefined });
    await sleep(550);
    await scheduler.stop();

    // Assess
    const { events } = recorder();
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.length).toBeLessThanOrEqual(6);
    expect(events[0]).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.scheduler',
      account: '000000000000',
      region: 'us-east-1',
      resources: ['arn:aws:scheduler:us-east-1:000000000000:schedule/default/reconcile'],
      detail: {},
    });
    expect(events[0]?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it('never runs twice at once when a run outlasts the interval', async () => {
    // Prepare
    recorder().durationMs = 250;

    // Act
    scheduler = startScheduler({ function: reconciler, intervalSeconds: 0.05, log: () => undefined });
    const manual = [scheduler.runNow(), scheduler.runNow()];
    await sleep(700);
    await Promise.all(manual);
    await scheduler.stop();

    // Assess
    expect(recorder().maxInProgress).toBe(1);
    expect(recorder().events.length).toBeGreaterThanOrEqual(3);
    expect(recorder().inProgress).toBe(0);
  });

  it('runs on demand and reports the outcome', async () => {
    // Prepare
    scheduler = startScheduler({ function: reconciler, intervalSeconds: 3600, log: () => undefined });

    // Act
    const outcome = await scheduler.runNow();

    // Assess
    expect(outcome?.result).toEqual({ reconciled: 1 });
    expect(outcome?.error).toBeUndefined();
  });

  it('stays idle while the reconciler file does not exist', async () => {
    // Prepare
    const notes: string[] = [];

    // Act
    scheduler = startScheduler({
      function: { ...reconciler, entry: 'test/local/fixtures/not-written-yet.ts' },
      intervalSeconds: 0.05,
      log: (line) => notes.push(line),
    });
    await sleep(200);

    // Assess
    expect(scheduler.active).toBe(false);
    expect(await scheduler.runNow()).toBeUndefined();
    expect(notes).toEqual([
      'scheduler: test/local/fixtures/not-written-yet.ts does not exist yet; the reconciler is idle',
    ]);
  });
});

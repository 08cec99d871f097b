/**
 * Where one test run keeps the AWS permissions its functions used: a directory of its own under
 * `.test-output/aws-actions/` (git-ignored), so two runs in one working tree never mix their records. The run
 * reporter creates it and names it to the test workers; the workers append records; `test/infra/role-actions.test.ts`
 * reads them after every other test file has finished.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Permission } from './permissions.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** This run's record directory; absent when the run reporter is not configured. */
    awsActionsRunDirectory?: string;
  }
}

export const recordsRoot = resolve(import.meta.dirname, '../../../.test-output/aws-actions');

/** Run directories older than this are removed when a run starts. */
const KEEP_RUNS_MS = 24 * 60 * 60 * 1000;

/** One permission a function used, and the test file it was used in (the first one the worker saw). */
export interface UsedPermission extends Permission {
  function: string;
  testFile?: string;
}

/** What the run was asked to run: whether it is the whole suite decides what can be compared. */
export interface RunManifest {
  startedAt: string;
  /** Test files of the run, relative to the repository root. */
  testFiles: string[];
  /** Why the run is not the whole suite; absent when it is. */
  partialBecause?: string;
}

const MANIFEST = 'run.json';

/** A fresh directory for a run starting now; run directories from earlier days are removed. */
export function createRunDirectory(now = new Date()): string {
  mkdirSync(recordsRoot, { recursive: true });
  for (const entry of readdirSync(recordsRoot)) {
    const path = join(recordsRoot, entry);
    if (now.getTime() - statSync(path).mtimeMs > KEEP_RUNS_MS) rmSync(path, { recursive: true, force: true });
  }
  const directory = join(recordsRoot, `${now.toISOString().replaceAll(':', '-')}-${process.pid}`);
  mkdirSync(directory, { recursive: true });
  return directory;
}

export function writeManifest(directory: string, manifest: RunManifest): void {
  writeFileSync(join(directory, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

export function readManifest(directory: string): RunManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(directory, MANIFEST), 'utf8')) as RunManifest;
  } catch {
    return undefined;
  }
}

/** The file a worker process appends its records to. */
export function recordFile(directory: string, worker: string): string {
  return join(directory, `${worker}.jsonl`);
}

/** Every record of the run, from all its workers. */
export function readUsedPermissions(directory: string): UsedPermission[] {
  return readdirSync(directory)
    .filter((entry) => entry.endsWith('.jsonl'))
    .flatMap((entry) =>
      readFileSync(join(directory, entry), 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as UsedPermission),
    );
}

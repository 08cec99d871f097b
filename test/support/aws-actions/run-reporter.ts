/**
 * Starts each test run's AWS permission records (`run.ts`): a new directory, handed to the workers through
 * `provide`, and a manifest saying whether the run is the whole suite. Prints nothing.
 */
import { relative } from 'node:path';
import type { Reporter, TestSpecification, Vitest } from 'vitest/node';
import { createRunDirectory, writeManifest } from './run.ts';

export default class AwsActionsRunReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  async onTestRunStart(specifications: ReadonlyArray<TestSpecification>): Promise<void> {
    const vitest = this.vitest;
    if (vitest === undefined) return;
    const directory = createRunDirectory();
    vitest.provide('awsActionsRunDirectory', directory);
    const root = vitest.config.root;
    const testFiles = [...new Set(specifications.map((spec) => relative(root, spec.moduleId)))].sort();
    const allFiles = new Set<string>();
    for (const project of vitest.projects) {
      for (const file of (await project.globTestFiles()).testFiles) allFiles.add(relative(root, file));
    }
    const left = [...allFiles].filter((file) => !testFiles.includes(file));
    const partialBecause =
      left.length > 0
        ? `${left.length} of ${allFiles.size} test files are not in this run (e.g. ${left[0]})`
        : vitest.config.testNamePattern !== undefined
          ? `tests are filtered by name (${vitest.config.testNamePattern})`
          : undefined;
    writeManifest(directory, {
      startedAt: new Date().toISOString(),
      testFiles,
      ...(partialBecause === undefined ? {} : { partialBecause }),
    });
  }
}

import { configDefaults, defineConfig } from 'vitest/config';
import { attributeHandlers } from './test/support/aws-actions/plugin.ts';

/** Compares the AWS permissions the suite's functions used with their roles: it reads what every other file recorded. */
const ROLE_ACTIONS_CHECK = 'test/infra/role-actions.test.ts';

export default defineConfig({
  plugins: [attributeHandlers(import.meta.dirname)],
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['./test/support/aws-actions/recorder.ts'],
    reporters: ['default', './test/support/aws-actions/run-reporter.ts', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          globalSetup: ['./test/support/shared-dynamodb.ts'],
          exclude: [...configDefaults.exclude, ROLE_ACTIONS_CHECK],
          sequence: { groupOrder: 0 },
        },
      },
      // A later group starts only once every file of the earlier one has finished.
      { extends: true, test: { name: 'roles', include: [ROLE_ACTIONS_CHECK], sequence: { groupOrder: 1 } } },
    ],
  },
});

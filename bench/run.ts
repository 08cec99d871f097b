/**
 * `npm run bench`: measure every figure of issue 7 on the local stack and print the table; the full results go
 * to `bench/results.json`. `npm run bench -- --smoke` runs a few of everything and writes nothing.
 * `npm run bench -- --only=refunds,api` runs only those scenarios (names in `SCENARIOS`) and writes nothing.
 */
import { fileURLToPath } from 'node:url';
import { FULL_SCALE, isScenarioName, runBench, SCENARIOS, type ScenarioName, SMOKE_SCALE } from './runner.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const only = onlyOption(args);
const report = await runBench(smoke ? SMOKE_SCALE : FULL_SCALE, {
  resultsFile: smoke || only !== undefined ? false : fileURLToPath(new URL('results.json', import.meta.url)),
  ...(only === undefined ? {} : { only }),
});
process.stdout.write(report.table);
// A missed goal is a finding the table explains; only a scenario that could not run fails the command.
const failed = Object.keys(report.results.errors).filter((name) => name !== 'stackLog');
if (failed.length > 0) {
  process.stderr.write(`Scenarios that did not run: ${failed.join(', ')} (details in the results)\n`);
  process.exitCode = 1;
}
// The stack's clients and timers are closed; anything left (keep-alive sockets) must not hold the process open.
process.exit();

/** `--only=a,b` or `--only a,b`: the scenarios to run; undefined for all. Exits on an unknown name. */
function onlyOption(argv: readonly string[]): ScenarioName[] | undefined {
  const index = argv.findIndex((arg) => arg === '--only' || arg.startsWith('--only='));
  if (index < 0) return undefined;
  const arg = argv[index] as string;
  const value = arg === '--only' ? (argv[index + 1] ?? '') : arg.slice('--only='.length);
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isScenarioName(name));
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(
      `--only takes scenario names separated by commas${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}: ${Object.keys(SCENARIOS).join(', ')}\n`,
    );
    process.exit(2);
  }
  return names.filter(isScenarioName);
}

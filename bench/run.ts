/**
 * `npm run bench`: measure every figure of issue 7 on the local stack and print the table; the full results go
 * to `bench/results.json`. `npm run bench -- --smoke` runs a few of everything and writes nothing.
 */
import { fileURLToPath } from 'node:url';
import { FULL_SCALE, runBench, SMOKE_SCALE } from './runner.ts';

const smoke = process.argv.includes('--smoke');
const report = await runBench(smoke ? SMOKE_SCALE : FULL_SCALE, {
  resultsFile: smoke ? false : fileURLToPath(new URL('results.json', import.meta.url)),
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

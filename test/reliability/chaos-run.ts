/**
 * `npm run test:chaos`: the full chaos run — hundreds of payments on every seeded reader under every fault —
 * then the checks and the counts. Exits non-zero when anything went wrong.
 *
 * Options: `--payments N` (default 400), `--seed N` (default: the time), `--echo` (show the handlers' logs too).
 */
import { parseArgs } from 'node:util';
import { formatReport, runChaos } from './chaos/run.ts';

const { values } = parseArgs({
  options: {
    payments: { type: 'string', default: '400' },
    seed: { type: 'string' },
    echo: { type: 'boolean', default: false },
  },
});

const report = await runChaos({
  payments: Number(values.payments),
  seed: values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed),
  faultIntervalMs: [100, 300],
  poisonEvery: 25,
  echo: values.echo,
});
process.stdout.write(`${formatReport(report)}\n`);
process.exit(report.problems.length === 0 ? 0 : 1);

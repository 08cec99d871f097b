/**
 * `npm start`: the whole system on this machine (see `spec/local-stack.md`). Prints one line containing
 * `ready` and the API URL once every part is up; Ctrl-C or SIGTERM stops every part and frees every port.
 */
import { relative } from 'node:path';
import { JavaMissingError } from './dynamodb.ts';
import { InvalidSettingError, stackOptionsFromEnvironment } from './environment.ts';
import { repositoryRoot } from './lambda.ts';
import { PortInUseError } from './ports.ts';
import { DEFAULT_STATE_FILE, type LocalStack, startStack } from './stack.ts';

const log = (line: string) => console.error(line);

async function main(): Promise<void> {
  const started = Date.now();
  // On AWS the metrics go to CloudWatch as EMF log lines; on a developer's terminal they would drown the logs.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // Interrupted while starting: exiting runs the exit hooks, which kill DynamoDB Local's Java process.
  const abortStart = () => process.exit(130);
  process.once('SIGINT', abortStart);
  process.once('SIGTERM', abortStart);
  let stack: LocalStack;
  try {
    stack = await startStack({ ...stackOptionsFromEnvironment(), log });
  } catch (error) {
    // Busy ports, a missing Java and bad settings are one line; anything else keeps its stack trace.
    const expected =
      error instanceof PortInUseError || error instanceof JavaMissingError || error instanceof InvalidSettingError;
    console.error(expected ? error.message : ((error as Error).stack ?? String(error)));
    process.exit(1);
  }

  process.off('SIGINT', abortStart);
  process.off('SIGTERM', abortStart);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the local stack…`);
    // A second Ctrl-C while stopping gives up waiting (the Java child is still killed on exit).
    process.once('SIGINT', () => process.exit(130));
    await stack.stop();
    log('stopped; every port is free');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  for (const route of stack.gateway.unavailableRoutes) {
    log(`not available yet (501): ${route.method} ${route.path} — ${route.entry} does not exist`);
  }
  const { state } = stack;
  const location = state.locations[0];
  const reader = location?.readers[0];
  const lines = [
    `ready in ${((Date.now() - started) / 1000).toFixed(1)} s: POS API at ${state.apiUrl} (details in ${relative(repositoryRoot, DEFAULT_STATE_FILE)})`,
    `  POS console ${state.consoleUrl}`,
    `  Live updates ${state.liveUrl} · Stripe emulator ${state.stripe.apiBase} · DynamoDB Local ${state.dynamodb.endpoint} · SQS ${state.sqs.endpoint}`,
    '',
    '  Try it:',
    `  TOKEN=$(node -p "require('./.local/stack.json').locations[0].token")`,
    `  curl -s ${state.apiUrl}/health`,
    `  curl -s -X POST ${state.apiUrl}/payments -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
    `    -d '{"orderId":"order-1","locationId":"${location?.id ?? 'tml_…'}","amount":1299,"currency":"usd"}'`,
    `  curl -s -X POST ${state.apiUrl}/payments/PAYMENT_ID/process -H "authorization: Bearer $TOKEN" \\`,
    `    -H 'content-type: application/json' -d '{"readerId":"${reader ?? 'tmr_…'}"}'`,
    `  curl -s -X POST ${state.stripe.apiBase}/v1/test_helpers/terminal/readers/${reader ?? 'tmr_…'}/present_payment_method \\`,
    `    -u ${state.stripe.secretKey}:`,
    `  curl -s ${state.apiUrl}/payments/PAYMENT_ID -H "authorization: Bearer $TOKEN"`,
    '',
    "  Watch it live, in another terminal (the location's payments and readers over the WebSocket API):",
    '  npm run live',
    '',
    '  Ctrl-C stops everything.',
  ];
  console.log(lines.join('\n'));
}

await main();

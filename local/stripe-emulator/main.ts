/**
 * `npm run emulator`: the Stripe Terminal emulator on its own. Port `STRIPE_EMULATOR_PORT` (default 12111);
 * `EMULATOR_WEBHOOK_URL` / `EMULATOR_WEBHOOK_SECRET` register a webhook endpoint; `EMULATOR_DATA_DIR` keeps the
 * state between runs; the `EMULATOR_*` timing knobs are read as in `options.ts`. Prints the URL and the seeded
 * ids; on SIGINT / SIGTERM saves the state (with a data directory) and exits cleanly.
 */
import { optionsFromEnv, startEmulator } from './index.ts';

async function main(): Promise<void> {
  let options: ReturnType<typeof optionsFromEnv>;
  try {
    options = optionsFromEnv(process.env);
  } catch (error) {
    console.error(`stripe-emulator: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const host = options.host ?? '127.0.0.1';
    console.error(
      code === 'EADDRINUSE'
        ? `stripe-emulator: port ${options.port} on ${host} is already in use; set STRIPE_EMULATOR_PORT to a free port`
        : `stripe-emulator: cannot listen on ${host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }

  console.log(`Stripe emulator listening on ${emulator.url}`);
  for (const location of emulator.seeded.locations) {
    console.log(`  location ${location.id}  ${location.displayName}`);
    for (const reader of location.readers) console.log(`    reader ${reader.id}  ${reader.label}`);
  }
  if (options.webhookUrl !== undefined) {
    console.log(`  webhooks → ${options.webhookUrl} (secret ${emulator.webhookSecret})`);
  }
  if (options.dataDir !== undefined) console.log(`  state kept in ${options.dataDir}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`stripe-emulator: ${signal}, shutting down`);
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();

/**
 * The settings of `npm start` itself (ports, data directory, timer, emulator knobs), read from the
 * environment once. The handlers' own settings (`STUCK_ACTION_AFTER_SECONDS` …) are read by
 * `shared/config.ts` from the same environment, since the handlers run in this process.
 */
import { resolve } from 'node:path';
import * as z from '../shared/zod.ts';
import type { StackOptions } from './stack.ts';
import { optionsFromEnv, type Timing } from './stripe-emulator/index.ts';

const port = z.coerce.number().check(z.int(), z.minimum(0), z.maximum(65_535));

const LocalSettingsSchema = z.object({
  API_PORT: z._default(port, 3000),
  SQS_PORT: z._default(port, 4566),
  DYNAMODB_PORT: z._default(port, 8000),
  STRIPE_EMULATOR_PORT: z._default(port, 12111),
  WS_PORT: z._default(port, 3001),
  LOCAL_DATA_DIR: z.optional(z.string().check(z.minLength(1))),
  RECONCILE_INTERVAL_SECONDS: z._default(z.coerce.number().check(z.positive()), 5),
  AWS_REGION: z._default(z.string(), 'us-east-1'),
  TABLE_NAME: z._default(z.string().check(z.minLength(1)), 'terminal-payments'),
});

/** A local stack setting has a value it cannot use. */
export class InvalidSettingError extends Error {
  constructor(problems: string) {
    super(`Invalid local stack setting: ${problems}`);
    this.name = 'InvalidSettingError';
  }
}

/** The stack's options from environment variables, as `npm start` reads them. */
export function stackOptionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const parsed = LocalSettingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new InvalidSettingError(problems);
  }
  const settings = parsed.data;
  return {
    apiPort: settings.API_PORT,
    sqsPort: settings.SQS_PORT,
    dynamoDbPort: settings.DYNAMODB_PORT,
    emulatorPort: settings.STRIPE_EMULATOR_PORT,
    wsPort: settings.WS_PORT,
    ...(settings.LOCAL_DATA_DIR ? { dataDir: resolve(settings.LOCAL_DATA_DIR) } : {}),
    reconcileIntervalSeconds: settings.RECONCILE_INTERVAL_SECONDS,
    region: settings.AWS_REGION,
    tableName: settings.TABLE_NAME,
    emulator: emulatorKnobs(env),
  };
}

/** The emulator's timing knobs (`EMULATOR_AUTHORIZATION_DELAY_MS` …), parsed by the emulator's own reader. */
function emulatorKnobs(env: NodeJS.ProcessEnv): Partial<Timing> {
  try {
    // Port, host and webhook are the stack's to set: the webhook always points at the local gateway.
    const {
      port: _port,
      host: _host,
      webhookUrl: _url,
      webhookSecret: _secret,
      seed: _seed,
      ...knobs
    } = optionsFromEnv(env);
    return knobs;
  } catch (error) {
    throw new InvalidSettingError((error as Error).message);
  }
}

/**
 * Every environment variable the handlers read, parsed and validated once per process (a Lambda cold
 * start, or the local stack's start). No other module reads `process.env`.
 *
 * Secrets are never here as values on AWS: the functions get the ARN of a Secrets Manager secret and
 * `shared/secrets.ts` reads it once. Locally the values come straight from the environment.
 */
import { z } from 'zod';

const seconds = z.coerce.number().nonnegative();

const ConfigSchema = z.object({
  SERVICE_NAME: z.string().default('terminal-payments'),
  STAGE: z.string().default('local'),
  AWS_REGION: z.string().default('us-east-1'),

  TABLE_NAME: z.string().min(1),
  /** Set only locally (DynamoDB Local). */
  DYNAMODB_ENDPOINT: z.url().optional(),

  EVENT_QUEUE_URL: z.string().optional(),
  /** The event queue's dead-letter queue: the processor sends a poison body (not an event) there directly. */
  EVENT_DLQ_URL: z.string().optional(),
  /** Set only locally (the SQS-compatible server). */
  SQS_ENDPOINT: z.url().optional(),

  /** Base URL of the Stripe API; unset means api.stripe.com. Locally the emulator. */
  STRIPE_API_BASE: z.url().optional(),
  /** Local: the key itself. AWS: `STRIPE_SECRET_KEY_ARN` names the Secrets Manager secret. */
  STRIPE_SECRET_KEY: z.string().optional(),
  STRIPE_SECRET_KEY_ARN: z.string().optional(),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_WEBHOOK_SECRET_ARN: z.string().optional(),
  /** Per-request timeout for Stripe calls, milliseconds. */
  STRIPE_TIMEOUT_MS: z.coerce.number().int().positive().default(8_000),

  /** Bounded retries of a reader command after `terminal_reader_timeout`, all within API Gateway's 30 s. */
  READER_TIMEOUT_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  READER_TIMEOUT_RETRY_DELAY_MS: z.coerce.number().int().min(0).default(500),

  STUCK_ACTION_AFTER_SECONDS: seconds.default(120),
  AUTO_CANCEL_STUCK_AFTER_SECONDS: seconds.optional(),
  CAPTURE_WARNING_AFTER_HOURS: z.coerce.number().nonnegative().default(36),
  STALE_AUTHORIZATION_ACTION: z.enum(['capture', 'cancel', 'none']).default('none'),
  /** The reconciler stops taking new work this long before its Lambda timeout. */
  RECONCILE_TIME_BUDGET_MS: z.coerce.number().int().positive().default(45_000),
  /** Minimum spacing of the reconciler's Stripe calls (20/s stays under test mode's 25/s). */
  RECONCILE_STRIPE_CALL_INTERVAL_MS: z.coerce.number().int().min(0).default(50),
});

export type Config = z.infer<typeof ConfigSchema>;

let loaded: Config | undefined;

/** The process's configuration, read from the environment on first use. */
export function config(): Config {
  loaded ??= parseConfig(process.env);
  return loaded;
}

/**
 * Parse an environment with the rules `config()` applies, without keeping it. The CDK app checks each
 * function's environment with it at synth, so a bad threshold fails the deploy, not the first cold start.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Forget the loaded configuration, so the next `config()` reads the environment again (tests, local stack). */
export function reloadConfig(): void {
  loaded = undefined;
}

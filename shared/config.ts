/**
 * Every environment variable the handlers read, parsed and validated once per process (a Lambda cold
 * start, or the local stack's start). No other module reads `process.env`.
 *
 * Secrets are never here as values on AWS: the functions get the ARN of a Secrets Manager secret and
 * `shared/secrets.ts` reads it, and again once the value is 5 minutes old. Locally the values come straight from the
 * environment.
 *
 * Plain checks rather than a schema library: every function, the webhook receiver included, loads this module
 * at cold start, and it should cost nothing there.
 */

export type StaleAuthorizationAction = 'capture' | 'cancel' | 'none';

export interface Config {
  SERVICE_NAME: string;
  STAGE: string;
  AWS_REGION: string;

  TABLE_NAME: string;
  /** Set only locally (DynamoDB Local). */
  DYNAMODB_ENDPOINT?: string;

  EVENT_QUEUE_URL?: string;
  /** The event queue's dead-letter queue: the processor sends a poison body (not an event) there directly. */
  EVENT_DLQ_URL?: string;
  /** Set only locally (the SQS-compatible server). */
  SQS_ENDPOINT?: string;

  /** Base URL of the Stripe API; unset means api.stripe.com. Locally the emulator. */
  STRIPE_API_BASE?: string;
  /** Local: the key itself. AWS: `STRIPE_SECRET_KEY_ARN` names the Secrets Manager secret. */
  STRIPE_SECRET_KEY?: string;
  STRIPE_SECRET_KEY_ARN?: string;
  /** Comma-separated while a signing secret is being rolled. */
  STRIPE_WEBHOOK_SECRET?: string;
  STRIPE_WEBHOOK_SECRET_ARN?: string;
  /** Per-request timeout for Stripe calls, milliseconds. */
  STRIPE_TIMEOUT_MS: number;

  /** Bounded retries of a reader command after `terminal_reader_timeout`, all within API Gateway's 30 s. */
  READER_TIMEOUT_RETRIES: number;
  READER_TIMEOUT_RETRY_DELAY_MS: number;

  STUCK_ACTION_AFTER_SECONDS: number;
  /** A reader offline longer than this counts in the reconciler's `ReadersOffline` metric. */
  READER_OFFLINE_ALERT_AFTER_SECONDS: number;
  AUTO_CANCEL_STUCK_AFTER_SECONDS?: number;
  CAPTURE_WARNING_AFTER_HOURS: number;
  STALE_AUTHORIZATION_ACTION: StaleAuthorizationAction;
  /** The reconciler stops taking new work this long before its Lambda timeout. */
  RECONCILE_TIME_BUDGET_MS: number;
  /** Minimum spacing of the reconciler's Stripe calls (20/s stays under test mode's 25/s). */
  RECONCILE_STRIPE_CALL_INTERVAL_MS: number;

  /** The WebSocket API's connection management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  LIVE_ENDPOINT?: string;
  /** Topics one live-updates connection may hold at once. */
  LIVE_MAX_SUBSCRIPTIONS: number;
  /** The issuer and audiences (comma-separated) of POS tokens, for the WebSocket API's `$connect` authorizer. */
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  /** Where the issuer publishes its keys; `{JWT_ISSUER}/.well-known/jwks.json` (Cognito's) when unset. */
  JWKS_URI?: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** Reads one variable at a time and collects every problem, so a bad deployment is told all of them at once. */
class EnvironmentReader {
  readonly problems: string[] = [];
  readonly env: Environment;

  constructor(env: Environment) {
    this.env = env;
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? fallback : value;
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined) this.problems.push(`${name}: required`);
    return value ?? '';
  }

  url(name: string): string | undefined {
    const value = this.string(name);
    if (value !== undefined && !URL.canParse(value)) this.problems.push(`${name}: not a URL`);
    return value;
  }

  number(name: string, rule: { min?: number; max?: number; integer?: boolean }): number | undefined;
  number(name: string, rule: { min?: number; max?: number; integer?: boolean }, fallback: number): number;
  number(name: string, rule: { min?: number; max?: number; integer?: boolean }, fallback?: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = rule;
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      const range = `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
      this.problems.push(`${name}: ${JSON.stringify(text)} is not ${range}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(name, fallback);
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}: must be one of ${allowed.join(', ')}`);
    return fallback;
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** Parses and validates `env`; throws one error naming every problem. */
export function parseConfig(env: Environment): Config {
  const read = new EnvironmentReader(env);
  const seconds = { min: 0 };
  const config = withoutUndefined<Config>({
    SERVICE_NAME: read.string('SERVICE_NAME', 'terminal-payments'),
    STAGE: read.string('STAGE', 'local'),
    AWS_REGION: read.string('AWS_REGION', 'us-east-1'),
    TABLE_NAME: read.required('TABLE_NAME'),
    DYNAMODB_ENDPOINT: read.url('DYNAMODB_ENDPOINT'),
    EVENT_QUEUE_URL: read.string('EVENT_QUEUE_URL'),
    EVENT_DLQ_URL: read.string('EVENT_DLQ_URL'),
    SQS_ENDPOINT: read.url('SQS_ENDPOINT'),
    STRIPE_API_BASE: read.url('STRIPE_API_BASE'),
    STRIPE_SECRET_KEY: read.string('STRIPE_SECRET_KEY'),
    STRIPE_SECRET_KEY_ARN: read.string('STRIPE_SECRET_KEY_ARN'),
    STRIPE_WEBHOOK_SECRET: read.string('STRIPE_WEBHOOK_SECRET'),
    STRIPE_WEBHOOK_SECRET_ARN: read.string('STRIPE_WEBHOOK_SECRET_ARN'),
    STRIPE_TIMEOUT_MS: read.number('STRIPE_TIMEOUT_MS', { min: 1, integer: true }, 8_000),
    READER_TIMEOUT_RETRIES: read.number('READER_TIMEOUT_RETRIES', { min: 0, max: 5, integer: true }, 2),
    READER_TIMEOUT_RETRY_DELAY_MS: read.number('READER_TIMEOUT_RETRY_DELAY_MS', { min: 0, integer: true }, 500),
    STUCK_ACTION_AFTER_SECONDS: read.number('STUCK_ACTION_AFTER_SECONDS', seconds, 120),
    READER_OFFLINE_ALERT_AFTER_SECONDS: read.number('READER_OFFLINE_ALERT_AFTER_SECONDS', seconds, 600),
    AUTO_CANCEL_STUCK_AFTER_SECONDS: read.number('AUTO_CANCEL_STUCK_AFTER_SECONDS', seconds),
    CAPTURE_WARNING_AFTER_HOURS: read.number('CAPTURE_WARNING_AFTER_HOURS', { min: 0 }, 36),
    STALE_AUTHORIZATION_ACTION: read.oneOf('STALE_AUTHORIZATION_ACTION', ['capture', 'cancel', 'none'], 'none'),
    RECONCILE_TIME_BUDGET_MS: read.number('RECONCILE_TIME_BUDGET_MS', { min: 1, integer: true }, 45_000),
    RECONCILE_STRIPE_CALL_INTERVAL_MS: read.number('RECONCILE_STRIPE_CALL_INTERVAL_MS', { min: 0, integer: true }, 50),
    LIVE_ENDPOINT: read.url('LIVE_ENDPOINT'),
    LIVE_MAX_SUBSCRIPTIONS: read.number('LIVE_MAX_SUBSCRIPTIONS', { min: 1, max: 1000, integer: true }, 100),
    JWT_ISSUER: read.url('JWT_ISSUER'),
    JWT_AUDIENCE: read.string('JWT_AUDIENCE'),
    JWKS_URI: read.url('JWKS_URI'),
  });
  if (read.problems.length > 0) throw new Error(`Invalid configuration: ${read.problems.join('; ')}`);
  return config;
}

let loaded: Config | undefined;

/** The process's configuration, read from the environment on first use. */
export function config(): Config {
  loaded ??= parseConfig(process.env);
  return loaded;
}

/**
 * Secrets, read at first use and read again once they are older than a max age (5 minutes), so a secret put in
 * Secrets Manager (a rolled Stripe key) takes effect in warm functions without a deploy or a cold start. On AWS each
 * is a Secrets Manager secret named by an `*_ARN` variable; locally the value itself is in the settings (the local
 * stack's environment, which `configure` changes at run time), read again on the same schedule.
 *
 * A re-read that fails, or that Secrets Manager does not answer within a moment, keeps the last good value (Stripe
 * keeps an old key working for as long as the roll says) and is tried again on the next use; only a first read that
 * fails is an error.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from './config.ts';
import type { Clock } from './time.ts';
import { tracedClient } from './tracing.ts';

/** How long a value read is used before it is read again. */
export const SECRET_MAX_AGE_MS = 5 * 60 * 1000;
/** How long a re-read is waited for before the last good value is used instead (the re-read goes on). */
export const SECRET_REREAD_WAIT_MS = 2_000;

export type SecretName = 'STRIPE_SECRET_KEY' | 'STRIPE_WEBHOOK_SECRET';

const logger = new Logger({ serviceName: 'secrets' });

export interface RefreshingSecretOptions {
  /** Default `SECRET_MAX_AGE_MS`. */
  maxAgeMs?: number;
  /** Default `SECRET_REREAD_WAIT_MS`. */
  rereadWaitMs?: number;
  /** Told when a re-read failed and the last good value is used; logs a warning by default. */
  onStaleValue?: (error: unknown) => void;
}

/**
 * One secret's value: read at first use, used until it is `maxAgeMs` old by `clock`, then read again by the next use
 * (one read at a time, shared by the uses waiting on it).
 */
export class RefreshingSecret {
  private readonly read: () => Promise<string>;
  private readonly clock: () => Clock;
  private readonly maxAgeMs: number;
  private readonly rereadWaitMs: number;
  private readonly onStaleValue: (error: unknown) => void;
  private last: { value: string; readAtMs: number } | undefined;
  private reading: Promise<string> | undefined;

  /** `read` gets the value where it is now; `clock` is asked at each use (a test may move the clock it hands out). */
  constructor(read: () => Promise<string>, clock: () => Clock, options: RefreshingSecretOptions = {}) {
    this.read = read;
    this.clock = clock;
    this.maxAgeMs = options.maxAgeMs ?? SECRET_MAX_AGE_MS;
    this.rereadWaitMs = options.rereadWaitMs ?? SECRET_REREAD_WAIT_MS;
    this.onStaleValue =
      options.onStaleValue ??
      ((error) => logger.warn('Secret not read again; kept the last value', { error: error as Error }));
  }

  /** The value: the one read within max age, else a fresh read (or the last good value when that read fails). */
  get(): Promise<string> {
    const clock = this.clock();
    const last = this.last;
    if (last !== undefined && clock.now() - last.readAtMs < this.maxAgeMs) return Promise.resolve(last.value);
    if (this.reading === undefined) {
      const reading = this.readAgain(clock.now());
      this.reading = reading;
      // Cleared once settled, so a failed read is tried again by the next use.
      void reading
        .finally(() => {
          if (this.reading === reading) this.reading = undefined;
        })
        .catch(() => undefined);
    }
    if (last === undefined) return this.reading;
    // A re-read Secrets Manager does not answer soon does not hold a payment up: the last value still works.
    return Promise.race([this.reading, clock.sleep(this.rereadWaitMs).then(() => last.value)]);
  }

  private async readAgain(startedAtMs: number): Promise<string> {
    try {
      const value = await this.read();
      this.last = { value, readAtMs: startedAtMs };
      return value;
    } catch (error) {
      // The first read fails loudly; a later one keeps the last good value, its age unchanged (so tried again).
      if (this.last === undefined) throw error;
      this.onStaleValue(error);
      return this.last.value;
    }
  }
}

/** Where a secret is: its settings (the value locally, its ARN on AWS) as they are now, and the clock ageing it. */
export interface SecretAccess {
  readonly settings: Config;
  readonly clock: Clock;
}

/** The secrets of each dependencies object (a Lambda's, or a local stack's: stacks in one process keep their own). */
const secrets = new WeakMap<SecretAccess, Map<SecretName, RefreshingSecret>>();

let provider: SecretsProvider | undefined;

/** Secrets Manager through Powertools, its calls traced on AWS. */
function secretsProvider(): SecretsProvider {
  provider ??= new SecretsProvider({ awsSdkV3Client: tracedClient(new SecretsManagerClient({})) });
  return provider;
}

/** Read `name` where the settings put it now: the value itself (local), or the Secrets Manager secret its ARN names. */
export async function readSecret(name: SecretName, settings: Config): Promise<string> {
  const value = settings[name];
  const arn = settings[`${name}_ARN`];
  if (value) return value;
  if (!arn) throw new Error(`${name} is not configured: set ${name} (local) or ${name}_ARN (AWS)`);
  // This module keeps the value and decides when to read again; Powertools' own cache would answer a stale one.
  const secret = await secretsProvider().get(arn, { forceFetch: true });
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new Error(`${name}_ARN names a secret with no value: set it with 'aws secretsmanager put-secret-value'`);
  }
  return secret;
}

function secretOf(deps: SecretAccess, name: SecretName): Promise<string> {
  let named = secrets.get(deps);
  if (named === undefined) {
    named = new Map();
    secrets.set(deps, named);
  }
  let secret = named.get(name);
  if (secret === undefined) {
    secret = new RefreshingSecret(
      () => readSecret(name, deps.settings),
      () => deps.clock,
    );
    named.set(name, secret);
  }
  return secret.get();
}

/** The Stripe secret key, at most `SECRET_MAX_AGE_MS` old by `deps.clock`. */
export function stripeSecretKey(deps: SecretAccess): Promise<string> {
  return secretOf(deps, 'STRIPE_SECRET_KEY');
}

/** The webhook signing secret(s), comma-separated while one is rolled; at most `SECRET_MAX_AGE_MS` old. */
export function stripeWebhookSecret(deps: SecretAccess): Promise<string> {
  return secretOf(deps, 'STRIPE_WEBHOOK_SECRET');
}

/**
 * Secrets, read once per process. On AWS each is a Secrets Manager secret named by an `*_ARN` variable
 * (Powertools Parameters caches it); locally the value itself is in the environment.
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { Config } from './config.ts';

const cache = new Map<string, Promise<string>>();

async function readSecret(name: string, value: string | undefined, arn: string | undefined): Promise<string> {
  if (value) return value;
  if (!arn) throw new Error(`${name} is not configured: set ${name} (local) or ${name}_ARN (AWS)`);
  const secret = await getSecret(arn, { maxAge: 300 });
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new Error(`${name}_ARN names a secret with no value: set it with 'aws secretsmanager put-secret-value'`);
  }
  return secret;
}

function cached(name: string, load: () => Promise<string>): Promise<string> {
  let pending = cache.get(name);
  if (!pending) {
    pending = load();
    // A failed read is not cached: the next invocation tries again.
    pending.catch(() => cache.delete(name));
    cache.set(name, pending);
  }
  return pending;
}

export function stripeSecretKey(settings: Config): Promise<string> {
  const { STRIPE_SECRET_KEY, STRIPE_SECRET_KEY_ARN } = settings;
  return cached(`STRIPE_SECRET_KEY|${STRIPE_SECRET_KEY ?? ''}|${STRIPE_SECRET_KEY_ARN ?? ''}`, () =>
    readSecret('STRIPE_SECRET_KEY', STRIPE_SECRET_KEY, STRIPE_SECRET_KEY_ARN),
  );
}

export function stripeWebhookSecret(settings: Config): Promise<string> {
  const { STRIPE_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET_ARN } = settings;
  return cached(`STRIPE_WEBHOOK_SECRET|${STRIPE_WEBHOOK_SECRET ?? ''}|${STRIPE_WEBHOOK_SECRET_ARN ?? ''}`, () =>
    readSecret('STRIPE_WEBHOOK_SECRET', STRIPE_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET_ARN),
  );
}

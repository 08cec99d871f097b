/**
 * The dependencies of a Lambda function, built once per process from its environment (`config()`): the
 * DynamoDB table, the Stripe client (its key read from Secrets Manager at first use, and again after its max age) and
 * the system clock. Each part is built at its first use, so a function only pays at cold start for what it uses.
 */
import type Stripe from 'stripe';
import { type Config, config } from './config.ts';
import type { Dependencies, Store } from './dependencies.ts';
import { stripeSecretKey } from './secrets.ts';
import { createStore } from './store/client.ts';
import { systemClock } from './time.ts';

/**
 * The Stripe client for the secret key as `stripeSecretKey` reads it now (again after its max age): the client is
 * built at first use and built again only when the key (or the API base or timeout) changed, so a rolled key is used
 * from the first call after it was read. The SDK is loaded at first use: a function that never calls Stripe does not
 * load it at cold start.
 */
export function stripeClients(deps: Pick<Dependencies, 'settings' | 'clock'>): () => Promise<Stripe> {
  let built: { key: string; apiBase: string | undefined; timeoutMs: number; client: Stripe } | undefined;
  return async () => {
    const [key, { createStripeClient }] = await Promise.all([stripeSecretKey(deps), import('./stripe/client.ts')]);
    const { STRIPE_API_BASE: apiBase, STRIPE_TIMEOUT_MS: timeoutMs } = deps.settings;
    if (built === undefined || built.key !== key || built.apiBase !== apiBase || built.timeoutMs !== timeoutMs) {
      built = { key, apiBase, timeoutMs, client: createStripeClient(key, apiBase, timeoutMs) };
    }
    return built.client;
  };
}

/** How a function's dependencies get their Stripe client; none for a function that never calls Stripe. */
type StripeSource = (deps: Pick<Dependencies, 'settings' | 'clock'>) => () => Promise<Stripe>;

function fromEnvironment(source: StripeSource | undefined): Dependencies {
  let settings: Config | undefined;
  let store: Store | undefined;
  let stripe: (() => Promise<Stripe>) | undefined;
  const deps: Dependencies = {
    clock: systemClock,
    get settings() {
      settings ??= config();
      return settings;
    },
    set settings(value: Config) {
      settings = value;
    },
    get store() {
      store ??= createStore(this.settings);
      return store;
    },
    stripe() {
      if (source === undefined) {
        return Promise.reject(new Error('This function is built without Stripe: its handler never calls Stripe'));
      }
      // A failed first read of the key is not kept: the next invocation tries again.
      stripe ??= source(deps);
      return stripe();
    },
  };
  return deps;
}

let built: Dependencies | undefined;

/** This process's dependencies. */
export function environmentDependencies(): Dependencies {
  built ??= fromEnvironment(stripeClients);
  return built;
}

let storeOnly: Dependencies | undefined;

/**
 * This process's dependencies for a function that never calls Stripe (its profile has no Stripe key): the same,
 * without a Stripe client. Nothing it imports reaches the Stripe SDK, so its bundle leaves the SDK out (about 250 KB
 * that every cold start would otherwise parse).
 */
export function storeOnlyDependencies(): Dependencies {
  storeOnly ??= fromEnvironment(undefined);
  return storeOnly;
}

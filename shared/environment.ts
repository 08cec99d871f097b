/**
 * The dependencies of a Lambda function, built once per process from its environment (`config()`): the
 * DynamoDB table, the Stripe client (its key read from Secrets Manager at first use) and the system clock. Each
 * part is built at its first use, so a function only pays at cold start for what it uses.
 */
import type Stripe from 'stripe';
import { type Config, config } from './config.ts';
import type { Dependencies, Store } from './dependencies.ts';
import { stripeSecretKey } from './secrets.ts';
import { createStore } from './store/client.ts';
import { systemClock } from './time.ts';

function fromEnvironment(): Dependencies {
  let settings: Config | undefined;
  let store: Store | undefined;
  let stripe: Promise<Stripe> | undefined;
  return {
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
      const { STRIPE_API_BASE, STRIPE_TIMEOUT_MS } = this.settings;
      if (stripe === undefined) {
        // Loaded at first use: a function that never calls Stripe does not load the SDK at cold start.
        const loading = Promise.all([stripeSecretKey(this.settings), import('./stripe/client.ts')]).then(
          ([key, { createStripeClient }]) => createStripeClient(key, STRIPE_API_BASE, STRIPE_TIMEOUT_MS),
        );
        // A failed secret read is not kept: the next invocation tries again.
        loading.catch(() => {
          if (stripe === loading) stripe = undefined;
        });
        stripe = loading;
      }
      return stripe;
    },
  };
}

let built: Dependencies | undefined;

/** This process's dependencies. */
export function environmentDependencies(): Dependencies {
  built ??= fromEnvironment();
  return built;
}

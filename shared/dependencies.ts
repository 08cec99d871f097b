/**
 * What the operations are given rather than reach for: the table, the Stripe client, the clock and the settings.
 * A Lambda builds them once from its environment (`shared/environment.ts`); the local stack and the tests build
 * their own, so several stacks can run side by side in one process, each with its table, emulator and clock.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import type { Config } from './config.ts';
import type { Clock } from './time.ts';

/** The payments table and the client that reaches it. */
export interface Store {
  db: DynamoDBDocumentClient;
  table: string;
}

export interface Dependencies {
  store: Store;
  /** The Stripe client; a promise because the secret key is read at first use. */
  stripe(): Promise<Stripe>;
  clock: Clock;
  settings: Config;
}

/** What a Stripe call needs: the client, the clock its deadlines and pauses run on, and the settings. */
export type StripeAccess = Pick<Dependencies, 'stripe' | 'clock' | 'settings'>;

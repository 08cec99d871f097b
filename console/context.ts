/** What every screen is handed: the signed-in account, its API client and its live updates. */
import type { Api } from './api.ts';
import type { LiveUpdates } from './live.ts';
import type { Account } from './types.ts';

export interface ConsoleContext {
  account: Account;
  api: Api;
  live: LiveUpdates;
  /** The location the register works for (the account's only one, or the one picked). */
  locationId: string;
  /** On the local stack: the register can play the customer at a simulated reader. */
  simulator: boolean;
}

export interface Screen {
  element: HTMLElement;
  /** Stop timers and subscriptions when the screen is left. */
  dispose(): void;
}

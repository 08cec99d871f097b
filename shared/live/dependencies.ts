/**
 * What the live-updates functions run on: the operations' dependencies and the connections they send to (the
 * `$connect` authorizer's are in `authorizer-dependencies.ts`).
 */
import type { Config } from '../config.ts';
import type { Dependencies } from '../dependencies.ts';
import { environmentDependencies, storeOnlyDependencies } from '../environment.ts';
import { type Connections, createConnections } from './connections.ts';

export interface LiveDependencies extends Dependencies {
  connections: Connections;
}

let live: LiveDependencies | undefined;
let liveStoreOnly: LiveDependencies | undefined;

/** This process's dependencies, with the connections of the WebSocket API named by `LIVE_ENDPOINT`. */
export function liveEnvironmentDependencies(): LiveDependencies {
  live ??= withConnections(environmentDependencies());
  return live;
}

/** The same for a live function that never calls Stripe: its bundle leaves the Stripe SDK out. */
export function liveStoreOnlyDependencies(): LiveDependencies {
  liveStoreOnly ??= withConnections(storeOnlyDependencies());
  return liveStoreOnly;
}

function withConnections(base: Dependencies): LiveDependencies {
  let connections: Connections | undefined;
  return {
    get store() {
      return base.store;
    },
    get settings() {
      return base.settings;
    },
    clock: base.clock,
    stripe: () => base.stripe(),
    get connections() {
      connections ??= connectionsFor(base.settings);
      return connections;
    },
  };
}

function connectionsFor(settings: Config): Connections {
  if (settings.LIVE_ENDPOINT === undefined) throw new Error('Invalid configuration: LIVE_ENDPOINT: required');
  return createConnections(settings.LIVE_ENDPOINT, settings.AWS_REGION);
}

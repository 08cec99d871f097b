/**
 * What the console is told by where it is served (`config.json` beside the page): where the POS API and the live
 * updates are, and how a user signs in. The local stack answers with its own origin and its own tokens; a deployment
 * on AWS (CDK context `console=true`) with the HTTP API's URL and the Cognito Hosted UI of the stack's user pool.
 */
export type SignInConfig =
  | { kind: 'local' }
  | {
      kind: 'cognito';
      /** The Hosted UI's origin, e.g. `https://shop.auth.eu-west-1.amazoncognito.com`. */
      domain: string;
      /** The console's app client: public, authorization code grant with PKCE. */
      clientId: string;
      scopes?: string[];
    };

export interface ConsoleConfig {
  /** The POS API's base URL, without a trailing slash; empty for the console's own origin. */
  apiUrl: string;
  /** The live-updates WebSocket API. */
  liveUrl: string;
  signIn: SignInConfig;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  let response: Response;
  try {
    response = await fetch('config.json', { cache: 'no-store' });
  } catch {
    throw new Error('The console could not reach its server. Check the network, then reload the page.');
  }
  if (!response.ok) throw new Error(`The console’s settings could not be read (${response.status}). Reload the page.`);
  const config = (await response.json()) as Partial<ConsoleConfig>;
  if (typeof config.liveUrl !== 'string' || config.signIn === undefined) {
    throw new Error('The console’s settings are incomplete: it needs liveUrl and signIn. Tell whoever deployed it.');
  }
  return { apiUrl: (config.apiUrl ?? '').replace(/\/+$/, ''), liveUrl: config.liveUrl, signIn: config.signIn };
}

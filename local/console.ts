/**
 * The POS console (`console/`) as the local gateway serves it under `/console/`: the page, its stylesheet and its
 * script, bundled by esbuild in memory at the first request, on the API's own origin so the browser needs no CORS.
 * Its settings (`/console/config.json`) name the API's own origin and the local sign-in: a choice among the stack's
 * own tokens (`/console/local-session.json`), served only here to a browser on this machine; and
 * the register can play the customer on a simulated reader (`/console/local-readers/{id}/…`, the emulator's test
 * helpers), so the console can be tried with nothing but a browser.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repositoryRoot } from './lambda.ts';

/** Where the console is served; every path under it is the console's. */
export const CONSOLE_PATH = '/console';

/** What the local sign-in offers: a token per location and an admin's, minted fresh at each sign-in. */
export interface LocalSession {
  liveUrl: string;
  /** The register may play the customer on the emulator's simulated readers. */
  simulator: boolean;
  accounts: {
    label: string;
    role: 'cashier' | 'admin';
    token: string;
    locations: { id: string; displayName: string }[];
  }[];
}

export interface ConsoleAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ConsoleRequest {
  method: string;
  rawPath: string;
  /** The local sign-in's tokens and the simulated customer answer only a browser on this machine. */
  fromLoopback: boolean;
  body: Buffer;
}

export interface ConsoleFiles {
  /** The answer for a path under `/console`, or undefined when the console has no such file. */
  serve(request: ConsoleRequest): Promise<ConsoleAnswer | undefined>;
}

/** What the customer does at a simulated reader. */
export type CustomerGesture =
  | { gesture: 'tap'; declined?: boolean; interac?: boolean; tip?: number }
  | { gesture: 'cancel' };

/** Plays a customer's gesture on a reader; answers with the emulator's status and JSON. */
export type ReaderSimulator = (
  readerId: string,
  gesture: CustomerGesture,
) => Promise<{ status: number; body: unknown }>;

/** A card the emulator declines for insufficient funds (stripe-emulator.md). */
const DECLINED_CARD = '4000000000009995';

const SOURCE_DIR = join(repositoryRoot, 'console');

/**
 * The console's files. The bundle is built at the first request for it and again once a source file has changed, so
 * an edit shows at the next reload; a build error is answered 500 with esbuild's message, for the developer to see.
 */
export function consoleFiles(session: () => Promise<LocalSession>, simulator?: ReaderSimulator): ConsoleFiles {
  let bundle: { builtFrom: number; script: Promise<string> } | undefined;
  const script = async () => {
    const builtFrom = await newestSource();
    if (bundle === undefined || bundle.builtFrom !== builtFrom) {
      const built = { builtFrom, script: bundleScript() };
      bundle = built;
      built.script.catch(() => {
        if (bundle === built) bundle = undefined;
      });
    }
    return bundle.script;
  };
  const file = async (name: string) => readFile(join(SOURCE_DIR, name));
  const answer = (body: Buffer | string, contentType: string, headers: Record<string, string> = {}): ConsoleAnswer => ({
    statusCode: 200,
    headers: { 'content-type': contentType, 'cache-control': 'no-store', ...headers },
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  });
  return {
    async serve({ method, rawPath, fromLoopback, body }): Promise<ConsoleAnswer | undefined> {
      const path = rawPath.slice(CONSOLE_PATH.length);
      const simulated = /^\/local-readers\/(\w+)\/(tap|cancel)$/.exec(path);
      if (simulated) {
        if (method !== 'POST' || !fromLoopback || simulator === undefined) return undefined;
        const options = parseJson(body);
        const gesture: CustomerGesture =
          simulated[2] === 'cancel'
            ? { gesture: 'cancel' }
            : {
                gesture: 'tap',
                declined: options.declined === true,
                interac: options.interac === true,
                ...(typeof options.tip === 'number' ? { tip: options.tip } : {}),
              };
        const outcome = await simulator(simulated[1] as string, gesture);
        return { ...answer(JSON.stringify(outcome.body ?? {}), 'application/json'), statusCode: outcome.status };
      }
      if (method !== 'GET') return undefined;
      switch (path) {
        case '':
          return { statusCode: 308, headers: { location: `${CONSOLE_PATH}/` }, body: Buffer.alloc(0) };
        case '/':
        case '/index.html':
          return answer(await file('index.html'), 'text/html; charset=utf-8');
        case '/console.css':
          return answer(await file('console.css'), 'text/css; charset=utf-8');
        case '/console.js':
          try {
            return answer(await script(), 'text/javascript; charset=utf-8');
          } catch (error) {
            return {
              statusCode: 500,
              headers: { 'content-type': 'text/plain; charset=utf-8' },
              body: Buffer.from(`The console did not build: ${(error as Error).message}`),
            };
          }
        case '/config.json':
          // The console's own origin for the API, and the local sign-in: no tokens here, so any browser may read it.
          return answer(
            JSON.stringify({ apiUrl: '', liveUrl: (await session()).liveUrl, signIn: { kind: 'local' } }),
            'application/json',
          );
        case '/local-session.json':
          if (!fromLoopback) return undefined;
          return answer(JSON.stringify(await session()), 'application/json');
        default:
          return undefined;
      }
    },
  };
}

/**
 * The customer at one of the emulator's simulated readers: a tap is Stripe's `present_payment_method` test helper, a
 * cancel the emulator's control for the reader's cancel button.
 */
export function emulatorReaderSimulator(emulatorUrl: string, secretKey: () => string): ReaderSimulator {
  return async (readerId, gesture) => {
    const reader = encodeURIComponent(readerId);
    const response =
      gesture.gesture === 'cancel'
        ? await fetch(`${emulatorUrl}/_emulator/readers/${reader}/customer-cancel`, { method: 'POST' })
        : await fetch(`${emulatorUrl}/v1/test_helpers/terminal/readers/${reader}/present_payment_method`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${secretKey()}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: new URLSearchParams({
              // Stripe's Interac test card is the default of `interac_present`.
              type: gesture.interac ? 'interac_present' : 'card_present',
              ...(gesture.declined ? { 'card_present[number]': DECLINED_CARD } : {}),
              ...(gesture.tip ? { amount_tip: String(gesture.tip) } : {}),
            }).toString(),
          });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
  };
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8') || '{}');
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** When the newest of the console's TypeScript sources last changed. */
async function newestSource(): Promise<number> {
  const names = (await readdir(SOURCE_DIR)).filter((name) => name.endsWith('.ts'));
  const times = await Promise.all(names.map(async (name) => (await stat(join(SOURCE_DIR, name))).mtimeMs));
  return Math.max(0, ...times);
}

async function bundleScript(): Promise<string> {
  const result = await build({
    entryPoints: [join(SOURCE_DIR, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

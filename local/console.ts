/**
 * The POS console (`console/`) as the local gateway serves it under `/console/`: the page, its stylesheet and its
 * script, bundled by esbuild in memory at the first request, on the API's own origin so the browser needs no CORS.
 * Locally, sign-in is a choice among the stack's own tokens (`/console/local-session.json`), served only here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repositoryRoot } from './lambda.ts';

/** Where the console is served; every path under it is the console's. */
export const CONSOLE_PATH = '/console';

/** What the local sign-in offers: a token per location and an admin's, minted fresh at each sign-in. */
export interface LocalSession {
  liveUrl: string;
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

export interface ConsoleFiles {
  /**
   * The answer for a path under `/console`, or undefined when the console has no such file. The local sign-in's
   * tokens go only to a browser on this machine (`fromLoopback`).
   */
  serve(
    rawPath: string,
    fromLoopback: boolean,
  ): Promise<{ statusCode: number; headers: Record<string, string>; body: Buffer } | undefined>;
}

const SOURCE_DIR = join(repositoryRoot, 'console');

/**
 * The console's files. The bundle is built once, at the first request for it; a build error is answered 500 with
 * esbuild's message, so a developer sees it in the browser.
 */
export function consoleFiles(session: () => Promise<LocalSession>): ConsoleFiles {
  let bundle: Promise<string> | undefined;
  const script = () => {
    bundle ??= bundleScript().catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return bundle;
  };
  const file = async (name: string) => readFile(join(SOURCE_DIR, name));
  const answer = (body: Buffer | string, contentType: string, headers: Record<string, string> = {}): ConsoleAnswer => ({
    statusCode: 200,
    headers: { 'content-type': contentType, 'cache-control': 'no-store', ...headers },
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  });
  return {
    async serve(rawPath, fromLoopback): Promise<ConsoleAnswer | undefined> {
      const path = rawPath.slice(CONSOLE_PATH.length);
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
        case '/local-session.json':
          if (!fromLoopback) return undefined;
          return answer(JSON.stringify(await session()), 'application/json');
        default:
          return undefined;
      }
    },
  };
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

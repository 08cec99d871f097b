/**
 * The POS console's static files as they are deployed (`constructs/pos-console.ts`): the page, its stylesheet, and its
 * script bundled by esbuild from `console/main.ts` into one minified ES module for the browsers of today. Synthesis
 * builds them, offline, from the sources in the repository.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/** The console's sources. */
export const CONSOLE_SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'console');

/** The files the console is served as, each under `/console/`. */
export const CONSOLE_FILES = ['index.html', 'console.css', 'console.js'] as const;

/** Writes `index.html`, `console.css` and `console.js` into `outDir` (created if missing); throws on a build error. */
export function buildConsoleAssets(outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [join(CONSOLE_SOURCE_DIR, 'main.ts')],
    outfile: join(outDir, 'console.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const name of ['index.html', 'console.css']) copyFileSync(join(CONSOLE_SOURCE_DIR, name), join(outDir, name));
}

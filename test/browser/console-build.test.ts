/**
 * The console's TypeScript is checked with the DOM's types (`console/tsconfig.json`), apart from the backend's, and
 * the bundle the local gateway serves builds.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { consoleFiles } from '../../local/console.ts';
import { repositoryRoot } from '../../local/lambda.ts';
import { chromiumPath } from './browser.ts';

const run = promisify(execFile);

describe('the console source', () => {
  it('type-checks strictly against the DOM', async () => {
    // Act
    const checked = await run(
      process.execPath,
      [join(repositoryRoot, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'console'],
      { cwd: repositoryRoot },
    ).catch((error: { stdout: string; code: number }) => error);

    // Assess
    expect(checked.stdout).toBe('');
  });

  it('is served as a page, a stylesheet and a bundled script, with their content types', async () => {
    // Prepare
    const files = consoleFiles(async () => ({ liveUrl: 'ws://127.0.0.1:1', simulator: false, accounts: [] }));
    const get = (rawPath: string, fromLoopback = true) =>
      files.serve({ method: 'GET', rawPath, fromLoopback, body: Buffer.alloc(0) });

    // Act
    const [page, styles, script, session, elsewhere, config] = await Promise.all([
      get('/console/'),
      get('/console/console.css'),
      get('/console/console.js'),
      get('/console/local-session.json', false),
      get('/console/../package.json'),
      get('/console/config.json', false),
    ]);

    // Assess
    expect(page?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page?.body.toString()).toContain('<script type="module" src="console.js">');
    expect(styles?.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(script?.statusCode).toBe(200);
    expect(script?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script?.body.toString()).toContain('Take payment');
    expect(session).toBeUndefined();
    expect(elsewhere).toBeUndefined();
    // Its settings hold no token, so any browser may read them: the API on this origin, the local sign-in.
    expect(JSON.parse(config?.body.toString() ?? '')).toEqual({
      apiUrl: '',
      liveUrl: 'ws://127.0.0.1:1',
      signIn: { kind: 'local' },
    });
  });
});

describe('the browser the console is tested in', () => {
  it('is the one CHROMIUM_PATH names, or an installed Chromium; without one the tests fail saying what to install', () => {
    // Assess
    expect(chromiumPath({ CHROMIUM_PATH: process.execPath })).toBe(process.execPath);
    expect(() => chromiumPath({ CHROMIUM_PATH: '/nowhere/chromium' })).toThrow(
      'CHROMIUM_PATH is /nowhere/chromium, which does not exist.',
    );
    expect(() => chromiumPath({}, ['/nowhere/chromium'])).toThrow(
      'The browser tests need Chromium: apt-get install -y chromium (or set CHROMIUM_PATH to a Chromium or Chrome binary). Looked in /nowhere/chromium.',
    );
  });
});

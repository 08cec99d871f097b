/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package (or the browser
 * `CHROMIUM_PATH` names), driven by puppeteer-core, which never downloads one. Without a browser the tests fail
 * and say what to install, rather than skip.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { repositoryRoot } from '../../local/lambda.ts';

const DEFAULT_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Screenshots of each screen, kept as the run's artifacts (git-ignored). */
export const SCREENSHOT_DIR = join(repositoryRoot, 'test-artifacts', 'browser');

/** The browser to drive: `CHROMIUM_PATH`, else the first of `candidates` installed; a clear error without one. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env, candidates = DEFAULT_PATHS): string {
  const configured = env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH is ${configured}, which does not exist.`);
    return configured;
  }
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      'The browser tests need Chromium: apt-get install -y chromium (or set CHROMIUM_PATH to a Chromium or Chrome ' +
        `binary). Looked in ${candidates.join(', ')}.`,
    );
  }
  return found;
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // A tablet in landscape, the screen the console is made for.
    defaultViewport: { width: 1180, height: 820 },
    // Root in a container has no user namespace for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

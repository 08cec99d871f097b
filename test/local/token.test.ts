import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, sep } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../local/lambda.ts';
import { api, type LocalStack, startTestStack } from '../support/stack.ts';

const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

let stateDir: string;
let stateFile: string;
let stack: LocalStack;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'token-test-'));
  stateFile = join(stateDir, 'stack.json');
  stack = await startTestStack({
    stateFile,
    reconcileIntervalSeconds: 3600,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
});

afterAll(async () => {
  await stack?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

/** Run `command` and `args` from the repository root the way a shell would, whatever its exit code. */
async function shell(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  // Asynchronously: the stack the command talks to runs in this process.
  try {
    const { stdout, stderr } = await run(command, args, { cwd: repositoryRoot, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `local/token.ts` under this test's Node (the pinned one), for the stack started here unless `--state` is given. */
function token(...args: string[]): Promise<Outcome> {
  const withState = args.some((arg) => arg.startsWith('--state')) ? args : [`--state=${stateFile}`, ...args];
  return shell(process.execPath, ['local/token.ts', ...withState]);
}

const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

describe('npm run token', () => {
  it('runs through npm under the pinned Node, whatever Node the shell’s PATH has', async () => {
    // Prepare: npm runs on whatever Node it finds; node_modules/.bin is what `npm run` adds in front.
    const localBin = `${join(repositoryRoot, 'node_modules', '.bin')}`;
    const path = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((entry) => !entry.startsWith(localBin) && !entry.includes(`${sep}node_modules${sep}`))
      .join(delimiter);
    const npm = process.env.npm_execpath;
    const [command, prefix] = npm === undefined ? ['npm', []] : [process.execPath, [npm]];

    // Act
    const help = await shell(command, [...prefix, 'run', '--silent', 'token', '--', '--help'], {
      ...process.env,
      PATH: path,
    });

    // Assess
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: npm run token -- <locationId[,locationId…] | '*'>");
  });

  it('prints a token the stack accepts for the location it names, and only that location', async () => {
    // Prepare
    const [here, elsewhere] = stack.state.locations;

    // Act
    const printed = await token(here!.id);
    const own = await api(stack, 'GET', `/payments?locationId=${here!.id}`, { token: printed.stdout.trim() });
    const other = await api(stack, 'GET', `/payments?locationId=${elsewhere!.id}`, { token: printed.stdout.trim() });

    // Assess
    expect(printed).toMatchObject({ code: 0, stderr: '' });
    expect(lines(printed.stdout)).toHaveLength(1);
    expect(own.status).toBe(200);
    expect(other.status).toBe(403);
  });

  it('prints a token for every location with *, and an expired one with a negative lifetime', async () => {
    // Act
    const all = await token('*');
    const expired = await token(stack.state.locations[0]!.id, '--expires-in=-60');

    // Assess
    expect((await api(stack, 'GET', '/payments', { token: all.stdout.trim() })).status).toBe(200);
    expect((await api(stack, 'GET', '/payments', { token: expired.stdout.trim() })).status).toBe(401);
  });

  it('prints an admin’s token with --admin: the fleet routes open to it, and to no other token', async () => {
    // Act
    const admin = await token(stack.state.locations[0]!.id, '--admin');
    const cashier = await token(stack.state.locations[0]!.id);

    // Assess
    expect((await api(stack, 'GET', '/locations', { token: admin.stdout.trim() })).status).toBe(200);
    expect((await api(stack, 'GET', '/locations', { token: cashier.stdout.trim() })).status).toBe(403);
  });

  it('knows a location created on the emulator after the stack started', async () => {
    // Prepare
    const response = await fetch(`${stack.state.stripe.apiBase}/v1/terminal/locations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.state.stripe.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ display_name: 'Pop-up Stand', 'address[country]': 'US' }).toString(),
    });
    const { id } = (await response.json()) as { id: string };

    // Act
    const printed = await token(id);

    // Assess
    expect(printed.code).toBe(0);
    expect((await api(stack, 'GET', `/payments?locationId=${id}`, { token: printed.stdout.trim() })).status).toBe(200);
  });

  it('refuses a location the running stack does not have, naming the ones it has', async () => {
    // Act
    const refused = await token('tml_doesnotexist');

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(lines(refused.stderr)).toHaveLength(1);
    expect(refused.stderr).toContain('Unknown location tml_doesnotexist');
    for (const location of stack.state.locations) expect(refused.stderr).toContain(location.id);
  });

  it.each([
    ['no location', []],
    ['two location arguments', ['tml_1', 'tml_2']],
    ['an empty id in the list', ['tml_1,,tml_2']],
    ['* beside an id', ['*,tml_1']],
    ['an unknown option', ['tml_1', '--lifetime=60']],
    ['a lifetime that is not a number', ['tml_1', '--expires-in=soon']],
    ['a lifetime option without its value', ['tml_1', '--expires-in']],
    ['a negative lifetime not joined to its option', ['tml_1', '--expires-in', '-60']],
    ['an empty user name', ['tml_1', '--username=']],
  ])('refuses %s in one line, with exit code 2 and nothing on stdout', async (_, args) => {
    // Act
    const refused = await token(...args);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(lines(refused.stderr)).toHaveLength(1);
    expect(refused.stderr).toContain('npm run token -- --help');
  });

  it('says there is no running stack when its state file is missing', async () => {
    // Act
    const refused = await token(stack.state.locations[0]!.id, `--state=${join(stateDir, 'gone', 'stack.json')}`);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(lines(refused.stderr)).toEqual([
      expect.stringMatching(/^No running local stack: .* Start it with 'npm start'\.$/),
    ]);
  });
});

/**
 * `npm run token -- tml_123` prints a token the running local stack accepts: for one location, for several
 * (`tml_1,tml_2`) or for every location (`'*'`); `--expires-in=600` sets its lifetime in seconds (`--expires-in=-60`:
 * an expired token, to try the 401), `--username=name` its user, `--admin` gives it the admin role (`custom:role` =
 * `admin`, for the fleet routes). It is signed with the key `npm start` generated and
 * wrote to `.local/issuer.json`, so it is valid only until that stack stops; `--state=file` names another stack's
 * state file (the issuer's key is beside it).
 *
 * A location the running stack's Stripe emulator does not have is refused: a token for it could only get 403s.
 * Runs through npm, which puts the pinned Node 24 first on the PATH (Node 20 cannot load TypeScript).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { issuerFromKey, type TokenRequest } from './jwt-issuer.ts';
import { repositoryRoot } from './lambda.ts';
import type { StackState } from './stack.ts';

/** Where `npm start` writes its state (`DEFAULT_STATE_FILE`; `stack.ts` itself would load the whole stack). */
const DEFAULT_STATE_FILE = join(repositoryRoot, '.local', 'stack.json');

const USAGE = `Prints a token the running local stack (npm start) accepts.

usage: npm run token -- <locationId[,locationId…] | '*'> [options]

  <locationId,…>          the locations the token may act for; '*' for every location
  --expires-in=<seconds>  lifetime, 24 h by default; negative gives an expired token
  --username=<name>       the user the token names (cognito:username), pos-user by default
  --admin                 a shop admin's token (custom:role = admin): locations and readers can be managed
  --state=<file>          the stack's state file, ${relative(process.cwd(), DEFAULT_STATE_FILE)} by default
  -h, --help              this text

To keep the token in a variable, silence npm's own lines: TOKEN=$(npm run --silent token -- tml_…)`;

/** What the command is asked for. */
interface TokenCommand {
  locations: TokenRequest['locations'];
  expiresInSeconds?: number;
  username?: string;
  admin: boolean;
  stateFile: string;
}

/** A problem to report in one line and exit with: 2 for the arguments, 1 for the running stack. */
class CommandError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: 1 | 2 = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

function parseCommand(args: string[]): TokenCommand | 'help' {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (error) {
    // Node's own messages can run over several lines.
    throw new CommandError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) {
    throw new CommandError(
      positionals.length === 0
        ? 'Name the location the token is for (several comma-separated, or * for all)'
        : `Give the locations as one comma-separated argument, not ${positionals.length}`,
    );
  }
  const expiresIn = values['expires-in'];
  if (expiresIn !== undefined && !/^-?\d+$/.test(expiresIn)) {
    throw new CommandError(`--expires-in must be a whole number of seconds, not '${expiresIn}'`);
  }
  if (values.username !== undefined && values.username.trim() === '') throw new CommandError('--username is empty');
  return {
    locations: locationsOf(positionals[0] ?? ''),
    ...(expiresIn === undefined ? {} : { expiresInSeconds: Number(expiresIn) }),
    ...(values.username === undefined ? {} : { username: values.username.trim() }),
    admin: values.admin === true,
    stateFile: values.state ?? DEFAULT_STATE_FILE,
  };
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      'expires-in': { type: 'string' },
      username: { type: 'string' },
      admin: { type: 'boolean' },
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function locationsOf(list: string): TokenRequest['locations'] {
  if (list.trim() === '*') return '*';
  const ids = list.split(',').map((id) => id.trim());
  if (ids.some((id) => id === '' || id === '*')) {
    throw new CommandError(`'${list}' is not a list of location ids: give tml_1,tml_2 or * alone`);
  }
  return ids;
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    throw new CommandError(
      `No running local stack: ${relative(process.cwd(), file)} is missing. Start it with 'npm start'.`,
      1,
    );
  }
}

/** Every location the running stack's Stripe emulator has: the seeded ones and any created since. */
async function stackLocations(state: StackState): Promise<{ id: string; displayName: string }[]> {
  const locations: { id: string; displayName: string }[] = [];
  for (let after: string | undefined; ; ) {
    const url = new URL('/v1/terminal/locations', state.stripe.apiBase);
    url.searchParams.set('limit', '100');
    if (after !== undefined) url.searchParams.set('starting_after', after);
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${state.stripe.secretKey}` },
      signal: AbortSignal.timeout(5_000),
    }).catch(() => undefined);
    if (!response?.ok) {
      throw new CommandError(
        `No running local stack: its Stripe emulator (${state.stripe.apiBase}) does not answer. Start it with 'npm start'.`,
        1,
      );
    }
    const page = (await response.json()) as { data: { id: string; display_name: string }[]; has_more: boolean };
    locations.push(...page.data.map((location) => ({ id: location.id, displayName: location.display_name })));
    after = page.data.at(-1)?.id;
    if (!page.has_more || after === undefined) return locations;
  }
}

async function main(args: string[]): Promise<void> {
  const command = parseCommand(args);
  if (command === 'help') {
    console.log(USAGE);
    return;
  }
  const state = await readJson<StackState>(command.stateFile);
  const saved = await readJson<{ issuer: string; audience: string; privateJwk: JWK }>(
    join(dirname(command.stateFile), 'issuer.json'),
  );
  const known = await stackLocations(state);
  if (command.locations !== '*') {
    const unknown = command.locations.filter((id) => !known.some((location) => location.id === id));
    if (unknown.length > 0) {
      const names = known.map((location) => `${location.id} (${location.displayName})`).join(', ');
      throw new CommandError(
        `Unknown location ${unknown.join(', ')}: the running stack has ${names || 'no locations'}; '*' means all of them`,
      );
    }
  }
  const issuer = await issuerFromKey(saved.privateJwk, saved.issuer, saved.audience);
  console.log(
    await issuer.sign({
      locations: command.locations,
      ...(command.username === undefined ? {} : { username: command.username }),
      ...(command.expiresInSeconds === undefined ? {} : { expiresInSeconds: command.expiresInSeconds }),
      ...(command.admin ? { role: 'admin' as const } : {}),
    }),
  );
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof CommandError)) throw error;
  console.error(error.exitCode === 2 ? `${error.message}; see npm run token -- --help` : error.message);
  process.exitCode = error.exitCode;
}

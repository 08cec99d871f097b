/**
 * Prints a token the running local stack accepts: `node local/token.ts tml_123` (one location),
 * `node local/token.ts tml_1,tml_2`, `node local/token.ts '*'` (every location); `--expires-in 600` sets the
 * lifetime in seconds (`--expires-in=-60`: an expired token, to try the 401). Signed with the key `npm start` generated
 * and wrote to `.local/issuer.json`, so it is valid only until that stack stops.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { issuerFromKey } from './jwt-issuer.ts';
import { repositoryRoot } from './lambda.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'expires-in': { type: 'string' }, username: { type: 'string' } },
});
const locations = positionals[0];
if (!locations) {
  console.error("usage: node local/token.ts <locationId[,locationId…] | '*'> [--expires-in=seconds] [--username=name]");
  process.exit(2);
}

const issuerFile = join(repositoryRoot, '.local', 'issuer.json');
let saved: { issuer: string; audience: string; privateJwk: JWK };
try {
  saved = JSON.parse(await readFile(issuerFile, 'utf8'));
} catch {
  console.error(`No running local stack: ${issuerFile} is missing. Start it with 'npm start'.`);
  process.exit(1);
}

const issuer = await issuerFromKey(saved.privateJwk, saved.issuer, saved.audience);
const token = await issuer.sign({
  locations: locations === '*' ? '*' : locations.split(',').map((id) => id.trim()),
  ...(values.username ? { username: values.username } : {}),
  ...(values['expires-in'] ? { expiresInSeconds: Number(values['expires-in']) } : {}),
});
console.log(token);

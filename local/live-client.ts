/**
 * `npm run live` watches the running local stack's live updates: it connects to the WebSocket API with the first
 * seeded location's token (from `.local/stack.json`), subscribes to that location, and prints every message, one
 * JSON line each. `npm run live -- pi_…` follows one payment instead; `--state=file` names another stack's state file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { repositoryRoot } from './lambda.ts';
import type { StackState } from './stack.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { state: { type: 'string' } },
  allowPositionals: true,
});
const stateFile = values.state ?? join(repositoryRoot, '.local', 'stack.json');
let state: StackState;
try {
  state = JSON.parse(await readFile(stateFile, 'utf8')) as StackState;
} catch {
  console.error(`No running local stack: ${stateFile} is missing. Start one with 'npm start'.`);
  process.exit(1);
}
const location = state.locations[0];
if (location === undefined) throw new Error('The stack has no location');
const [paymentId] = positionals;
const subscription = paymentId === undefined ? { locationId: location.id } : { paymentId };

const socket = new WebSocket(`${state.liveUrl}?token=${encodeURIComponent(location.token)}`);
socket.on('open', () => {
  console.error(`connected to ${state.liveUrl}; subscribing to ${JSON.stringify(subscription)} (Ctrl-C stops)`);
  socket.send(JSON.stringify({ action: 'subscribe', ...subscription }));
});
socket.on('message', (data) => console.log(data.toString()));
socket.on('unexpected-response', (_request, response) => {
  console.error(`refused: ${response.statusCode} ${response.statusMessage}`);
  process.exit(1);
});
socket.on('close', (code, reason) => {
  console.error(`closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`);
  process.exit(0);
});
socket.on('error', (error) => {
  console.error(error.message);
  process.exit(1);
});

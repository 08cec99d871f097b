import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../local/lambda.ts';
import { closeServer, freePort, listen, PortInUseError } from '../../local/ports.ts';
import { type StackOptions, startStack } from '../../local/stack.ts';

let squatter: Server;
let busyPort: number;

beforeAll(async () => {
  squatter = createServer();
  busyPort = await listen(squatter, 0, '127.0.0.1', 'PORT');
});

afterAll(async () => {
  await closeServer(squatter);
});

/** A stack whose other ports are free, so only the busy one can fail. */
async function stackOptions(overrides: StackOptions): Promise<StackOptions> {
  return {
    apiPort: await freePort(),
    sqsPort: await freePort(),
    dynamoDbPort: await freePort(),
    emulatorPort: await freePort(),
    wsPort: await freePort(),
    stateFile: false,
    log: () => undefined,
    ...overrides,
  };
}

describe('a port already in use', () => {
  it.each([
    { variable: 'API_PORT', option: 'apiPort' },
    { variable: 'SQS_PORT', option: 'sqsPort' },
    { variable: 'DYNAMODB_PORT', option: 'dynamoDbPort' },
    { variable: 'STRIPE_EMULATOR_PORT', option: 'emulatorPort' },
    { variable: 'WS_PORT', option: 'wsPort' },
  ] as const)('stops the start with an error naming the port and $variable', async ({ variable, option }) => {
    // Prepare
    const options = await stackOptions({ [option]: busyPort });

    // Act
    const starting = startStack(options);

    // Assess
    await expect(starting).rejects.toBeInstanceOf(PortInUseError);
    await expect(starting).rejects.toThrow(
      `Port ${busyPort} is already in use: stop what listens there or set ${variable} to another port.`,
    );
  });

  it('makes `npm start` print that one line and exit with status 1', async () => {
    // Prepare
    const env = { ...process.env, API_PORT: String(busyPort) };

    // Act
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn(process.execPath, [join(repositoryRoot, 'local/main.ts')], { env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
        });
        child.stderr.on('data', (chunk) => {
          stderr += chunk;
        });
        child.on('exit', (exitCode) => resolve({ code: exitCode, stdout, stderr }));
      },
    );

    // Assess
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `Port ${busyPort} is already in use: stop what listens there or set API_PORT to another port.`,
    ]);
  });
});

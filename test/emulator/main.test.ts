import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PORT, optionsFromEnv } from '../../local/stripe-emulator/index.ts';

const MAIN = 'local/stripe-emulator/main.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('npm run emulator (main.ts)', () => {
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the URL and seeded ids, applies EMULATOR_* knobs, and exits cleanly on SIGTERM', async () => {
    // Prepare
    const port = await freePort();
    const emulator = run({ STRIPE_EMULATOR_PORT: String(port), EMULATOR_AUTHORIZATION_DELAY_MS: '7' });
    started.push(emulator.child);
    await until(() => emulator.stdout().includes('reader tmr_'));

    // Act
    const config = (await (await fetch(`http://127.0.0.1:${port}/_emulator/config`)).json()) as Record<string, number>;
    emulator.child.kill('SIGTERM');
    const code = await emulator.exited;

    // Assess
    expect(emulator.stdout()).toContain(`http://127.0.0.1:${port}`);
    expect(emulator.stdout()).toMatch(/location tml_\w+/);
    expect(emulator.stdout().match(/reader tmr_\w+/g)).toHaveLength(2);
    expect(config.authorizationDelayMs).toBe(7);
    expect(code).toBe(0);
  });

  it('keeps its state in EMULATOR_DATA_DIR across a SIGTERM and a restart', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'stripe-emulator-main-'));
    const port = await freePort();
    const env = { STRIPE_EMULATOR_PORT: String(port), EMULATOR_DATA_DIR: dataDir };
    const first = run(env);
    started.push(first.child);
    await until(() => first.stdout().includes('reader tmr_'));
    const created = await fetch(`http://127.0.0.1:${port}/v1/payment_intents`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sk_test_main', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'amount=1000&currency=usd&allowed_payment_method_types[0]=card_present',
    });
    const { id } = (await created.json()) as { id: string };

    // Act
    first.child.kill('SIGTERM');
    const code = await first.exited;
    const second = run(env);
    started.push(second.child);
    await until(() => second.stdout().includes('reader tmr_'));
    const read = await fetch(`http://127.0.0.1:${port}/v1/payment_intents/${id}`, {
      headers: { Authorization: 'Bearer sk_test_main' },
    });
    second.child.kill('SIGTERM');
    await second.exited;
    await rm(dataDir, { recursive: true, force: true });

    // Assess
    expect(code).toBe(0);
    expect(first.stdout()).toContain(`state kept in ${dataDir}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id, status: 'requires_payment_method' });
  });

  it('says so in one line when the port is in use', async () => {
    // Prepare
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;

    // Act
    const emulator = run({ STRIPE_EMULATOR_PORT: String(port) });
    started.push(emulator.child);
    const code = await emulator.exited;
    await new Promise((resolve) => blocker.close(resolve));

    // Assess
    expect(code).toBe(1);
    expect(emulator.stderr().trim().split('\n')).toEqual([
      `stripe-emulator: port ${port} on 127.0.0.1 is already in use; set STRIPE_EMULATOR_PORT to a free port`,
    ]);
  });
});

describe('optionsFromEnv', () => {
  it('defaults the port to 12111', () => {
    // Act
    const options = optionsFromEnv({});

    // Assess
    expect(options).toEqual({ port: DEFAULT_PORT });
    expect(DEFAULT_PORT).toBe(12111);
  });

  it('reads the webhook endpoint, the data directory and every timing knob', () => {
    // Act
    const options = optionsFromEnv({
      STRIPE_EMULATOR_PORT: '4000',
      EMULATOR_WEBHOOK_URL: 'http://127.0.0.1:3000/webhook',
      EMULATOR_WEBHOOK_SECRET: 'whsec_local',
      EMULATOR_DATA_DIR: '/var/lib/emulator',
      EMULATOR_AUTHORIZATION_DELAY_MS: '100',
      EMULATOR_CAPTURE_WINDOW_SECONDS: '60',
      EMULATOR_WEBHOOK_RETRIES: '5',
      EMULATOR_WEBHOOK_RETRY_BASE_MS: '250',
    });

    // Assess
    expect(options).toEqual({
      port: 4000,
      webhookUrl: 'http://127.0.0.1:3000/webhook',
      webhookSecret: 'whsec_local',
      dataDir: '/var/lib/emulator',
      authorizationDelayMs: 100,
      captureWindowSeconds: 60,
      webhookRetries: 5,
      webhookRetryBaseMs: 250,
    });
  });

  it('rejects a malformed number', () => {
    // Act / Assess
    expect(() => optionsFromEnv({ EMULATOR_WEBHOOK_RETRIES: 'many' })).toThrow('EMULATOR_WEBHOOK_RETRIES');
  });
});

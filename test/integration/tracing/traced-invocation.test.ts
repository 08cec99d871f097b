import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../../bench/bundle.ts';
import { functionBundling } from '../../../infra/bundling.ts';
import { repositoryRoot } from '../../../local/lambda.ts';
import { tracingEnabled } from '../../../shared/tracing.ts';
import { apiEvent, claimsFor, type LocalParts, startLocalParts } from '../../support/invoke.ts';

/** What the X-Ray SDK sends the daemon: a header line, then one segment or subsegment document. */
interface Subsegment {
  id: string;
  name: string;
  trace_id: string;
  parent_id?: string;
  type?: string;
  namespace?: string;
  annotations?: Record<string, unknown>;
  aws?: { operation?: string; table_name?: string };
  http?: { request?: { method?: string; url?: string }; response?: { status?: number } };
  subsegments?: Subsegment[];
}

/** A UDP listener standing in for the X-Ray daemon: every document it receives, subsegments unnested. */
interface Daemon {
  port: number;
  received: Subsegment[];
  /** Resolves once what was received satisfies `done` (each subsegment arrives as it closes, after the response). */
  until(done: (all: Subsegment[]) => boolean): Promise<void>;
  close(): void;
}

async function xrayDaemon(): Promise<Daemon> {
  const socket: Socket = createSocket('udp4');
  const received: Subsegment[] = [];
  const collect = (document: Subsegment) => {
    received.push(document);
    for (const child of document.subsegments ?? []) collect({ ...child, trace_id: document.trace_id });
  };
  socket.on('message', (message) => {
    const body = message.toString('utf8').split('\n').slice(1).join('\n');
    collect(JSON.parse(body) as Subsegment);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const until = async (done: (all: Subsegment[]) => boolean) => {
    while (!done(received)) await once(socket, 'message');
  };
  return { port: socket.address().port, received, until, close: () => socket.close() };
}

let parts: LocalParts;
let child: ChildProcess | undefined;
let bundleDir: string;

beforeAll(async () => {
  parts = await startLocalParts();
  bundleDir = await mkdtemp(join(tmpdir(), 'traced-bundle-'));
});
afterAll(async () => {
  await parts?.close();
  await rm(bundleDir, { recursive: true, force: true });
});
afterEach(() => {
  child?.kill();
  child = undefined;
});

/**
 * Invoke `entry`'s handler once in a fresh process with `env` added to this one's (the local parts' settings): the
 * bundle the CDK app deploys (`infra/bundling.ts`), so what is traced is what runs on Lambda.
 */
async function invokeFresh(entry: string, event: unknown, env: Record<string, string>): Promise<unknown> {
  const built = await bundle(repositoryRoot, { entry }, join(bundleDir, entry.replaceAll('/', '-')), functionBundling);
  child = spawn(process.execPath, [join(repositoryRoot, 'test/support/fresh-invocation.ts'), built.file], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin?.end(JSON.stringify(event));
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the invocation ended (exit ${code}) without a result`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  return JSON.parse(line);
}

describe('tracing', () => {
  it('runs in Lambda unless turned off, and never outside it', () => {
    // Act & Assess
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' })).toBe(true);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'FALSE' })).toBe(
      false,
    );
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(false);
  });

  it('sends a payment creation as the handler subsegment, its DynamoDB calls and its Stripe call beneath it', {
    timeout: 60_000,
  }, async () => {
    // Prepare
    const daemon = await xrayDaemon();
    const traceId = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
    const store = parts.locations[0]!;
    const event = apiEvent({
      method: 'POST',
      route: '/payments',
      body: { orderId: `order-${randomBytes(4).toString('hex')}`, locationId: store.id, amount: 1299, currency: 'usd' },
      claims: claimsFor([store.id]),
    });

    try {
      // Act
      const response = (await invokeFresh('functions/payments/create.ts', event, {
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        LAMBDA_TASK_ROOT: repositoryRoot,
        _HANDLER: 'index.handler',
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.port}`,
        _X_AMZN_TRACE_ID: `Root=${traceId};Parent=${randomBytes(8).toString('hex')};Sampled=1`,
        POWERTOOLS_SERVICE_NAME: 'terminal-payments',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      })) as { statusCode: number };
      const handlerSegment = (all: Subsegment[]) => all.find((segment) => segment.name === '## index.handler');
      await daemon.until((all) => handlerSegment(all) !== undefined);

      // Assess
      expect(response.statusCode).toBe(201);
      const root = handlerSegment(daemon.received)!;
      expect(root.trace_id).toBe(traceId);
      expect(root.annotations).toMatchObject({ ColdStart: true, Service: 'terminal-payments' });
      const beneath = daemon.received.filter((segment) => segment.parent_id === root.id);
      const dynamo = beneath.filter((segment) => segment.name === 'DynamoDB' && segment.namespace === 'aws');
      // The order claim (a conditional put), then the payment and its order in one transaction.
      expect(dynamo.map((segment) => segment.aws?.operation)).toEqual(['PutItem', 'TransactWriteItems']);
      expect(dynamo[0]?.aws?.table_name).toBe(parts.tableName);
      const stripe = beneath.filter((segment) => segment.http?.request?.url?.includes('/v1/payment_intents'));
      expect(stripe).toEqual([
        expect.objectContaining({
          namespace: 'remote',
          http: expect.objectContaining({ request: expect.objectContaining({ method: 'POST' }) }),
        }),
      ]);
      expect(stripe[0]?.http?.response?.status).toBe(200);
      expect(daemon.received.every((segment) => segment.trace_id === traceId)).toBe(true);
    } finally {
      daemon.close();
    }
  });
});

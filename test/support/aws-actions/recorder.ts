/**
 * Vitest setup file: records every AWS SDK call made under a function's handler (`attribution.ts`) as the IAM
 * permissions it needs (`permissions.ts`), one JSON line per new permission, function and test file, in this
 * run's directory (`run.ts`). Calls outside any handler (the local stack starting DynamoDB Local and the queues,
 * its SQS poller, a test reading the table) are not the functions' and are not recorded.
 *
 * Every SDK client's `send` is the one of `@smithy/core`'s `Client` (the document client's too), so patching it
 * once sees DynamoDB, SQS, API Gateway's connection management API and the Secrets Manager client Powertools builds.
 * A client stubbed with aws-sdk-client-mock sends nothing, and nothing is recorded for it.
 */
import { appendFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect, inject } from 'vitest';
import { runningEnvironment, runningFunction } from './attribution.ts';
import { permissionKey, permissionsOf, type SentCommand, sdkCallOf } from './permissions.ts';
import { recordFile, type UsedPermission } from './run.ts';

interface RecorderState {
  /** Where this worker appends; undefined when the run has no record directory. */
  file: string | undefined;
  /** Records already written to `file`. */
  written: Set<string>;
  patched: boolean;
}

type SdkClient = SentCommand['client'] & { send: Send };
type SdkCommand = SentCommand['command'];
type Send = (this: SdkClient, command: SdkCommand, ...rest: unknown[]) => unknown;

// The SDK is loaded once per worker process, not once per test file: the patch and its state must be too.
const stateKey = Symbol.for('terminal-payments.test.aws-sdk-recorder');
const globals = globalThis as { [stateKey]?: RecorderState };
globals[stateKey] ??= { file: undefined, written: new Set(), patched: false };
const state = globals[stateKey];

const repositoryRoot = resolve(import.meta.dirname, '../../..');
const directory = inject('awsActionsRunDirectory');
const file = directory === undefined ? undefined : recordFile(directory, `${process.pid}-${threadId}`);
if (file !== state.file) {
  state.file = file;
  state.written.clear();
}

if (!state.patched) {
  const base = Object.getPrototypeOf(DynamoDBClient.prototype) as SdkClient;
  for (const client of [DynamoDBDocumentClient, SQSClient, SecretsManagerClient, ApiGatewayManagementApiClient]) {
    if (!(client.prototype instanceof (base.constructor as new () => unknown))) {
      throw new Error(`${client.name} does not extend the SDK client the recorder patches: AWS calls would go unseen`);
    }
  }
  const send = base.send;
  base.send = function recordedSend(this: SdkClient, command: SdkCommand, ...rest: unknown[]) {
    record(this, command);
    return send.call(this, command, ...rest);
  };
  state.patched = true;
}

function record(client: SdkClient, command: SdkCommand): void {
  const fn = runningFunction();
  if (fn === undefined || state.file === undefined) return;
  const call = sdkCallOf({ client, command });
  const testPath = expect.getState().testPath;
  const testFile = testPath === undefined ? undefined : relative(repositoryRoot, testPath);
  for (const permission of permissionsOf(call, runningEnvironment())) {
    const key = `${fn}|${permissionKey(permission)}|${testFile ?? ''}`;
    if (state.written.has(key)) continue;
    state.written.add(key);
    const used: UsedPermission = { function: fn, ...permission, ...(testFile ? { testFile } : {}) };
    appendFileSync(state.file, `${JSON.stringify(used)}\n`);
  }
}

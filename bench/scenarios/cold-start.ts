/**
 * Cold start proxy and bundle size. Each function is bundled as the CDK app bundles it (`infra/bundling.ts`), and
 * so is a bare handler that imports only the AWS SDK clients found in that function's bundle. A fresh Node
 * process (with the function's NODE_OPTIONS) then imports one bundle and reports how long the import took; each
 * function and its bare counterpart are timed alternately, run after run, and compared by their medians.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { functionBundling, functionNodeOptions } from '../../infra/bundling.ts';
import { handlerExists, repositoryRoot } from '../../local/lambda.ts';
import { backgroundFunctions, liveFunctions, routes } from '../../shared/routes.ts';
import { type Bundle, bundle, importChain } from '../bundle.ts';
import { median } from '../stats.ts';

const run = promisify(execFile);

/** The client class each AWS SDK package is used through. */
const SDK_CLIENTS: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/lib-dynamodb': 'DynamoDBDocumentClient',
  '@aws-sdk/client-sqs': 'SQSClient',
  '@aws-sdk/client-secrets-manager': 'SecretsManagerClient',
  '@aws-sdk/client-apigatewaymanagementapi': 'ApiGatewayManagementApiClient',
  '@aws-sdk/client-cognito-identity-provider': 'CognitoIdentityProviderClient',
};

/** One function of the app. */
export interface FunctionEntry {
  name: string;
  entry: string;
}

/** Every Lambda function the CDK app builds: one per route, the background ones and the live-updates ones. */
export function appFunctions(): FunctionEntry[] {
  const byEntry = new Map<string, FunctionEntry>();
  for (const route of routes)
    if (!byEntry.has(route.entry)) byEntry.set(route.entry, { name: route.name, entry: route.entry });
  for (const fn of [...Object.values(backgroundFunctions), ...Object.values(liveFunctions)]) {
    byEntry.set(fn.entry, { name: fn.name, entry: fn.entry });
  }
  return [...byEntry.values()];
}

export interface FunctionColdStart {
  name: string;
  entry: string;
  bytes: number;
  awsSdkPackages: string[];
  /** The bare handler's AWS SDK clients, bundle size and import time. */
  bare: { clients: string[]; bytes: number; importMs: number };
  /** As deployed: in a Lambda-like environment with tracing on (the X-Ray SDK loaded, `shared/tracing.ts`). */
  importMs: number;
  /** The same bundle in a stage with tracing off (`tracing=false`): the tracer is not loaded. */
  untracedImportMs: number;
  untracedRatio: number;
  /** Fresh process, spawn to exit (Node's own start-up included), median. */
  processMs: number;
  ratio: number;
  /** What the function bundles beyond its bare counterpart, largest first, with how the handler reaches it. */
  extraPackages: { name: string; bytes: number; via?: string[] }[];
  error?: string;
}

export interface ColdStartResult {
  runs: number;
  nodeOptions: string;
  functions: FunctionColdStart[];
  missing: FunctionEntry[];
}

/** Goals: import time as a multiple of the bare handler's. */
export const MAX_RECEIVER_COLD_START_RATIO = 1.2;
export const MAX_COLD_START_RATIO = 1.2;
export const RECEIVER_FUNCTION = 'ReceiveStripeWebhook';

/**
 * Bundle and time `functions` (every app function by default), `runs` times each. The bundles go to `outDir`
 * (kept), or to a temporary directory removed afterwards.
 */
export async function measureColdStart(options: {
  runs: number;
  functions?: readonly string[];
  outDir?: string;
  log?: (line: string) => void;
}): Promise<ColdStartResult> {
  const log = options.log ?? (() => undefined);
  const outDir = options.outDir ?? join(tmpdir(), `terminal-payments-bench-${process.pid}`);
  try {
    return await measureIn(outDir, options, log);
  } finally {
    if (options.outDir === undefined) await rm(outDir, { recursive: true, force: true });
  }
}

async function measureIn(
  outDir: string,
  options: { runs: number; functions?: readonly string[] },
  log: (line: string) => void,
): Promise<ColdStartResult> {
  const wanted = appFunctions().filter((fn) => options.functions === undefined || options.functions.includes(fn.name));
  const present = wanted.filter((fn) => handlerExists({ ...fn, timeoutSeconds: 0 }));
  const missing = wanted.filter((fn) => !present.includes(fn));

  const bundles = new Map<string, Bundle>();
  const bares = new Map<string, Bundle>();
  for (const fn of present) {
    log(`bundling ${fn.entry}`);
    const built = await bundle(repositoryRoot, { entry: fn.entry }, join(outDir, fn.name), functionBundling);
    bundles.set(fn.name, built);
    const key = built.awsSdkPackages.join('+') || 'none';
    if (!bares.has(key)) bares.set(key, await bundleBare(built.awsSdkPackages, join(outDir, `bare-${bares.size}`)));
  }

  const samples = new Map<string, Samples>();
  for (const fn of present) samples.set(fn.name, { importMs: [], untracedMs: [], processMs: [], bareMs: [] });
  for (let round = 0; round < options.runs; round += 1) {
    log(`cold start round ${round + 1}/${options.runs}`);
    for (const fn of present) {
      const built = bundles.get(fn.name) as Bundle;
      const bare = bares.get(built.awsSdkPackages.join('+') || 'none') as Bundle;
      const sample = samples.get(fn.name) as Samples;
      // Rotate which goes first, so none always meets a warmer file cache.
      const kinds = ['traced', 'untraced', 'bare'] as const;
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length] as (typeof kinds)[number]);
      for (const kind of order) {
        try {
          const timing = await timeImport(kind === 'bare' ? bare.file : built.file, kind !== 'untraced');
          if (kind === 'traced') {
            sample.importMs.push(timing.importMs);
            sample.processMs.push(timing.processMs);
          } else if (kind === 'untraced') sample.untracedMs.push(timing.importMs);
          else sample.bareMs.push(timing.importMs);
        } catch (error) {
          sample.error = (error as Error).message.split('\n').slice(0, 3).join(' ');
        }
      }
    }
  }

  const functions = present.map((fn): FunctionColdStart => {
    const built = bundles.get(fn.name) as Bundle;
    const bare = bares.get(built.awsSdkPackages.join('+') || 'none') as Bundle;
    const sample = samples.get(fn.name) as Samples;
    const importMs = median(sample.importMs);
    const untracedImportMs = median(sample.untracedMs);
    const bareMs = median(sample.bareMs);
    const bareSizes = new Map(bare.packages.map((entry) => [entry.name, entry.bytes]));
    const extraPackages = built.packages
      .map((entry) => ({ name: entry.name, bytes: entry.bytes - (bareSizes.get(entry.name) ?? 0) }))
      .filter((entry) => entry.bytes > 2048)
      .slice(0, 8)
      .map((entry) => {
        const via = entry.name === '(project)' ? undefined : importChain(built.metafile, fn.entry, entry.name);
        return via === undefined ? entry : { ...entry, via };
      });
    return {
      name: fn.name,
      entry: fn.entry,
      bytes: built.bytes,
      awsSdkPackages: built.awsSdkPackages,
      bare: {
        clients: built.awsSdkPackages.map((pkg) => SDK_CLIENTS[pkg] ?? pkg),
        bytes: bare.bytes,
        importMs: bareMs,
      },
      importMs,
      untracedImportMs,
      untracedRatio: untracedImportMs / bareMs,
      processMs: median(sample.processMs),
      ratio: importMs / bareMs,
      extraPackages,
      ...(sample.error ? { error: sample.error } : {}),
    };
  });
  return { runs: options.runs, nodeOptions: functionNodeOptions, functions, missing };
}

interface Samples {
  importMs: number[];
  untracedMs: number[];
  processMs: number[];
  bareMs: number[];
  error?: string;
}

/** A handler that imports the AWS SDK `packages` and nothing else, bundled the same way. */
async function bundleBare(packages: readonly string[], outDir: string): Promise<Bundle> {
  const imports = packages.map((pkg) => {
    const client = SDK_CLIENTS[pkg];
    if (client === undefined) throw new Error(`bench: which client class does ${pkg} export? Add it to SDK_CLIENTS`);
    return { pkg, client };
  });
  const contents = [
    ...imports.map(({ pkg, client }) => `import { ${client} } from '${pkg}';`),
    // Using the classes keeps tree shaking from dropping them, as a real handler's use does.
    `export const handler = async () => [${imports.map(({ client }) => client).join(', ')}].map((client) => client.name);`,
  ].join('\n');
  return bundle(
    repositoryRoot,
    { contents, resolveDir: repositoryRoot, sourcefile: 'bare-handler.ts' },
    outDir,
    functionBundling,
  );
}

/** Import `file` in a fresh Node process (this Node, the function's NODE_OPTIONS); the import's and the process's time. */
async function timeImport(file: string, tracing: boolean): Promise<{ importMs: number; processMs: number }> {
  const probe = [
    "import { pathToFileURL } from 'node:url';",
    'const started = performance.now();',
    'await import(pathToFileURL(process.argv[1]).href);',
    'process.stdout.write(String(performance.now() - started));',
  ].join('\n');
  const started = performance.now();
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', probe, file], {
    cwd: tmpdir(),
    env: lambdaLikeEnvironment(file, tracing),
    timeout: 30_000,
  });
  const processMs = performance.now() - started;
  const importMs = Number(stdout.trim());
  if (!Number.isFinite(importMs)) throw new Error(`import probe printed '${stdout.slice(0, 200)}'`);
  return { importMs, processMs };
}

/**
 * What a function's module sees at import on Lambda: the runtime's variables and its configuration, nothing from this
 * machine. With `tracing` as deployed by default; without, as in a stage with `tracing=false`.
 */
function lambdaLikeEnvironment(file: string, tracing: boolean): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    LAMBDA_TASK_ROOT: dirname(file),
    _HANDLER: 'index.handler',
    POWERTOOLS_TRACE_ENABLED: String(tracing),
    NODE_OPTIONS: functionNodeOptions,
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    POWERTOOLS_SERVICE_NAME: 'terminal-payments',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_NAMESPACE: 'TerminalPayments',
    TABLE_NAME: 'terminal-payments',
    EVENT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/stripe-events',
    EVENT_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/stripe-events-dlq',
    STRIPE_SECRET_KEY_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:stripe-key',
    STRIPE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:stripe-webhook',
  };
}

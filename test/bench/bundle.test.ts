/**
 * The benchmark's bundles are the deployed ones: a function of the CDK app (the real `PaymentsFunction` construct,
 * bundled by `aws-lambda-nodejs` at synth) and the benchmark's build of the same entry are byte for byte equal.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, esbuildOptions } from '../../bench/bundle.ts';
import { functionBundling } from '../../infra/bundling.ts';
import { PaymentsFunction } from '../../infra/constructs/payments-function.ts';
import { routeProfile } from '../../infra/handler-profiles.ts';
import { stageSettings } from '../../infra/settings.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const workDir = mkdtempSync(join(tmpdir(), 'bench-bundle-test-'));

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Synthesize one function of the app and return its bundle, as `cdk synth` writes it. */
function deployedBundle(routeName: string, entry: string): Buffer {
  const outdir = join(workDir, 'cdk.out');
  const app = new App({ outdir });
  const stack = new Stack(app, 'BundleCheck');
  new PaymentsFunction(stack, routeName, {
    projectRoot,
    entry,
    description: routeName,
    profile: routeProfile(routeName),
    settings: stageSettings(() => undefined),
    environment: {},
  });
  app.synth();
  const assets = readdirSync(outdir).filter((name) => existsSync(join(outdir, name, 'index.mjs')));
  expect(assets).toHaveLength(1);
  return readFileSync(join(outdir, assets[0] as string, 'index.mjs'));
}

describe('bench bundles', () => {
  it('builds the webhook receiver byte for byte as the CDK app deploys it', async () => {
    // Prepare
    const deployed = deployedBundle('ReceiveStripeWebhook', 'functions/webhook/receive.ts');

    // Act
    const built = await bundle(
      projectRoot,
      { entry: 'functions/webhook/receive.ts' },
      join(workDir, 'bench'),
      functionBundling,
    );

    // Assess
    expect(built.bytes).toBe(deployed.length);
    expect(readFileSync(built.file).equals(deployed)).toBe(true);
  }, 120_000);

  it.each([
    [{ preCompilation: true }, 'preCompilation'],
    [{ esbuildArgs: { '--keep-names': true } }, '--keep-names'],
  ] as [BundlingOptions, string][])('refuses a bundling option it does not reproduce (%o)', (bundling, named) => {
    // Act
    const translate = () => esbuildOptions({ ...functionBundling, ...bundling });

    // Assess
    expect(translate).toThrow(named);
  });
});

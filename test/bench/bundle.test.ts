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
import { backgroundProfiles, liveProfiles, routeProfile, routeProfiles } from '../../infra/handler-profiles.ts';
import { stageSettings } from '../../infra/settings.ts';
import { backgroundFunctions, liveFunctions, routes } from '../../shared/routes.ts';

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

  it('leaves the Stripe SDK out of every function whose profile reads no Stripe key, and in every other', async () => {
    // Prepare: each function's entry and whether its role may read the Stripe key.
    const functions = [
      ...routes.map((route) => ({ entry: route.entry, stripe: routeProfiles[route.name]?.stripeSecretKey === true })),
      ...(Object.keys(backgroundFunctions) as (keyof typeof backgroundFunctions)[]).map((key) => ({
        entry: backgroundFunctions[key].entry,
        stripe: backgroundProfiles[key].stripeSecretKey === true,
      })),
      ...(Object.keys(liveFunctions) as (keyof typeof liveFunctions)[]).map((key) => ({
        entry: liveFunctions[key].entry,
        stripe: liveProfiles[key].stripeSecretKey === true,
      })),
    ];
    // A function that calls Stripe and one that never does, besides every one that does not: both sides are held.
    const checked = [...functions.filter((fn) => !fn.stripe), functions.find((fn) => fn.stripe)!];

    // Act
    const bundled = await Promise.all(
      checked.map(async (fn) => {
        const built = await bundle(
          projectRoot,
          { entry: fn.entry },
          join(workDir, fn.entry.replaceAll('/', '-')),
          functionBundling,
        );
        return { ...fn, hasStripe: built.packages.some((entry) => entry.name === 'stripe') };
      }),
    );

    // Assess
    expect(bundled.length).toBeGreaterThan(5);
    for (const fn of bundled)
      expect({ entry: fn.entry, stripe: fn.hasStripe }).toEqual({ entry: fn.entry, stripe: fn.stripe });
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

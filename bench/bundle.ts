/**
 * Bundling a handler exactly as the CDK app does: the NodejsFunction `bundling` options of `infra/bundling.ts`,
 * turned into the esbuild build that `aws-lambda-nodejs` runs (`esbuild --bundle entry --platform=node
 * --outfile=index.mjs` plus one flag per option). An option this translation does not know fails loudly, so the
 * benchmark can never silently measure a different bundle from the one deployed.
 */
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build, type Metafile } from 'esbuild';

/** The options `aws-lambda-nodejs` turns into esbuild flags, and how this benchmark reproduces each. */
const TRANSLATED: readonly (keyof BundlingOptions)[] = [
  'format',
  'target',
  'minify',
  'sourceMap',
  'sourceMapMode',
  'sourcesContent',
  'mainFields',
  'esbuildArgs',
  'banner',
  'footer',
  'externalModules',
  'logLevel',
  'keepNames',
  'define',
  'loader',
];

/** `esbuildArgs` flags and their esbuild API options. */
const ESBUILD_ARGS: Record<string, (value: string | boolean | string[]) => BuildOptions> = {
  '--tree-shaking': (value) => ({ treeShaking: value === true || value === 'true' }),
};

/** The esbuild build options of `bundling` (without the entry and output, which `bundle()` adds). */
export function esbuildOptions(bundling: BundlingOptions): BuildOptions {
  const unknown = Object.keys(bundling).filter((key) => !(TRANSLATED as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new Error(`bench/bundle.ts does not reproduce the bundling option(s) ${unknown.join(', ')}: add them`);
  }
  const sourceMapMode = bundling.sourceMapMode ?? 'default';
  const options: BuildOptions = {
    bundle: true,
    platform: 'node',
    ...(bundling.target ? { target: bundling.target } : {}),
    ...(bundling.format ? { format: bundling.format } : {}),
    minify: bundling.minify ?? false,
    // CDK: `--sourcemap` for the default mode (a linked .map file), `--sourcemap=<mode>` otherwise.
    sourcemap:
      bundling.sourceMap === true || bundling.sourceMapMode !== undefined
        ? sourceMapMode === 'default'
          ? 'linked'
          : (sourceMapMode as 'external' | 'inline' | 'both')
        : false,
    sourcesContent: bundling.sourcesContent ?? true,
    // CDK leaves `@aws-sdk/*` out by default on Node 18+; `externalModules` replaces that list.
    external: bundling.externalModules ?? ['@aws-sdk/*'],
    ...(bundling.mainFields ? { mainFields: bundling.mainFields } : {}),
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.footer ? { footer: { js: bundling.footer } } : {}),
    ...(bundling.keepNames ? { keepNames: true } : {}),
    ...(bundling.define ? { define: bundling.define } : {}),
    ...(bundling.loader ? { loader: bundling.loader as BuildOptions['loader'] } : {}),
    logLevel: (bundling.logLevel as BuildOptions['logLevel']) ?? 'warning',
  };
  for (const [flag, value] of Object.entries(bundling.esbuildArgs ?? {})) {
    const translate = ESBUILD_ARGS[flag];
    if (translate === undefined) throw new Error(`bench/bundle.ts does not reproduce esbuildArgs ${flag}: add it`);
    Object.assign(options, translate(value));
  }
  return options;
}

/** A built bundle. */
export interface Bundle {
  /** `index.mjs` (ESM) or `index.js`. */
  file: string;
  bytes: number;
  /** The bundle's npm packages by the bytes each contributes to the output, largest first. */
  packages: { name: string; bytes: number }[];
  /** The AWS SDK packages in the bundle (`@aws-sdk/client-sqs`, `@aws-sdk/lib-dynamodb`, …). */
  awsSdkPackages: string[];
  metafile: Metafile;
}

/** What to bundle: a handler file of the repository, or source text resolved from `resolveDir`. */
export type BundleEntry = { entry: string } | { contents: string; resolveDir: string; sourcefile: string };

/** Bundle `source` into `outDir` with `bundling`, from the repository `root`. */
export async function bundle(
  root: string,
  source: BundleEntry,
  outDir: string,
  bundling: BundlingOptions,
): Promise<Bundle> {
  await mkdir(outDir, { recursive: true });
  const options = esbuildOptions(bundling);
  const file = join(outDir, options.format === 'esm' ? 'index.mjs' : 'index.js');
  const result = await build({
    ...options,
    absWorkingDir: root,
    outfile: file,
    metafile: true,
    ...('entry' in source
      ? { entryPoints: [join(root, source.entry)] }
      : {
          stdin: {
            contents: source.contents,
            resolveDir: source.resolveDir,
            sourcefile: source.sourcefile,
            loader: 'ts',
          },
        }),
  });
  const metafile = result.metafile as Metafile;
  const output = metafile.outputs[relative(root, file)];
  if (output === undefined) throw new Error(`esbuild wrote no ${file}`);
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const name = packageOf(path) ?? '(project)';
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  const packages = [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
  const awsSdkPackages = packages
    .map((entry) => entry.name)
    .filter((name) => /^@aws-sdk\/(client|lib)-/.test(name))
    .sort();
  return { file, bytes: output.bytes, packages, awsSdkPackages, metafile };
}

/** The npm package an esbuild input path belongs to (the innermost `node_modules/…`), or undefined for project files. */
export function packageOf(path: string): string | undefined {
  const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return match?.[1];
}

/**
 * How `entry` reaches `pkg`: the chain of imports, from the handler file to the first file of the package, as
 * project paths (`functions/webhook/receive.ts → shared/stripe/webhook-signature.ts → stripe`).
 */
export function importChain(metafile: Metafile, entry: string, pkg: string): string[] | undefined {
  const start = Object.keys(metafile.inputs).find((path) => path === entry || path.endsWith(`/${entry}`));
  if (start === undefined) return undefined;
  const previous = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    if (packageOf(current) === pkg) {
      const chain: string[] = [];
      for (let at: string | null = current; at !== null; at = previous.get(at) ?? null) chain.unshift(at);
      // Project files, then the package itself: the files inside other packages only lengthen the story.
      return [...chain.filter((path) => packageOf(path) === undefined), pkg];
    }
    for (const next of metafile.inputs[current]?.imports ?? []) {
      if (next.external || previous.has(next.path)) continue;
      previous.set(next.path, current);
      queue.push(next.path);
    }
  }
  return undefined;
}

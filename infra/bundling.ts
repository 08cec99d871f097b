/**
 * The esbuild options every function is bundled with (a NodejsFunction's `bundling`). The benchmark's cold-start
 * and bundle-size figures (`bench/`) build with them, and `test/bench/bundle.test.ts` checks that they produce
 * the very bundle `constructs/payments-function.ts` deploys, so what is measured is what is deployed.
 */
import { type BundlingOptions, LogLevel, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';

export const functionBundling: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  sourceMap: true,
  // A .map file beside the bundle, linked from it: Node finds it, the bundle stays small.
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  // Prefer each package's ES module build, so esbuild can drop what the handler never imports.
  mainFields: ['module', 'main'],
  esbuildArgs: { '--tree-shaking': 'true' },
  // CommonJS packages inside an ES module bundle still call `require` for Node built-ins.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  // Bundle the AWS SDK too: the version in package-lock.json, the one the tests ran against,
  // rather than whichever version the runtime ships that week.
  externalModules: [],
  // esbuild's per-bundle size report would bury synth's own output; warnings and errors still show.
  logLevel: LogLevel.WARNING,
};

/** Node options every function runs with: stack traces point into the TypeScript sources. */
export const functionNodeOptions = '--enable-source-maps';

/**
 * cfn-lint (AWS's CloudFormation linter, a Python tool) over the template of every stage the app supports and of
 * the variants the other infrastructure tests synthesize, with the repository's `.cfnlintrc` (the rules it ignores,
 * each with its reason). cdk-nag checks the constructs (`payments-stack.test.ts`); this checks what CloudFormation is
 * handed: resource properties against the resource specification, references, conditions and outputs.
 * Bundles are not built here: cfn-lint reads the template only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Stage } from '../../infra/settings.ts';
import { projectRoot, removeCloudAssembly, synthesize } from './synth.ts';

const configFile = join(projectRoot, '.cfnlintrc');

const INSTALL_HINT =
  'cfn-lint is not on the PATH. It lints the synthesized templates in `npm test`: install it with ' +
  "`pip install 'cfn-lint>=1,<2'` (Python 3.9 or later) and make sure its script directory is on the PATH.";

/** The context of each stage, as `cdk deploy -c stage=…` is given it (a new stage fails to compile until added). */
const stageContext: Record<Stage, Record<string, unknown>> = {
  dev: { stage: 'dev' },
  prod: { stage: 'prod', alarmEmail: 'oncall@example.com' },
};

/** Every template linted: a file name for it and the context it is synthesized with. */
const variants: { name: string; file: string; context: Record<string, unknown> }[] = [
  ...Object.entries(stageContext).map(([stage, context]) => ({ name: stage, file: `${stage}.json`, context })),
  {
    name: 'dev with an existing JWT issuer, CORS and tuned thresholds',
    file: 'external-issuer.json',
    context: {
      stage: 'dev',
      jwtIssuer: 'https://login.example.com/',
      jwtAudience: 'pos-app,kiosk-app',
      corsOrigins: 'https://pos.example.com',
      webhookReservedConcurrency: '20',
      stuckActionAfterSeconds: '90',
      readerOfflineAlertAfterSeconds: '900',
    },
  },
  {
    // Every alarm destination prod may have, and a deployment that withholds an index (infra/README.md, upgrading).
    name: 'prod with every alarm destination and an index withheld',
    file: 'prod-variant.json',
    context: {
      ...stageContext.prod,
      alarmWebhookUrl: 'https://events.pagerduty.example.com/integration/abc123/enqueue',
      alarmLambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:alarm-to-chat',
      withheldIndexes: 'readersByLocation',
    },
  },
  {
    // Another CodeDeploy config, and the deployment groups' alarms turned off (infra/README.md, safe deployments).
    name: 'prod shifting linearly with the deployment alarms off',
    file: 'prod-deployments.json',
    context: { ...stageContext.prod, deploymentConfig: 'linear10percentevery1minute', deploymentAlarms: 'false' },
  },
  {
    // The POS console on CloudFront, its Hosted UI and its files' deployment (infra/README.md, "Console").
    name: 'dev with the POS console',
    file: 'dev-console.json',
    context: { ...stageContext.dev, console: 'true' },
  },
  {
    name: 'prod with the POS console, its own domain prefix and CORS origins',
    file: 'prod-console.json',
    context: {
      ...stageContext.prod,
      console: 'true',
      consoleDomainPrefix: 'shop-pos-console',
      corsOrigins: 'https://pos.example.com',
    },
  },
];

interface CfnLintMatch {
  Filename: string;
  Level: string;
  Message: string;
  Location: { Path: (string | number)[]; Start: { LineNumber: number } };
  Rule: { Id: string };
}

let templatesDir: string;
/**
 * cfn-lint's findings per variant name, one readable line each (rule id, level, path, message), or why cfn-lint
 * could not run: then every template's test fails with it (a hook's failure would only show them as skipped).
 */
let linted: Map<string, string[]> | Error;

beforeAll(async () => {
  templatesDir = mkdtempSync(join(tmpdir(), 'payments-cfn-lint-'));
  for (const variant of variants) {
    const { template } = synthesize({ ...variant.context, 'aws:cdk:bundling-stacks': [] });
    // Indented, so a finding's line number points somewhere readable.
    writeFileSync(join(templatesDir, variant.file), JSON.stringify(template.toJSON(), null, 1));
  }
  try {
    // One run over every template: cfn-lint's start-up (loading the resource schemas) is most of its time.
    const matches = await cfnLint(variants.map((variant) => join(templatesDir, variant.file)));
    linted = new Map(
      variants.map((variant) => [
        variant.name,
        matches
          .filter((match) => match.Filename === join(templatesDir, variant.file))
          .map(
            (match) =>
              `${match.Rule.Id} (${match.Level}) at ${match.Location.Path.join('/')} ` +
              `(${variant.file}:${match.Location.Start.LineNumber}): ${match.Message}`,
          ),
      ]),
    );
  } catch (error) {
    linted = error as Error;
  }
}, 240_000);

afterAll(() => {
  removeCloudAssembly();
  if (templatesDir !== undefined) rmSync(templatesDir, { recursive: true, force: true });
});

describe('cfn-lint', () => {
  it.each(variants.map((variant) => variant.name))('finds nothing in the %s template', (name) => {
    // Assess
    if (linted instanceof Error) throw linted;
    expect(linted.get(name)).toEqual([]);
  });

  it('ignores rules one by one, each with a comment naming it and saying why', () => {
    // Prepare
    const lines = readFileSync(configFile, 'utf8').split('\n');
    const config = parse(lines.join('\n')) as { ignore_checks?: string[]; regions?: string[] };
    /** The comment lines right above the list item `- rule`. */
    const commentAbove = (rule: string) => {
      const comment: string[] = [];
      for (let at = lines.findIndex((line) => line.trim() === `- ${rule}`) - 1; at >= 0; at -= 1) {
        const line = lines[at]!.trim();
        if (!line.startsWith('#')) break;
        comment.unshift(line.replace(/^#\s*/, ''));
      }
      return comment.join(' ');
    };

    // Assess
    expect(config.regions?.length).toBeGreaterThan(0);
    for (const rule of config.ignore_checks ?? []) {
      // A single rule id (E1234, W1234, I1234), not a prefix that would silence a whole family.
      expect(rule).toMatch(/^[EWI]\d{4}$/);
      expect(commentAbove(rule)).toContain(rule);
      expect(commentAbove(rule).length).toBeGreaterThan(80);
    }
  });
});

/** cfn-lint's matches (JSON output) for `templates`, with `.cfnlintrc`; throws if it cannot run or does not answer. */
function cfnLint(templates: string[]): Promise<CfnLintMatch[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('cfn-lint', ['--config-file', configFile, '--format', 'json', '--', ...templates], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(INSTALL_HINT) : error),
    );
    child.on('close', (code) => {
      // The exit code is a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a crash.
      try {
        if (code === 1 || code === null) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(stdout) as CfnLintMatch[]);
      } catch (error) {
        reject(new Error(`cfn-lint failed (${(error as Error).message}): ${stderr.trim() || stdout.slice(0, 2000)}`));
      }
    });
  });
}

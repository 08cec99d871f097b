/**
 * Synthesizes the CDK app the way `cdk synth` does: the context of cdk.json (feature flags included) plus
 * the test's own keys, and the repository root as the handlers' project root.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildPaymentsApp } from '../../infra/payments-app.ts';
import type { PaymentsStack } from '../../infra/payments-stack.ts';

export const projectRoot = resolve(import.meta.dirname, '../..');

const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

export interface Synthesized {
  app: App;
  stack: PaymentsStack;
  template: Template;
}

/**
 * One cloud assembly directory per test file: CDK caches a bundle per output directory, so every synthesis
 * of the file after the first reuses the esbuild bundles instead of building them again.
 */
let outdir: string | undefined;

/** One synthesis (bundling included) of the app with `context` over cdk.json's. */
export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  outdir ??= mkdtempSync(join(tmpdir(), 'payments-cdk-test-'));
  const app = new App({ outdir, context: { ...cdkJson.context, ...context } });
  const stack = buildPaymentsApp(app, projectRoot);
  return { app, stack, template: Template.fromStack(stack) };
}

/** Delete this file's cloud assembly directory (bundles included). */
export function removeCloudAssembly(): void {
  if (outdir !== undefined) rmSync(outdir, { recursive: true, force: true });
  outdir = undefined;
}

/** The logical id a construct's CloudFormation resource has in `stack`'s template. */
export function logicalId(stack: PaymentsStack, construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} has no resource`);
  return stack.getLogicalId(element);
}

export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every statement the role's policies grant (inline and attached), and its managed policy ARNs. */
export function roleGrants(
  template: Template,
  roleLogicalId: string,
): { statements: PolicyStatementJson[]; managedPolicies: unknown[] } {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const inline = (
    (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: PolicyStatementJson[] } }[]
  ).flatMap((policy) => policy.PolicyDocument.Statement);
  const attached = Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        (resource.Properties.Roles as unknown[]).some(
          (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleLogicalId }),
        ),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement);
  return {
    statements: [...inline, ...attached],
    managedPolicies: (role.Properties.ManagedPolicyArns ?? []) as unknown[],
  };
}

/** The actions of a statement, always as a sorted array. */
export function actionsOf(statement: PolicyStatementJson): string[] {
  return [statement.Action].flat().sort();
}

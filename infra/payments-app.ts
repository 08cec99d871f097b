/**
 * Builds the app's one stack from CDK context. `infra/app.ts` calls it for `cdk synth`/`cdk deploy`, and the
 * infrastructure tests call it with the same context, so they check the template `cdk deploy` ships.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PaymentsStack } from './payments-stack.ts';
import { stageSettings } from './settings.ts';

/**
 * Adds the stack of the stage named in `app`'s context (`stage`, default `dev`). `projectRoot` is the
 * repository root the handler entries are resolved against.
 */
export function buildPaymentsApp(app: App, projectRoot: string): PaymentsStack {
  const settings = stageSettings((key) => app.node.tryGetContext(key));
  const stack = new PaymentsStack(app, `TerminalPayments-${settings.stage}`, {
    projectRoot,
    settings,
    // Unset offline: the stack synthesizes environment-agnostic; `cdk deploy` fills in the CLI's account.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: `Stripe Terminal server-driven payments: POS API, webhook pipeline, reconciler (${settings.stage})`,
    tags: { service: settings.serviceName, stage: settings.stage },
  });
  // With `-c nag=true` a finding without an acknowledgment fails synth (the tests always run the checks).
  if (settings.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

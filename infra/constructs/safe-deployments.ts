/**
 * CodeDeploy shifts the `live` alias of each function it deploys from the version in service to the new one, the
 * way the stage's `deploymentConfig` says (a canary, a linear shift or all at once), and shifts it back when the
 * deployment fails, is stopped, or one of its alarms goes off while traffic moves. CloudFormation starts one
 * deployment per alias whose version changed (the alias's `CodeDeployLambdaAliasUpdate` update policy) and waits for
 * it: a rolled-back deployment fails the stack update, which then rolls back too.
 *
 * One application, one deployment group per alias, one service role for them all. The role is the stack's own,
 * granted what a Lambda deployment does (read and move the aliases, read the alarms' state) on these aliases and
 * alarms alone, rather than the AWS managed AWSCodeDeployRoleForLambdaLimited, which allows it on every function and
 * alarm of the account.
 */

import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { LambdaApplication, LambdaDeploymentGroup } from 'aws-cdk-lib/aws-codedeploy';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Alias, IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { deploymentConfigs, type StageSettings } from '../settings.ts';

/** A function CodeDeploy deploys: its `live` alias, and the function the alias belongs to. */
export interface DeployedFunction {
  function: IFunction;
  alias: Alias;
}

export interface SafeDeploymentsProps {
  settings: StageSettings;
  /** The functions to deploy through CodeDeploy, by name (`shared/routes.ts`). */
  functions: ReadonlyMap<string, DeployedFunction>;
}

export class SafeDeployments extends Construct {
  readonly application: LambdaApplication;
  readonly role: Role;
  /** The deployment group of each deployed function, by name. */
  readonly groups = new Map<string, LambdaDeploymentGroup>();
  /** The alarms that stop and roll back a deployment (every group's). */
  readonly alarms: IAlarm[] = [];
  private readonly describeAlarms = new PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'] });

  constructor(scope: Construct, id: string, props: SafeDeploymentsProps) {
    super(scope, id);
    const { settings } = props;
    this.application = new LambdaApplication(this, 'Application');

    this.role = new Role(this, 'ServiceRole', {
      assumedBy: new ServicePrincipal('codedeploy.amazonaws.com'),
      description: `CodeDeploy: shift the live aliases of the payment functions (${settings.stage})`,
    });
    // The function's ARN and the alias's: IAM authorizes the alias actions on the function, and reading the
    // provisioned concurrency on the alias. The alias's ARN is written out rather than taken from the alias, which
    // depends on its deployment group (its update policy names it), which waits for this policy.
    const deployed = [...props.functions.values()];
    const aliasActions = this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:GetProvisionedConcurrencyConfig'],
        resources: deployed.flatMap(({ function: fn, alias }) => [
          fn.functionArn,
          `${fn.functionArn}:${alias.aliasName}`,
        ]),
      }),
    );

    // The role's immutable face: the deployment group would attach the managed policy to a role it may change.
    const role = this.role.withoutPolicyUpdates();
    for (const [name, { alias }] of props.functions) {
      const group = new LambdaDeploymentGroup(this, `${name}Deployment`, {
        application: this.application,
        alias,
        deploymentConfig: deploymentConfigs[settings.deploymentConfig],
        role,
        // The alarms come later (addAlarm), and the group refuses to synthesize without one while they are on.
        ...(settings.deploymentAlarms
          ? { autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true } }
          : {
              ignoreAlarmConfiguration: true,
              autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: false },
            }),
      });
      // A deployment needs the role's permissions from its first alias update on.
      if (aliasActions.policyDependable) group.node.addDependency(aliasActions.policyDependable);
      this.groups.set(name, group);
    }
  }

  /** Adds an alarm to every deployment group: when it goes off during a deployment, the deployment rolls back. */
  addAlarm(alarm: IAlarm): void {
    if (this.alarms.length === 0) this.role.addToPrincipalPolicy(this.describeAlarms);
    this.alarms.push(alarm);
    this.describeAlarms.addResources(alarm.alarmArn);
    for (const group of this.groups.values()) group.addAlarm(alarm);
  }
}

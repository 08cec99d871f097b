/**
 * Safe deployments: every function published as a version behind its `live` alias, every invoker calling the alias,
 * and CodeDeploy shifting the aliases of the API routes, the processor and the reconciler the way the stage says,
 * rolling back on the checkout alarms. Bundles are not built here (`payments-stack.test.ts` checks them).
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_ALIAS } from '../../infra/constructs/payments-function.ts';
import { isCheckoutAlarm } from '../../infra/payments-stack.ts';
import { stageSettings } from '../../infra/settings.ts';
import { MESSAGE_ROUTES } from '../../shared/live/definition.ts';
import { backgroundFunctions, liveFunctions, routes } from '../../shared/routes.ts';
import { actionsOf, logicalId, removeCloudAssembly, roleGrants, type Synthesized, synthesize } from './synth.ts';

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  UpdatePolicy?: Record<string, unknown>;
  DependsOn?: string[];
};
type Resources = Record<string, Resource>;

const noBundling = { 'aws:cdk:bundling-stacks': [] };
const prodContext = { stage: 'prod', alarmEmail: 'oncall@example.com', ...noBundling };

let dev: Synthesized;
let prod: Synthesized;
let linear: Synthesized;
let alarmsOff: Synthesized;

beforeAll(() => {
  dev = synthesize({ stage: 'dev', ...noBundling });
  prod = synthesize(prodContext);
  linear = synthesize({ ...prodContext, deploymentConfig: 'linear10percentevery1minute' });
  alarmsOff = synthesize({ ...prodContext, deploymentAlarms: 'false' });
}, 240_000);

afterAll(() => removeCloudAssembly());

const resourcesOf = (template: Template): Resources => template.toJSON().Resources as Resources;
const ofType = (synth: Synthesized, type: string) =>
  Object.entries(resourcesOf(synth.template)).filter(([, resource]) => resource.Type === type);
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const functionId = (synth: Synthesized, name: string) =>
  logicalId(synth.stack, synth.stack.functionNamed(name).function);
const aliasId = (synth: Synthesized, name: string) => logicalId(synth.stack, synth.stack.functionNamed(name).alias);
/** The logical ids of every `live` alias of the template. */
const aliasIds = (synth: Synthesized) => new Set(ofType(synth, 'AWS::Lambda::Alias').map(([id]) => id));
/** The logical ids a value names (`Ref` and `Fn::GetAtt`), however deep in intrinsic functions. */
const idsIn = (value: unknown): string[] =>
  [...JSON.stringify(value).matchAll(/"Ref":"([^"]+)"|"Fn::GetAtt":\["([^"]+)"/g)].map(
    (match) => (match[1] ?? match[2]) as string,
  );

const allFunctionNames = [
  ...routes.map((route) => route.name),
  ...Object.values(backgroundFunctions).map((fn) => fn.name),
  ...Object.values(liveFunctions).map((fn) => fn.name),
];
/** Deployed through CodeDeploy: what a cashier or a payment waits on. */
const deployedNames = [
  ...routes.map((route) => route.name),
  backgroundFunctions.processEvents.name,
  backgroundFunctions.reconcile.name,
];
const liveNames = Object.values(liveFunctions).map((fn) => fn.name);

describe('versions and the live alias', () => {
  it.each(allFunctionNames)('%s is published as a version behind an alias named live', (name) => {
    // Prepare
    const resources = resourcesOf(dev.template);
    const alias = resources[aliasId(dev, name)];
    const versionId = idsIn(alias?.Properties.FunctionVersion)[0] ?? '';

    // Assess
    expect(LIVE_ALIAS).toBe('live');
    expect(alias?.Type).toBe('AWS::Lambda::Alias');
    expect(alias?.Properties).toMatchObject({ Name: 'live', FunctionName: ref(functionId(dev, name)) });
    expect(alias?.Properties.FunctionVersion).toEqual({ 'Fn::GetAtt': [versionId, 'Version'] });
    expect(resources[versionId]).toMatchObject({
      Type: 'AWS::Lambda::Version',
      Properties: { FunctionName: ref(functionId(dev, name)) },
    });
  });

  it('has one alias and one version per function, and nothing else', () => {
    // Assess
    dev.template.resourceCountIs('AWS::Lambda::Alias', allFunctionNames.length);
    dev.template.resourceCountIs('AWS::Lambda::Version', allFunctionNames.length);
  });

  it('keeps the reserved concurrency on the function, none on an alias', () => {
    // Assess
    const { Properties } = resourcesOf(dev.template)[functionId(dev, 'ReceiveStripeWebhook')] as Resource;
    expect(Properties.ReservedConcurrentExecutions).toBe(50);
    for (const [, alias] of ofType(dev, 'AWS::Lambda::Alias')) {
      expect(alias.Properties.ProvisionedConcurrencyConfig).toBeUndefined();
    }
  });
});

describe('every invoker calls the alias', () => {
  it.each(routes.map((route) => [`${route.method} ${route.path}`, route.name]))(
    'the HTTP API route %s invokes the live alias of %s',
    (routeKey, name) => {
      // Prepare
      const apiId = logicalId(dev.stack, dev.stack.api.api);
      const [, route] =
        ofType(dev, 'AWS::ApiGatewayV2::Route').find(
          ([, candidate]) =>
            candidate.Properties.RouteKey === routeKey &&
            JSON.stringify(candidate.Properties.ApiId) === JSON.stringify(ref(apiId)),
        ) ?? [];
      const integrationId = idsIn(route?.Properties.Target)[0] ?? '';

      // Assess
      expect(resourcesOf(dev.template)[integrationId]?.Properties.IntegrationUri).toEqual(ref(aliasId(dev, name)));
    },
  );

  it('points every API integration and the WebSocket authorizer at a live alias', () => {
    // Prepare
    const aliases = aliasIds(dev);
    const targets = [
      ...ofType(dev, 'AWS::ApiGatewayV2::Integration').map(([, resource]) => resource.Properties.IntegrationUri),
      ...ofType(dev, 'AWS::ApiGatewayV2::Authorizer')
        .filter(([, resource]) => resource.Properties.AuthorizerType === 'REQUEST')
        .map(([, resource]) => resource.Properties.AuthorizerUri),
    ];

    // Assess
    // Every HTTP route's; the WebSocket API's $connect, $disconnect and messages (one for all); the authorizer.
    expect(targets).toHaveLength(routes.length + 3 + 1);
    for (const target of targets) {
      const named = idsIn(target).filter((id) => !id.startsWith('AWS::'));
      expect(named).toHaveLength(1);
      expect(aliases, JSON.stringify(target)).toContain(named[0]);
    }
  });

  it.each([
    ['$connect', 'LiveConnect'],
    ['$disconnect', 'LiveDisconnect'],
    ['subscribe', 'LiveMessage'],
  ])('the WebSocket route %s invokes the live alias of %s', (routeKey, name) => {
    // Prepare
    const apiId = logicalId(dev.stack, dev.stack.liveApi.api);
    const [, route] =
      ofType(dev, 'AWS::ApiGatewayV2::Route').find(
        ([, candidate]) =>
          candidate.Properties.RouteKey === routeKey &&
          JSON.stringify(candidate.Properties.ApiId) === JSON.stringify(ref(apiId)),
      ) ?? [];
    const integration = resourcesOf(dev.template)[idsIn(route?.Properties.Target)[0] ?? ''];

    // Assess
    expect(JSON.stringify(integration?.Properties.IntegrationUri)).toContain(
      `/functions/",${JSON.stringify(ref(aliasId(dev, name)))},"/invocations"`,
    );
  });

  it.each([
    ['the event queue', backgroundFunctions.processEvents.name],
    ['the table stream', liveFunctions.notify.name],
  ])('the event source mapping of %s invokes the live alias of %s', (_source, name) => {
    // Prepare
    const mappings = ofType(dev, 'AWS::Lambda::EventSourceMapping').filter(([, mapping]) =>
      idsIn(mapping.Properties.FunctionName).includes(aliasId(dev, name)),
    );

    // Assess: FunctionName is `{function name}:live`, the name taken from the alias ARN.
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.[1].Properties.FunctionName).toEqual({
      'Fn::Join': ['', [{ 'Fn::Select': [6, { 'Fn::Split': [':', ref(aliasId(dev, name))] }] }, ':live']],
    });
  });

  it('maps no event source to an unqualified function', () => {
    // Assess
    const aliases = aliasIds(dev);
    for (const [, mapping] of ofType(dev, 'AWS::Lambda::EventSourceMapping')) {
      expect(idsIn(mapping.Properties.FunctionName).every((id) => aliases.has(id))).toBe(true);
    }
  });

  it('schedules the reconciler’s live alias, whose async settings are the alias’s own', () => {
    // Prepare
    const reconciler = backgroundFunctions.reconcile.name;
    const [[, schedule] = []] = ofType(dev, 'AWS::Scheduler::Schedule');
    const [[, invokeConfig] = []] = ofType(dev, 'AWS::Lambda::EventInvokeConfig');

    // Assess
    expect(schedule?.Properties.Target).toMatchObject({ Arn: ref(aliasId(dev, reconciler)) });
    expect(invokeConfig?.Properties).toEqual({
      FunctionName: ref(functionId(dev, reconciler)),
      Qualifier: { 'Fn::Select': [7, { 'Fn::Split': [':', ref(aliasId(dev, reconciler))] }] },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('lets the schedule’s role invoke the reconciler’s alias, and not the function', () => {
    // Prepare
    const role = logicalId(dev.stack, dev.stack.reconcileSchedule.node.findChild('InvokeRole'));
    const invoke = roleGrants(dev.template, role).statements.filter((statement) =>
      actionsOf(statement).includes('lambda:InvokeFunction'),
    );

    // Assess
    expect(invoke.map((statement) => statement.Resource)).toEqual([
      ref(aliasId(dev, backgroundFunctions.reconcile.name)),
    ]);
  });

  it('names the alias in every invoke permission (API Gateway’s, Cognito’s), never an unqualified function', () => {
    // Prepare
    const aliases = aliasIds(dev);
    const permissions = ofType(dev, 'AWS::Lambda::Permission');

    // Assess: one per HTTP route, per WebSocket route ($connect, $disconnect, each message route) and the authorizer;
    // one for Cognito's pre token generation trigger.
    expect(permissions).toHaveLength(routes.length + 2 + MESSAGE_ROUTES.length + 1 + 1);
    for (const [id, permission] of permissions) {
      expect(permission.Properties.Action, id).toBe('lambda:InvokeFunction');
      expect(['apigateway.amazonaws.com', 'cognito-idp.amazonaws.com'], id).toContain(permission.Properties.Principal);
      expect(aliases, id).toContain(idsIn(permission.Properties.FunctionName)[0]);
    }
  });

  it('grants no role lambda:InvokeFunction on a function rather than its alias', () => {
    // Prepare
    const functionIds = new Set(ofType(dev, 'AWS::Lambda::Function').map(([id]) => id));
    const statements = ofType(dev, 'AWS::IAM::Policy').flatMap(
      ([, policy]) =>
        (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement,
    );

    // Assess
    for (const statement of statements.filter((candidate) =>
      [candidate.Action].flat().includes('lambda:InvokeFunction'),
    )) {
      expect(idsIn(statement.Resource).some((id) => functionIds.has(id))).toBe(false);
    }
  });
});

describe('CodeDeploy', () => {
  const groupsOf = (synth: Synthesized) => ofType(synth, 'AWS::CodeDeploy::DeploymentGroup');
  const groupOf = (synth: Synthesized, name: string) => {
    const group = synth.stack.deployments.groups.get(name);
    if (group === undefined) throw new Error(`no deployment group for ${name}`);
    return resourcesOf(synth.template)[logicalId(synth.stack, group)] as Resource;
  };
  const checkoutAlarmIds = (synth: Synthesized) =>
    synth.stack.monitoring.alarms
      .filter((alarm) => isCheckoutAlarm(alarm.node.id))
      .map((alarm) => logicalId(synth.stack, alarm));

  it('has one application and a deployment group per API route, the processor and the reconciler', () => {
    // Assess
    dev.template.resourceCountIs('AWS::CodeDeploy::Application', 1);
    dev.template.hasResourceProperties('AWS::CodeDeploy::Application', { ComputePlatform: 'Lambda' });
    expect(groupsOf(dev)).toHaveLength(deployedNames.length);
    expect([...dev.stack.deployments.groups.keys()].sort()).toEqual([...deployedNames].sort());
  });

  it.each(deployedNames)('CloudFormation updates the live alias of %s through its deployment group', (name) => {
    // Prepare
    const alias = resourcesOf(dev.template)[aliasId(dev, name)];
    const group = dev.stack.deployments.groups.get(name);

    // Assess
    expect(alias?.UpdatePolicy).toEqual({
      CodeDeployLambdaAliasUpdate: {
        ApplicationName: ref(logicalId(dev.stack, dev.stack.deployments.application)),
        DeploymentGroupName: ref(logicalId(dev.stack, group!)),
      },
    });
    expect(groupOf(dev, name).Properties).toMatchObject({
      ApplicationName: ref(logicalId(dev.stack, dev.stack.deployments.application)),
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
      ServiceRoleArn: arnOf(logicalId(dev.stack, dev.stack.deployments.role)),
    });
  });

  it.each(liveNames)('updates the live alias of %s in one step, without CodeDeploy', (name) => {
    // Assess
    expect(resourcesOf(dev.template)[aliasId(dev, name)]?.UpdatePolicy).toBeUndefined();
    expect(dev.stack.deployments.groups.has(name)).toBe(false);
  });

  it.each([
    ['dev', () => dev, 'CodeDeployDefault.LambdaAllAtOnce'],
    ['prod', () => prod, 'CodeDeployDefault.LambdaCanary10Percent5Minutes'],
    [
      'prod with -c deploymentConfig=linear10percentevery1minute',
      () => linear,
      'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
    ],
  ])('%s shifts every group with %s', (_stage, synth, config) => {
    // Assess
    for (const [id, group] of groupsOf(synth())) {
      expect(group.Properties.DeploymentConfigName, id).toBe(config);
    }
  });

  it.each([
    ['dev', () => dev],
    ['prod', () => prod],
  ])('%s rolls every group back on the checkout alarms, a failed deployment or a stop', (_stage, synth) => {
    // Prepare
    const alarms = checkoutAlarmIds(synth());

    // Assess: the 5xx rate, a p99 latency per checkout route, and throttles.
    expect(alarms).toHaveLength(5);
    for (const [id, group] of groupsOf(synth())) {
      expect(group.Properties.AlarmConfiguration, id).toEqual({
        Enabled: true,
        Alarms: alarms.map((alarm) => ({ Name: ref(alarm) })),
      });
      expect(group.Properties.AutoRollbackConfiguration, id).toEqual({
        Enabled: true,
        Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'],
      });
    }
  });

  it('checks no alarm with -c deploymentAlarms=false, and still rolls back a failed or stopped deployment', () => {
    // Assess
    for (const [id, group] of groupsOf(alarmsOff)) {
      expect(group.Properties.AlarmConfiguration, id).toMatchObject({ Enabled: false });
      expect(group.Properties.AutoRollbackConfiguration, id).toEqual({
        Enabled: true,
        Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
      });
    }
  });

  it('gives CodeDeploy its own role: the deployed aliases and the checkout alarms, no managed policy', () => {
    // Prepare
    const roleId = logicalId(prod.stack, prod.stack.deployments.role);
    const role = resourcesOf(prod.template)[roleId];
    const { statements, managedPolicies } = roleGrants(prod.template, roleId);
    const deployedArns = deployedNames.flatMap((name) => [
      arnOf(functionId(prod, name)),
      { 'Fn::Join': ['', [arnOf(functionId(prod, name)), ':live']] },
    ]);
    const byJson = (left: unknown, right: unknown) => JSON.stringify(left).localeCompare(JSON.stringify(right));

    // Assess
    expect(role?.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'codedeploy.amazonaws.com' } }],
    });
    expect(managedPolicies).toEqual([]);
    expect(statements).toHaveLength(2);
    const aliasActions = statements.find((statement) => actionsOf(statement).includes('lambda:UpdateAlias'));
    expect(actionsOf(aliasActions!)).toEqual([
      'lambda:GetAlias',
      'lambda:GetProvisionedConcurrencyConfig',
      'lambda:UpdateAlias',
    ]);
    expect([aliasActions?.Resource].flat().sort(byJson)).toEqual(deployedArns.sort(byJson));
    const describeAlarms = statements.find((statement) => actionsOf(statement).includes('cloudwatch:DescribeAlarms'));
    expect(actionsOf(describeAlarms!)).toEqual(['cloudwatch:DescribeAlarms']);
    expect([describeAlarms?.Resource].flat().sort(byJson)).toEqual(checkoutAlarmIds(prod).map(arnOf).sort(byJson));
  });

  it('creates every deployment group after the role’s policy, which its first deployment needs', () => {
    // Prepare
    const policyId = ofType(prod, 'AWS::IAM::Policy').find(([, policy]) =>
      idsIn(policy.Properties.Roles).includes(logicalId(prod.stack, prod.stack.deployments.role)),
    )?.[0];

    // Assess
    for (const [id, group] of groupsOf(prod)) expect(group.DependsOn, id).toContain(policyId);
  });

  it('names the application in the outputs', () => {
    // Assess
    expect(prod.template.toJSON().Outputs.DeploymentApplicationName).toMatchObject({
      Value: ref(logicalId(prod.stack, prod.stack.deployments.application)),
    });
  });

  it.each([
    ['the linear override', () => linear],
    ['the alarms off', () => alarmsOff],
  ])('passes the AwsSolutions checks with %s', (_variant, synth) => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(synth().app);

    // Assess
    expect(
      report.violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      ),
    ).toEqual([]);
  });
});

describe('the deploymentConfig setting', () => {
  const contextOf =
    (values: Record<string, unknown>) =>
    (key: string): unknown =>
      values[key];

  it('defaults to all at once in dev and a 10 % canary for 5 minutes in prod, alarms on', () => {
    // Act
    const devSettings = stageSettings(contextOf({}));
    const prodSettings = stageSettings(contextOf({ stage: 'prod', alarmEmail: 'oncall@example.com' }));

    // Assess
    expect(devSettings).toMatchObject({ deploymentConfig: 'allatonce', deploymentAlarms: true });
    expect(prodSettings).toMatchObject({ deploymentConfig: 'canary10percent5minutes', deploymentAlarms: true });
  });

  it.each([
    ['linear10percentevery1minute', 'linear10percentevery1minute'],
    ['Canary10Percent15Minutes', 'canary10percent15minutes'],
    ['CodeDeployDefault.LambdaLinear10PercentEvery3Minutes', 'linear10percentevery3minutes'],
    ['all-at-once', 'allatonce'],
  ])('reads %s as %s, whatever the stage', (given, expected) => {
    // Act
    const settings = stageSettings(
      contextOf({ stage: 'prod', alarmEmail: 'oncall@example.com', deploymentConfig: given }),
    );

    // Assess
    expect(settings.deploymentConfig).toBe(expected);
  });

  it('fails synth on a config CodeDeploy does not have, naming the ones it has', () => {
    // Assess
    expect(() => synthesize({ stage: 'dev', deploymentConfig: 'canary50percent', ...noBundling })).toThrow(
      /Invalid CDK context: deploymentConfig: must be one of allatonce, canary10percent5minutes, .*linear10percentevery1minute/,
    );
    expect(() => stageSettings(contextOf({ deploymentAlarms: 'sometimes' }))).toThrow(
      /Invalid CDK context: deploymentAlarms/,
    );
  });
});

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backgroundProfiles, type HandlerProfile, liveProfiles, routeProfiles } from '../../infra/handler-profiles.ts';
import { paymentRiskMetrics, readerFleetMetrics } from '../../shared/metrics-names.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
import { backgroundFunctions, liveFunctions, routes } from '../../shared/routes.ts';
import { paymentsTable } from '../../shared/store/table.ts';
import { actionsOf, logicalId, removeCloudAssembly, roleGrants, type Synthesized, synthesize } from './synth.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;

let dev: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  // One synthesis per stage for the whole file (bundling is the slow part; the second reuses it).
  dev = synthesize({ stage: 'dev' });
  prod = synthesize({ stage: 'prod', alarmEmail: 'oncall@example.com' });
}, 240_000);

afterAll(() => removeCloudAssembly());

const resourcesOf = (template: Template): Resources => template.toJSON().Resources as Resources;
const functionId = (synth: Synthesized, name: string) => {
  const handler = synth.stack.functions.get(name);
  if (!handler) throw new Error(`no function ${name}`);
  return logicalId(synth.stack, handler.function);
};
/** The logical id of the function's `live` alias, which every invoker calls (its `Ref` is the alias ARN). */
const aliasId = (synth: Synthesized, name: string) => logicalId(synth.stack, synth.stack.functionNamed(name).alias);
/** A mapping's FunctionName for the alias: `{function name}:live`, the name taken from the alias ARN. */
const aliasQualifiedName = (id: string) => ({
  'Fn::Join': ['', [{ 'Fn::Select': [6, { 'Fn::Split': [':', ref(id)] }] }, ':live']],
});
const roleId = (synth: Synthesized, name: string) => {
  const handler = synth.stack.functions.get(name);
  if (!handler) throw new Error(`no function ${name}`);
  return logicalId(synth.stack, handler.role);
};
const profileOf = (name: string): HandlerProfile => {
  const background = (Object.keys(backgroundFunctions) as (keyof typeof backgroundFunctions)[]).find(
    (key) => backgroundFunctions[key].name === name,
  );
  const live = (Object.keys(liveFunctions) as (keyof typeof liveFunctions)[]).find(
    (key) => liveFunctions[key].name === name,
  );
  const profile =
    background !== undefined
      ? backgroundProfiles[background]
      : live !== undefined
        ? liveProfiles[live]
        : routeProfiles[name];
  if (!profile) throw new Error(`no profile for ${name}`);
  return profile;
};
const functionProperties = (synth: Synthesized, name: string) =>
  resourcesOf(synth.template)[functionId(synth, name)]?.Properties ?? {};
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const indexArn = (tableId: string, indexName: string) => ({
  'Fn::Join': ['', [arnOf(tableId), `/index/${indexName}`]],
});

const allFunctionNames = [
  ...routes.map((route) => route.name),
  ...Object.values(backgroundFunctions).map((fn) => fn.name),
  ...Object.values(liveFunctions).map((fn) => fn.name),
];
const posRoutes = routes.filter((route) => route.auth === 'jwt');
const publicRoutes = routes.filter((route) => route.auth === 'none');

describe('Lambda functions', () => {
  it('builds one function per route, background and live function, and nothing else', () => {
    // Assess
    dev.template.resourceCountIs('AWS::Lambda::Function', allFunctionNames.length);
    expect([...dev.stack.functions.keys()].sort()).toEqual([...allFunctionNames].sort());
  });

  it.each(allFunctionNames)(
    '%s runs Node.js 24 on ARM64 with its own log group and the Powertools environment',
    (name) => {
      // Prepare
      const properties = functionProperties(dev, name);
      const handler = dev.stack.functions.get(name);

      // Assess
      expect(properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: ref(logicalId(dev.stack, handler!.logGroup)) },
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: {
            POWERTOOLS_SERVICE_NAME: 'terminal-payments',
            POWERTOOLS_LOG_LEVEL: 'INFO',
            POWERTOOLS_METRICS_NAMESPACE: 'TerminalPayments',
            POWERTOOLS_TRACE_ENABLED: 'true',
            NODE_OPTIONS: '--enable-source-maps',
            TABLE_NAME: ref(logicalId(dev.stack, dev.stack.table.table)),
            STAGE: 'dev',
          },
        },
      });
      dev.template.hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: 7,
      });
      expect(resourcesOf(dev.template)[logicalId(dev.stack, handler!.logGroup)]?.Properties.RetentionInDays).toBe(7);
    },
  );

  it.each(routes.map((route) => route.name))('API handler %s stops within API Gateway’s 30 s', (name) => {
    // Assess
    expect(functionProperties(dev, name).Timeout).toBeLessThanOrEqual(29);
    expect(functionProperties(dev, name).MemorySize).toBe(routeProfiles[name]?.memoryMb);
  });

  it('gives the processor the timeout the queue definition is built around', () => {
    // Assess
    expect(functionProperties(dev, backgroundFunctions.processEvents.name).Timeout).toBe(
      eventQueue.processorTimeoutSeconds,
    );
  });

  it('gives the reconciler about a minute, its time budget ending well before the timeout, one run at a time', () => {
    // Prepare
    const properties = functionProperties(dev, backgroundFunctions.reconcile.name);
    const budget = Number(
      (properties.Environment as { Variables: Record<string, string> }).Variables.RECONCILE_TIME_BUDGET_MS,
    );

    // Assess
    expect(properties.Timeout).toBe(60);
    expect(budget).toBeGreaterThan(0);
    expect(budget).toBeLessThanOrEqual(60_000 - 10_000);
    expect(properties.ReservedConcurrentExecutions).toBe(1);
    // On the alias Scheduler invokes.
    dev.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(functionId(dev, backgroundFunctions.reconcile.name)),
      Qualifier: { 'Fn::Select': [7, { 'Fn::Split': [':', ref(aliasId(dev, backgroundFunctions.reconcile.name))] }] },
      MaximumRetryAttempts: 0,
    });
  });

  it('reserves concurrency for the webhook receiver only (default 50, from context otherwise)', () => {
    // Prepare
    const reserved = allFunctionNames.filter(
      (name) => functionProperties(dev, name).ReservedConcurrentExecutions !== undefined,
    );

    // Assess
    expect(functionProperties(dev, 'ReceiveStripeWebhook').ReservedConcurrentExecutions).toBe(50);
    expect(reserved.sort()).toEqual(['ReceiveStripeWebhook', backgroundFunctions.reconcile.name].sort());
  });

  it('hands functions secret ARNs, never secret values', () => {
    // Prepare
    const keyId = logicalId(dev.stack, dev.stack.secrets.secretKey);
    const webhookSecretId = logicalId(dev.stack, dev.stack.secrets.webhookSigningSecret);
    const variables = allFunctionNames.map(
      (name) => (functionProperties(dev, name).Environment as { Variables: Record<string, unknown> }).Variables,
    );

    // Assess
    for (const environment of variables) {
      expect(Object.keys(environment)).not.toContain('STRIPE_SECRET_KEY');
      expect(Object.keys(environment)).not.toContain('STRIPE_WEBHOOK_SECRET');
      if ('STRIPE_SECRET_KEY_ARN' in environment) expect(environment.STRIPE_SECRET_KEY_ARN).toEqual(ref(keyId));
    }
    expect(JSON.stringify(variables)).not.toMatch(/sk_(test|live)_|rk_(test|live)_|whsec_/);
    expect(
      (functionProperties(dev, 'ReceiveStripeWebhook').Environment as { Variables: Record<string, unknown> }).Variables,
    ).toMatchObject({
      STRIPE_WEBHOOK_SECRET_ARN: ref(webhookSecretId),
      EVENT_QUEUE_URL: ref(logicalId(dev.stack, dev.stack.events.queue)),
    });
    expect(
      (functionProperties(dev, backgroundFunctions.processEvents.name).Environment as { Variables: unknown }).Variables,
    ).toMatchObject({
      STRIPE_SECRET_KEY_ARN: ref(keyId),
      EVENT_QUEUE_URL: ref(logicalId(dev.stack, dev.stack.events.queue)),
      EVENT_DLQ_URL: ref(logicalId(dev.stack, dev.stack.events.deadLetterQueue)),
    });
  });
});

describe('tracing', () => {
  it('traces every function actively unless the stage turns it off: then no X-Ray mode, grant or tracer', () => {
    // Prepare
    const untraced = synthesize({ stage: 'dev', tracing: 'false', 'aws:cdk:bundling-stacks': [] });

    // Assess
    for (const name of allFunctionNames) {
      expect(functionProperties(dev, name).TracingConfig).toEqual({ Mode: 'Active' });
      const properties = functionProperties(untraced, name);
      expect(properties.TracingConfig).toBeUndefined();
      expect(properties.Environment).toMatchObject({ Variables: { POWERTOOLS_TRACE_ENABLED: 'false' } });
      const handler = untraced.stack.functions.get(name)!;
      const { statements } = roleGrants(untraced.template, logicalId(untraced.stack, handler.role));
      expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('xray:'))).toEqual([]);
    }
  }, 120_000);
});

describe('bundles', () => {
  const bundleDirectory = (name: string) => {
    const code = functionProperties(dev, name).Code as { S3Key: string };
    return join(dev.app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
  };
  const bundleOf = (name: string) => {
    const directory = bundleDirectory(name);
    return {
      code: readFileSync(join(directory, 'index.mjs'), 'utf8'),
      sourceMap: JSON.parse(readFileSync(join(directory, 'index.mjs.map'), 'utf8')) as { sources: string[] },
    };
  };

  it.each(allFunctionNames)('ships %s as one minified ES module with a linked source map', (name) => {
    // Act
    const { code, sourceMap } = bundleOf(name);

    // Assess
    expect(code.startsWith("import { createRequire } from 'node:module'")).toBe(true);
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    expect(sourceMap.sources.length).toBeGreaterThan(0);
    // Minified: a line holds whole modules (unminified code runs at about 40 bytes a line).
    expect(code.split('\n').length).toBeLessThan(50 + code.length / 2000);
  });

  it('loads every bundle on Node 24 outside the repository, each exporting its handler', () => {
    // Prepare
    const bundles = allFunctionNames.map((name) => join(bundleDirectory(name), 'index.mjs'));
    const script = `for (const file of ${JSON.stringify(bundles)}) {
      const bundle = await import(file);
      console.log(typeof bundle.handler);
    }`;

    // Act
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      // No node_modules up the tree from here: anything the bundle failed to include cannot be found.
      cwd: dev.app.outdir,
      env: { PATH: process.env.PATH, TABLE_NAME: 'payments', AWS_REGION: 'us-east-1' },
      encoding: 'utf8',
    });

    // Assess
    expect(child.stderr).toBe('');
    expect(child.stdout.trim().split('\n')).toEqual(allFunctionNames.map(() => 'function'));
  });

  it('bundles the AWS SDK from package-lock.json and leaves out what the webhook receiver never imports', () => {
    // Act
    const { sourceMap } = bundleOf('ReceiveStripeWebhook');

    // Assess
    expect(sourceMap.sources.some((source) => source.endsWith('functions/webhook/receive.ts'))).toBe(true);
    expect(sourceMap.sources.some((source) => source.includes('node_modules/@aws-sdk/client-sqs/'))).toBe(true);
    expect(sourceMap.sources.some((source) => source.includes('node_modules/@aws-sdk/client-dynamodb/'))).toBe(false);
  });
});

describe('event queue', () => {
  it('encrypts every queue and refuses requests without TLS', () => {
    // Prepare
    const queues = Object.entries(resourcesOf(dev.template)).filter(
      ([, resource]) => resource.Type === 'AWS::SQS::Queue',
    );

    // Assess: the event queue, its DLQ, the schedule's DLQ and the notifier's stream DLQ.
    expect(queues).toHaveLength(4);
    for (const [id, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(id)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('redrives a record failed maxReceiveCount times to the DLQ, with visibility ≥ 6× the processor timeout', () => {
    // Prepare
    const queue = resourcesOf(dev.template)[logicalId(dev.stack, dev.stack.events.queue)]?.Properties;

    // Assess
    expect(queue).toMatchObject({
      VisibilityTimeout: eventQueue.visibilityTimeoutSeconds,
      MessageRetentionPeriod: eventQueue.messageRetentionSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(logicalId(dev.stack, dev.stack.events.deadLetterQueue)),
        maxReceiveCount: eventQueue.maxReceiveCount,
      },
    });
    expect(queue?.VisibilityTimeout).toBeGreaterThanOrEqual(6 * eventQueue.processorTimeoutSeconds);
  });

  it('feeds the processor in batches, reporting failed items only, with bounded concurrency', () => {
    // Prepare
    const fromQueue = Object.values(resourcesOf(dev.template)).filter(
      (resource) =>
        resource.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(resource.Properties.EventSourceArn) ===
          JSON.stringify(arnOf(logicalId(dev.stack, dev.stack.events.queue))),
    );

    // Assess (the other mapping, the table stream's, is live-api.test.ts's)
    dev.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    expect(fromQueue).toHaveLength(1);
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(logicalId(dev.stack, dev.stack.events.queue)),
      FunctionName: aliasQualifiedName(aliasId(dev, backgroundFunctions.processEvents.name)),
      BatchSize: eventQueue.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: eventQueue.maxConcurrency },
    });
  });
});

describe('payments table', () => {
  it('has the keys, every index and the TTL of shared/store/table.ts, on demand with PITR', () => {
    // Prepare
    const table = resourcesOf(dev.template)[logicalId(dev.stack, dev.stack.table.table)];

    // Assess
    expect(table?.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: paymentsTable.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: paymentsTable.sortKey.name, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: paymentsTable.timeToLiveAttribute, Enabled: true },
      Replicas: [{ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }],
    });
    const indexes = table?.Properties.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[];
    expect(indexes.map((index) => index.IndexName).sort()).toEqual(
      Object.values(paymentsTable.indexes)
        .map((index) => index.indexName)
        .sort(),
    );
    for (const index of Object.values(paymentsTable.indexes)) {
      expect(indexes.find((candidate) => candidate.IndexName === index.indexName)?.KeySchema).toEqual([
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ]);
    }
  });

  it('keeps refunds awaiting settlement in the sparse unsettledRefunds index, by when to look at them next', () => {
    // Prepare
    const table = resourcesOf(dev.template)[logicalId(dev.stack, dev.stack.table.table)];
    const indexes = table?.Properties.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[];

    // Assess
    expect(indexes.find((index) => index.IndexName === 'unsettledRefunds')).toMatchObject({
      KeySchema: [
        { AttributeName: 'unsettledRefundKey', KeyType: 'HASH' },
        { AttributeName: 'refundCheckAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
    expect(table?.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'unsettledRefundKey', AttributeType: 'S' },
        { AttributeName: 'refundCheckAt', AttributeType: 'S' },
      ]),
    );
  });
});

describe('HTTP API', () => {
  // The HTTP API's routes; the WebSocket API's are live-api.test.ts's.
  const routeResources = (synth: Synthesized) =>
    Object.values(resourcesOf(synth.template)).filter(
      (resource) =>
        resource.Type === 'AWS::ApiGatewayV2::Route' &&
        JSON.stringify(resource.Properties.ApiId) === JSON.stringify(ref(logicalId(synth.stack, synth.stack.api.api))),
    );
  const routeByKey = (synth: Synthesized, key: string) =>
    routeResources(synth).find((resource) => resource.Properties.RouteKey === key)?.Properties;

  it('serves exactly the routes of shared/routes.ts', () => {
    // Assess
    expect(
      routeResources(dev)
        .map((resource) => resource.Properties.RouteKey)
        .sort(),
    ).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
  });

  it.each([
    ['POST /payments/{id}/refunds', 'RefundPayment'],
    ['GET /payments/{id}/refunds', 'ListRefunds'],
  ])('serves %s with its own function, %s (its live alias)', (key, name) => {
    // Prepare
    const route = routeByKey(dev, key);
    const integrationId = /"Ref":"([^"]+)"/.exec(JSON.stringify(route?.Target))?.[1] ?? '';

    // Assess
    expect(route).toMatchObject({ AuthorizationType: 'JWT' });
    expect(resourcesOf(dev.template)[integrationId]?.Properties.IntegrationUri).toEqual(ref(aliasId(dev, name)));
  });

  it.each(posRoutes.map((route) => [`${route.method} ${route.path}`, route.name]))(
    '%s is behind the JWT authorizer and invokes the live alias of %s',
    (key, name) => {
      // Prepare
      const route = routeByKey(dev, key);
      // Target: { 'Fn::Join': ['', ['integrations/', { Ref: <integration> }]] }
      const integrationId = /"Ref":"([^"]+)"/.exec(JSON.stringify(route?.Target))?.[1] ?? '';
      const integration = resourcesOf(dev.template)[integrationId]?.Properties;

      // Assess
      expect(route).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: expect.any(String) } });
      expect(integration?.IntegrationUri).toEqual(ref(aliasId(dev, name)));
      expect(integration?.PayloadFormatVersion).toBe('2.0');
    },
  );

  it.each(publicRoutes.map((route) => `${route.method} ${route.path}`))('%s has no authorizer', (key) => {
    // Assess
    expect(routeByKey(dev, key)).toMatchObject({ AuthorizationType: 'NONE' });
    expect(routeByKey(dev, key)?.AuthorizerId).toBeUndefined();
  });

  it('trusts ID tokens of the created user pool, whose audience is the POS app client', () => {
    // Prepare
    const poolId = logicalId(dev.stack, dev.stack.identity.userPool!);
    const clientId = logicalId(dev.stack, dev.stack.identity.client!);

    // Assess
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [ref(clientId)],
        Issuer: {
          'Fn::Join': ['', ['https://cognito-idp.', ref('AWS::Region'), '.', ref('AWS::URLSuffix'), '/', ref(poolId)]],
        },
      },
    });
  });

  it('gives users custom:locations and custom:role attributes they can read but never write themselves', () => {
    // Assess
    dev.template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Schema: Match.arrayWith([
        Match.objectLike({ Name: 'locations', AttributeDataType: 'String', Mutable: true }),
        Match.objectLike({ Name: 'role', AttributeDataType: 'String', Mutable: true }),
      ]),
    });
    const clients = Object.values(dev.template.findResources('AWS::Cognito::UserPoolClient'));
    expect(clients).toHaveLength(1);
    const client = clients[0]?.Properties as Record<string, unknown>;
    expect(client).toMatchObject({
      GenerateSecret: false,
      ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    });
    expect(client.AllowedOAuthFlows).toBeUndefined();
    expect(client.ReadAttributes).toEqual(expect.arrayContaining(['custom:locations', 'custom:role']));
    expect(client.WriteAttributes).toEqual(['name']);
  });

  it('offers TOTP and runs the trigger that withholds * and admin claims until a second factor, reading users only', () => {
    // Prepare
    const issueTokens = dev.stack.functions.get(backgroundFunctions.issueTokens.name)!;
    const poolId = logicalId(dev.stack, dev.stack.identity.userPool!);

    // Assess
    dev.template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      LambdaConfig: { PreTokenGeneration: ref(logicalId(dev.stack, issueTokens.alias)) },
    });
    dev.template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'cognito-idp.amazonaws.com',
      FunctionName: ref(logicalId(dev.stack, issueTokens.alias)),
      SourceArn: arnOf(poolId),
    });
    const statements = roleGrants(dev.template, logicalId(dev.stack, issueTokens.role)).statements;
    expect(statements.map((statement) => ({ ...statement, Action: actionsOf(statement) }))).toContainEqual({
      Effect: 'Allow',
      Action: ['cognito-idp:AdminGetUser'],
      Resource: arnOf(poolId),
    });
  });

  it('logs every request to its access log group and throttles each route by default', () => {
    // Assess
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: arnOf(logicalId(dev.stack, dev.stack.api.accessLogs)),
        Format: Match.stringLikeRegexp('"routeKey":"\\$context.routeKey".*"status":\\$context.status'),
      },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('configures no CORS unless origins are given', () => {
    // Assess
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });
});

describe('reconcile schedule', () => {
  it('invokes the reconciler every minute through EventBridge Scheduler, with retries and a DLQ', () => {
    // Assess
    dev.template.resourceCountIs('AWS::Events::Rule', 0);
    dev.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: ref(aliasId(dev, backgroundFunctions.reconcile.name)),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 120 },
        DeadLetterConfig: { Arn: arnOf(logicalId(dev.stack, dev.stack.reconcileSchedule.deadLetterQueue)) },
      },
    });
  });
});

describe('secrets', () => {
  it('creates the two Stripe secrets without a value for the operator to fill in', () => {
    // Prepare
    const secrets = Object.values(resourcesOf(dev.template)).filter(
      (resource) => resource.Type === 'AWS::SecretsManager::Secret',
    );

    // Assess
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(secret.Properties.GenerateSecretString).toBeUndefined();
    }
  });
});

describe('least privilege', () => {
  const tableId = () => logicalId(dev.stack, dev.stack.table.table);
  const keyId = () => logicalId(dev.stack, dev.stack.secrets.secretKey);
  const webhookSecretId = () => logicalId(dev.stack, dev.stack.secrets.webhookSigningSecret);
  const queueId = () => logicalId(dev.stack, dev.stack.events.queue);
  const readSecret = (id: string) => ({
    Effect: 'Allow',
    Action: ['secretsmanager:GetSecretValue'],
    Resource: ref(id),
  });
  const writeLogs = (name: string) => ({
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: arnOf(logicalId(dev.stack, dev.stack.functions.get(name)!.logGroup)),
  });
  // Active tracing: X-Ray's actions take no resource.
  const sendTraces = {
    Effect: 'Allow',
    Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    Resource: '*',
  };
  // Which item actions each function gets is checked against what its code sends: role-actions.test.ts.
  const onTable = (name: string) => ({
    Effect: 'Allow',
    Action: [...(profileOf(name).table?.items ?? [])].sort(),
    Resource: arnOf(tableId()),
  });
  const grantsOf = (name: string) => roleGrants(dev.template, roleId(dev, name));
  const normalized = (name: string) =>
    grantsOf(name).statements.map((statement) => ({ ...statement, Action: actionsOf(statement) }));

  it('lets the webhook receiver send to its queue and read its secret, and nothing else', () => {
    // Assess
    expect(grantsOf('ReceiveStripeWebhook').managedPolicies).toEqual([]);
    expect(normalized('ReceiveStripeWebhook')).toEqual([
      writeLogs('ReceiveStripeWebhook'),
      sendTraces,
      readSecret(webhookSecretId()),
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: arnOf(queueId()) },
    ]);
  });

  it('lets the processor use the table, the Stripe key, its queue, and send a poison body to the DLQ', () => {
    // Assess
    expect(normalized(backgroundFunctions.processEvents.name)).toEqual([
      writeLogs(backgroundFunctions.processEvents.name),
      sendTraces,
      onTable(backgroundFunctions.processEvents.name),
      readSecret(keyId()),
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: arnOf(logicalId(dev.stack, dev.stack.events.deadLetterQueue)),
      },
      {
        Effect: 'Allow',
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ],
        Resource: arnOf(queueId()),
      },
    ]);
  });

  it('lets the reconciler query its own indexes, use the table and the Stripe key; metrics go through logs', () => {
    // Assess
    expect(normalized(backgroundFunctions.reconcile.name)).toEqual([
      writeLogs(backgroundFunctions.reconcile.name),
      sendTraces,
      onTable(backgroundFunctions.reconcile.name),
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        // The template lists a statement's resources sorted (`@aws-cdk/aws-iam:minimizePolicies`).
        Resource: [...(profileOf(backgroundFunctions.reconcile.name).table?.indexes ?? [])]
          .sort()
          .map((index) => indexArn(tableId(), index)),
      },
      readSecret(keyId()),
    ]);
  });

  it('lets the reconciler query the unsettled refunds it settles', () => {
    // Prepare
    const queries = normalized(backgroundFunctions.reconcile.name).find((statement) =>
      statement.Action.includes('dynamodb:Query'),
    );

    // Assess
    expect(queries?.Resource).toContainEqual(indexArn(tableId(), 'unsettledRefunds'));
  });

  it('lets the reader list query the readers of a location, and nothing but the readers', () => {
    // Assess
    expect(profileOf('ListReaders').table?.indexes).toEqual(['readersByLocation']);
    expect(normalized('ListReaders')).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:Query'],
      Resource: indexArn(tableId(), 'readersByLocation'),
    });
  });

  it('lets the payment list query its two indexes and nothing else', () => {
    // Assess
    expect(normalized('ListPayments')).toEqual([
      writeLogs('ListPayments'),
      sendTraces,
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: [indexArn(tableId(), 'byCreated'), indexArn(tableId(), 'byLocation')],
      },
    ]);
  });

  it.each(
    Object.entries(routeProfiles)
      .filter(([, profile]) => profile.stripeSecretKey)
      .map(([name]) => name),
  )('lets POS route %s use the Stripe key and its own table access, not the webhook secret or the queue', (name) => {
    // Assess: a route that only calls Stripe (a location's tipping) has no table access at all; one that lists
    // from an index (the readers) may query that index and no other.
    const table = (profileOf(name).table?.items?.length ?? 0) > 0 ? [onTable(name)] : [];
    const indexes = [...(profileOf(name).table?.indexes ?? [])].sort().map((index) => indexArn(tableId(), index));
    const queries =
      indexes.length === 0
        ? []
        : [{ Effect: 'Allow', Action: ['dynamodb:Query'], Resource: indexes.length === 1 ? indexes[0] : indexes }];
    expect(normalized(name)).toEqual([writeLogs(name), sendTraces, ...table, ...queries, readSecret(keyId())]);
  });

  it('lets the refund list read a payment and nothing else: no Stripe key, no index, no write', () => {
    // Assess
    expect(profileOf('ListRefunds')).toMatchObject({ memoryMb: 512, timeoutSeconds: 10 });
    expect(normalized('ListRefunds')).toEqual([
      writeLogs('ListRefunds'),
      sendTraces,
      { Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: arnOf(tableId()) },
    ]);
  });

  it('lets the refund route read and store its payment, read readers in a batch, and use the Stripe key', () => {
    // Assess
    expect(normalized('RefundPayment')).toEqual([
      writeLogs('RefundPayment'),
      sendTraces,
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: arnOf(tableId()),
      },
      readSecret(keyId()),
    ]);
  });

  it('lets the health check write its logs only', () => {
    // Assess
    expect(normalized('Health')).toEqual([writeLogs('Health'), sendTraces]);
  });

  it('lets Scheduler invoke the reconciler’s live alias and dead-letter to its own queue only', () => {
    // Prepare
    const reconcilerAliasArn = ref(aliasId(dev, backgroundFunctions.reconcile.name));
    const { statements } = roleGrants(
      dev.template,
      logicalId(dev.stack, dev.stack.reconcileSchedule.node.findChild('InvokeRole')),
    );

    // Assess
    expect(statements.map((statement) => ({ ...statement, Action: actionsOf(statement) }))).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: reconcilerAliasArn,
      },
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: arnOf(logicalId(dev.stack, dev.stack.reconcileSchedule.deadLetterQueue)),
      },
    ]);
  });

  it('attaches no AWS managed policy and grants nothing on every resource but X-Ray’s trace writes', () => {
    // Prepare
    const resources = resourcesOf(dev.template);
    const policies = Object.values(resources).filter((resource) => resource.Type === 'AWS::IAM::Policy');

    // Assess
    for (const resource of Object.values(resources).filter((candidate) => candidate.Type === 'AWS::IAM::Role')) {
      expect(resource.Properties.ManagedPolicyArns).toBeUndefined();
    }
    for (const policy of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Parameters<typeof actionsOf>[0][] })
        .Statement;
      for (const statement of statements) {
        // X-Ray defines its actions on no resource: `*` is the only one they take.
        if ([statement.Resource].flat().includes('*')) expect(actionsOf(statement)).toEqual(sendTraces.Action);
      }
    }
  });
});

describe('alarms and dashboard', () => {
  const topicId = () => logicalId(dev.stack, dev.stack.monitoring.topic);
  const alarmOn = (properties: Record<string, unknown>) =>
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [ref(topicId())],
      OKActions: [ref(topicId())],
      TreatMissingData: 'notBreaching',
      ...properties,
    });

  it('alarms on the first message in either dead-letter queue', () => {
    // Assess
    for (const queue of [dev.stack.events.deadLetterQueue, dev.stack.reconcileSchedule.deadLetterQueue]) {
      alarmOn({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(dev.stack, queue), 'QueueName'] } }],
        Threshold: 1,
      });
    }
  });

  it('alarms when the oldest queued event is getting old', () => {
    // Assess
    alarmOn({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(dev.stack, dev.stack.events.queue), 'QueueName'] } },
      ],
      Threshold: 600,
    });
  });

  it.each([
    ['ReceiveStripeWebhook', 'Errors', 1],
    ['ReceiveStripeWebhook', 'Throttles', 1],
    [backgroundFunctions.processEvents.name, 'Errors', 1],
    [backgroundFunctions.reconcile.name, 'Errors', 2],
  ])('alarms on %s %s', (name, metricName, threshold) => {
    // Assess
    alarmOn({
      Namespace: 'AWS/Lambda',
      MetricName: metricName,
      Dimensions: [{ Name: 'FunctionName', Value: ref(functionId(dev, name)) }],
      Threshold: threshold,
    });
  });

  it('counts the webhook route’s 5xx answers from the access log, by stage, and alarms on the first', () => {
    // Assess
    dev.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: ref(logicalId(dev.stack, dev.stack.api.accessLogs)),
      FilterPattern: '{ ($.routeKey = "POST /webhooks/stripe") && ($.status >= 500) }',
      MetricTransformations: [
        {
          MetricNamespace: 'TerminalPayments',
          MetricName: 'WebhookServerErrors',
          MetricValue: '1',
          Dimensions: [{ Key: 'stage', Value: '$.stage' }],
        },
      ],
    });
    alarmOn({
      Namespace: 'TerminalPayments',
      MetricName: 'WebhookServerErrors',
      Dimensions: [{ Name: 'stage', Value: 'dev' }],
      Threshold: 1,
    });
  });

  it('logs the deployment’s stage in every access log line: the value the filters’ dimension and the alarms share', () => {
    // Assess
    const [stage] = Object.values(
      dev.template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { StageName: '$default' } }),
    );
    const properties = (stage?.Properties ?? {}) as { AccessLogSettings?: { Format: string } };
    const format = JSON.parse((properties.AccessLogSettings?.Format ?? '{}').replace(/\$context\.[\w.]+/g, '0'));
    expect(format.stage).toBe('dev');
  });

  it('alarms on a few webhook deliveries refused with 400 (a wrong signing secret), by stage', () => {
    // Assess
    dev.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.routeKey = "POST /webhooks/stripe") && ($.status = 400) }',
      MetricTransformations: [Match.objectLike({ MetricName: 'WebhookRejected' })],
    });
    alarmOn({
      MetricName: 'WebhookRejected',
      Dimensions: [{ Name: 'stage', Value: 'dev' }],
      Threshold: 3,
      AlarmDescription: Match.stringLikeRegexp('signing secret'),
    });
  });

  it('alarms on the checkout path: its 5xx rate, each function’s p99 duration, its throttles, and table throttles', () => {
    // Prepare
    const alarms = Object.values(dev.template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties as Record<string, unknown>,
    );
    const described = (pattern: RegExp) => alarms.filter((alarm) => pattern.test(String(alarm.AlarmDescription)));

    // Assess
    const [rate] = described(/of checkout requests.*answered 5xx/);
    expect(rate).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(JSON.stringify(rate?.Metrics)).toContain('IF(requests >= 5, 100 * errors / requests, 0)');
    for (const [name, limit] of [
      ['CreatePayment', 5_000],
      ['ProcessPayment', 20_000],
      ['CapturePayment', 5_000],
    ] as const) {
      alarmOn({
        MetricName: 'Duration',
        ExtendedStatistic: 'p99',
        Dimensions: [{ Name: 'FunctionName', Value: ref(functionId(dev, name)) }],
        Threshold: limit,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    expect(described(/Checkout requests were throttled/)).toHaveLength(1);
    const [table] = described(/DynamoDB throttled requests/);
    expect(JSON.stringify(table?.Metrics)).toContain('ThrottledRequests');
    dev.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: Match.stringLikeRegexp('POST /payments/\\{id\\}/capture.*\\$.status >= 500'),
    });
  });

  it('pages when the reconciler stops: a heartbeat that breaches on missing data, failures and runs cut short', () => {
    // Prepare
    const heartbeat = resourcesOf(dev.template)[
      logicalId(dev.stack, dev.stack.monitoring.node.findChild('ReconcilerHeartbeat'))
    ];

    // Assess
    expect(heartbeat?.Properties).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      TreatMissingData: 'breaching',
      Metrics: [
        expect.objectContaining({
          Expression: `SELECT SUM(ReconcileRuns) FROM "TerminalPayments" WHERE stage = 'dev'`,
        }),
      ],
    });
    for (const [id, metric] of [
      ['ReconcileFailures', 'ReconcileFailures'],
      ['ReconcileRunsCutShort', 'ReconcileRunsCutShort'],
    ]) {
      const alarm = resourcesOf(dev.template)[logicalId(dev.stack, dev.stack.monitoring.node.findChild(id as string))];
      expect(alarm?.Properties).toMatchObject({
        EvaluationPeriods: 3,
        Metrics: [
          expect.objectContaining({ Expression: `SELECT SUM(${metric}) FROM "TerminalPayments" WHERE stage = 'dev'` }),
        ],
      });
    }
  });

  it('alarms on a dead letter left a day', () => {
    // Assess
    alarmOn({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(dev.stack, dev.stack.events.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 86_400,
    });
  });

  // A flag's gauge is the reconciler's alone; a failed refund is counted by the processor and the reconciler, each
  // under its own Powertools `service`, so those are summed. Each query reads this stage's metrics only.
  it.each([
    ['StuckReaders', 'PaymentsStuckOnReader', 'MAX'],
    ['CaptureDeadlineApproaching', 'PaymentsNearCaptureDeadline', 'MAX'],
    ['AuthorizationsExpired', 'AuthorizationsExpired', 'SUM'],
    ['RefundsFailed', 'RefundsFailed', 'SUM'],
  ])('alarms %s on the custom metric %s of this stage, in the Powertools namespace', (alarm, metric, aggregate) => {
    // Prepare
    const resource = resourcesOf(dev.template)[logicalId(dev.stack, dev.stack.monitoring.node.findChild(alarm))];

    // Assess
    expect(resource?.Properties).toMatchObject({
      Threshold: 1,
      Metrics: [
        expect.objectContaining({
          Expression: `SELECT ${aggregate}(${metric}) FROM "TerminalPayments" WHERE stage = 'dev'`,
        }),
      ],
    });
  });

  it('keeps a money-at-risk alarm raised while the money is at risk: it watches the reconciler’s gauges', () => {
    // Assess: the gauges, not the counts of flags newly raised in a run (which fall back to 0 a run later).
    const expressions = JSON.stringify(dev.template.findResources('AWS::CloudWatch::Alarm'));
    for (const counted of ['StuckReaders', 'CaptureDeadlineApproaching']) {
      expect(expressions).not.toContain(`(${counted})`);
    }
    // An expiry is a loss already made: counted over an hour, so the alarm stays up while someone calls the customer.
    const expired = resourcesOf(dev.template)[
      logicalId(dev.stack, dev.stack.monitoring.node.findChild('AuthorizationsExpired'))
    ];
    expect(expired?.Properties).toMatchObject({ Metrics: [expect.objectContaining({ Period: 3600 })] });
    expect(Object.values(paymentRiskMetrics)).toContain('RefundsFailed');
  });

  it('alarms on the first failed refund in 5 minutes, whichever function counted it', () => {
    // Prepare
    const alarm = resourcesOf(dev.template)[
      logicalId(dev.stack, dev.stack.monitoring.node.findChild(paymentRiskMetrics.refundsFailed))
    ];

    // Assess: no service dimension in the query, so `webhook-processor` and `reconciler` are both counted.
    expect(alarm?.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm?.Properties).toEqual({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(topicId())],
      OKActions: [ref(topicId())],
      AlarmDescription: expect.stringMatching(/refund failed.*failureReason.*"Failed refunds"/),
      Metrics: [
        {
          Id: expect.any(String),
          Expression: `SELECT SUM(RefundsFailed) FROM "TerminalPayments" WHERE stage = 'dev'`,
          Label: 'RefundsFailed',
          Period: 300,
          ReturnData: true,
        },
      ],
    });
  });

  it("alarms on the first reader offline too long in 5 minutes, on the reconciler's fleet count", () => {
    // Prepare
    const alarm = resourcesOf(dev.template)[
      logicalId(dev.stack, dev.stack.monitoring.node.findChild(readerFleetMetrics.readersOffline))
    ];

    // Assess
    expect(alarm?.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm?.Properties).toEqual({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(topicId())],
      OKActions: [ref(topicId())],
      AlarmDescription: expect.stringMatching(/offline.*power and network.*"Readers offline"/),
      Metrics: [
        {
          Id: expect.any(String),
          Expression: `SELECT MAX(ReadersOffline) FROM "TerminalPayments" WHERE stage = 'dev'`,
          Label: 'ReadersOffline',
          Period: 300,
          ReturnData: true,
        },
      ],
    });
  });

  it('leaves stuck readers to the StuckReaders alarm: no alarm on ReadersStuck', () => {
    // Assess
    expect(dev.stack.monitoring.node.tryFindChild(readerFleetMetrics.readersStuck)).toBeUndefined();
    const expressions = Object.values(resourcesOf(dev.template))
      .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
      .flatMap((resource) => (resource.Properties.Metrics as { Expression?: string }[] | undefined) ?? [])
      .map((metric) => metric.Expression);
    expect(expressions).not.toContain('SELECT MAX(ReadersStuck) FROM "TerminalPayments"');
  });

  it('sends alarms to an email address when one is given', () => {
    // Assess
    dev.template.resourceCountIs('AWS::SNS::Subscription', 0);
    prod.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: ref(logicalId(prod.stack, prod.stack.monitoring.topic)),
    });
  });

  it('draws the payment path on a dashboard', () => {
    // Prepare
    const dashboard = Object.values(resourcesOf(dev.template)).find(
      (resource) => resource.Type === 'AWS::CloudWatch::Dashboard',
    );
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    // Assess
    for (const title of [
      'Alarms',
      'Event queue: oldest message',
      'Dead-letter queues',
      'Stuck readers',
      'Refunds failed',
      'SUM(RefundsFailed)',
      'Live notifier: stream iterator age',
      'Reader fleet',
      'MAX(ReadersOffline)',
      'MAX(ReadersStuck)',
    ]) {
      expect(body).toContain(title);
    }
  });
});

describe('stack outputs', () => {
  it('publishes what the deploy guide needs', () => {
    // Assess
    for (const name of [
      'ApiUrl',
      'WebhookUrl',
      'UserPoolId',
      'UserPoolClientId',
      'StripeSecretKeyArn',
      'StripeWebhookSecretArn',
      'TableName',
      'EventQueueName',
      'EventDeadLetterQueueName',
      'LiveUrl',
      'LiveStreamDeadLetterQueueName',
    ]) {
      dev.template.hasOutput(name, {});
    }
    dev.template.hasOutput('WebhookUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/webhooks/stripe$')])] },
    });
  });
});

describe('prod and dev', () => {
  const stateful = (synth: Synthesized) => [
    logicalId(synth.stack, synth.stack.table.table),
    logicalId(synth.stack, synth.stack.secrets.secretKey),
    logicalId(synth.stack, synth.stack.secrets.webhookSigningSecret),
    logicalId(synth.stack, synth.stack.identity.userPool!),
    logicalId(synth.stack, synth.stack.events.deadLetterQueue),
  ];

  it('retains data in prod and protects it from deletion', () => {
    // Prepare
    const resources = resourcesOf(prod.template);

    // Assess
    for (const id of stateful(prod)) expect(resources[id]?.DeletionPolicy).toBe('Retain');
    prod.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })],
    });
    prod.template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'ACTIVE' });
  });

  it('cleans up after itself in dev', () => {
    // Prepare
    const resources = resourcesOf(dev.template);

    // Assess
    for (const id of stateful(dev)) expect(resources[id]?.DeletionPolicy).toBe('Delete');
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
    dev.template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'INACTIVE' });
  });

  it.each([
    ['dev', 7],
    ['prod', 180],
  ])('keeps %s logs for %i days', (stage, days) => {
    // Prepare
    const synth = stage === 'prod' ? prod : dev;
    const logGroups = Object.values(resourcesOf(synth.template)).filter(
      (resource) => resource.Type === 'AWS::Logs::LogGroup',
    );

    // Assess: one per function, and the access logs of the HTTP and the WebSocket API.
    expect(logGroups.length).toBe(allFunctionNames.length + 2);
    for (const logGroup of logGroups) expect(logGroup.Properties.RetentionInDays).toBe(days);
  });
});

describe('an existing JWT issuer, CORS and tuned thresholds', () => {
  let external: Synthesized;

  beforeAll(() => {
    external = synthesize({
      stage: 'dev',
      jwtIssuer: 'https://login.example.com/',
      jwtAudience: 'pos-app',
      corsOrigins: 'https://pos.example.com',
      alarmWebhookUrl: 'https://events.pagerduty.com/integration/abc/enqueue',
      alarmLambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:alarms-to-chat',
      webhookReservedConcurrency: '20',
      stuckActionAfterSeconds: '90',
      readerOfflineAlertAfterSeconds: '900',
    });
  }, 240_000);

  it('trusts that issuer and creates no user pool', () => {
    // Assess
    external.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    external.template.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
    external.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://login.example.com/', Audience: ['pos-app'] },
    });
    expect(Object.keys(external.template.toJSON().Outputs)).not.toContain('UserPoolId');
  });

  it('sends the alarms to a pager’s HTTPS endpoint and a chat forwarder, when given', () => {
    // Assess
    external.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://events.pagerduty.com/integration/abc/enqueue',
    });
    external.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      Endpoint: 'arn:aws:lambda:us-east-1:123456789012:function:alarms-to-chat',
    });
    external.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:alarms-to-chat',
      Principal: 'sns.amazonaws.com',
    });
  });

  it('answers CORS preflights for the configured origins only', () => {
    // Assess
    external.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://pos.example.com'],
        AllowHeaders: ['authorization', 'content-type', 'idempotency-key'],
      }),
    });
    const [api] = Object.values(
      external.template.findResources('AWS::ApiGatewayV2::Api', { Properties: { ProtocolType: 'HTTP' } }),
    );
    const properties = (api?.Properties ?? {}) as { CorsConfiguration?: { AllowMethods: string[] } };
    const cors = properties.CorsConfiguration;
    expect([...(cors?.AllowMethods ?? [])].sort()).toEqual([...new Set(routes.map((route) => route.method))].sort());
  });

  it('logs JSON lines at the stage’s level from every function, the runtime’s own lines too', () => {
    // Assess
    for (const name of allFunctionNames) {
      expect(functionProperties(dev, name).LoggingConfig).toEqual({
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'INFO',
        LogGroup: expect.anything(),
      });
    }
  });

  it('applies the reserved concurrency and thresholds from context', () => {
    // Assess
    expect(functionProperties(external, 'ReceiveStripeWebhook').ReservedConcurrentExecutions).toBe(20);
    // An existing issuer: no user pool, so no Cognito trigger.
    expect(external.stack.functions.has(backgroundFunctions.issueTokens.name)).toBe(false);
    for (const name of allFunctionNames.filter((candidate) => candidate !== backgroundFunctions.issueTokens.name)) {
      expect(functionProperties(external, name)).toMatchObject({
        Environment: { Variables: { STUCK_ACTION_AFTER_SECONDS: '90', READER_OFFLINE_ALERT_AFTER_SECONDS: '900' } },
      });
    }
    // Unset, the reconciler uses shared/config.ts's default (600 s).
    const { Environment } = functionProperties(dev, backgroundFunctions.reconcile.name) as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(Environment.Variables).not.toHaveProperty('READER_OFFLINE_ALERT_AFTER_SECONDS');
  });

  it('passes the AwsSolutions checks as well', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(external.app);

    // Assess
    expect(findings(report.violations)).toEqual([]);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each(['dev', 'prod'])('%s has no finding left unacknowledged', (stage) => {
    // Prepare
    const synth = stage === 'prod' ? prod : dev;

    // Act
    const report = new AwsSolutionsChecks().validateScope(synth.app);

    // Assess
    expect(findings(report.violations)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it.each(['dev', 'prod'])('%s synthesizes without CDK errors or warnings', (stage) => {
    // Prepare
    const synth = stage === 'prod' ? prod : dev;

    // Assess
    expect(Annotations.fromStack(synth.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(synth.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('acknowledges findings one by one, each with its own reason', () => {
    // Prepare
    const acknowledgments = dev.app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
      );

    // Assess
    expect(acknowledgments.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgments) {
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(reason.length).toBeGreaterThan(60);
      // A wildcard acknowledgment names the one finding (resource or action) it accepts.
      if (id.includes('IAM5')) expect(id).toMatch(/IAM5\[(Resource|Action)::.+\]$/);
    }
  });
});

/** A readable list of cdk-nag findings: rule and construct path. */
function findings(violations: readonly { ruleName: string; violatingResources: { constructPath?: string }[] }[]) {
  return violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
  );
}

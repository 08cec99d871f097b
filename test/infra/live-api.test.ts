/**
 * The live-updates part of the template: the WebSocket API and its routes, the `$connect` authorizer, the table's
 * stream feeding the notifier, the notifier's dead-letter queue, what each live function may do, and the alarms.
 * Bundles are not built here (`payments-stack.test.ts` checks every function's bundle).
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveProfiles } from '../../infra/handler-profiles.ts';
import { MESSAGE_ROUTES, notifierStream, ROUTE_SELECTION_EXPRESSION } from '../../shared/live/definition.ts';
import { liveFunctions } from '../../shared/routes.ts';
import { paymentsTable } from '../../shared/store/table.ts';
import { actionsOf, logicalId, removeCloudAssembly, roleGrants, type Synthesized, synthesize } from './synth.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
type LiveKey = keyof typeof liveFunctions;

let dev: Synthesized;
let prod: Synthesized;
let external: Synthesized;

beforeAll(() => {
  const noBundling = { 'aws:cdk:bundling-stacks': [] };
  dev = synthesize({ stage: 'dev', ...noBundling });
  prod = synthesize({ stage: 'prod', alarmEmail: 'oncall@example.com', ...noBundling });
  external = synthesize({
    stage: 'dev',
    jwtIssuer: 'https://login.example.com/',
    jwtAudience: 'pos-app,kiosk-app',
    ...noBundling,
  });
}, 240_000);

afterAll(() => removeCloudAssembly());

const resourcesOf = (template: Template): Resources => template.toJSON().Resources as Resources;
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const handlerOf = (synth: Synthesized, key: LiveKey) => synth.stack.functionNamed(liveFunctions[key].name);
const functionId = (synth: Synthesized, key: LiveKey) => logicalId(synth.stack, handlerOf(synth, key).function);
/** The logical id of the function's `live` alias, which the routes, the authorizer and the stream invoke. */
const aliasId = (synth: Synthesized, key: LiveKey) => logicalId(synth.stack, handlerOf(synth, key).alias);
const propertiesOf = (synth: Synthesized, id: string) => resourcesOf(synth.template)[id]?.Properties ?? {};
const variablesOf = (synth: Synthesized, key: LiveKey) =>
  (propertiesOf(synth, functionId(synth, key)).Environment as { Variables: Record<string, unknown> }).Variables;
/** A mapping's FunctionName for the alias: `{function name}:live`, the name taken from the alias ARN. */
const aliasQualifiedName = (synth: Synthesized, key: LiveKey) => ({
  'Fn::Join': ['', [{ 'Fn::Select': [6, { 'Fn::Split': [':', ref(aliasId(synth, key))] }] }, ':live']],
});
const apiId = (synth: Synthesized) => logicalId(synth.stack, synth.stack.liveApi.api);
/** `https://{api}.execute-api.{region}.{suffix}/{stage}` or `wss://…`, as the template writes it. */
const stageUrl = (synth: Synthesized, scheme: 'https' | 'wss', stage: string) => ({
  'Fn::Join': [
    '',
    [`${scheme}://`, ref(apiId(synth)), '.execute-api.', ref('AWS::Region'), '.', ref('AWS::URLSuffix'), `/${stage}`],
  ],
});
const postToConnections = (synth: Synthesized, stage: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      ref('AWS::Partition'),
      ':execute-api:',
      ref('AWS::Region'),
      ':',
      ref('AWS::AccountId'),
      ':',
      ref(apiId(synth)),
      `/${stage}/POST/@connections/*`,
    ],
  ],
});
/** The route resources of the WebSocket API, by route key. */
const liveRoutes = (synth: Synthesized) =>
  new Map(
    Object.values(resourcesOf(synth.template))
      .filter(
        (resource) =>
          resource.Type === 'AWS::ApiGatewayV2::Route' &&
          JSON.stringify(resource.Properties.ApiId) === JSON.stringify(ref(apiId(synth))),
      )
      .map((resource) => [resource.Properties.RouteKey as string, resource.Properties]),
  );
/** What a route's integration invokes: the logical id in its URI's `…/functions/{ARN}/invocations`. */
const invokedBy = (synth: Synthesized, route: Record<string, unknown> | undefined) => {
  // Target: { 'Fn::Join': ['', ['integrations/', { Ref: <integration> }]] }
  const integrationId = /"Ref":"([^"]+)"/.exec(JSON.stringify(route?.Target))?.[1] ?? '';
  const integration = propertiesOf(synth, integrationId);
  expect(integration.IntegrationType).toBe('AWS_PROXY');
  return /\/functions\/",\{"Ref":"([^"]+)"\},"\/invocations"/.exec(JSON.stringify(integration.IntegrationUri))?.[1];
};

describe('WebSocket API', () => {
  it('selects a message’s route by its action', () => {
    // Assess
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    expect(propertiesOf(dev, apiId(dev)).RouteSelectionExpression).toBe('$request.body.action');
  });

  it('has $connect, $disconnect and the message routes, and nothing else', () => {
    // Assess
    expect([...liveRoutes(dev).keys()].sort()).toEqual(['$connect', '$disconnect', ...MESSAGE_ROUTES].sort());
  });

  it.each([
    ['$connect', 'connect'],
    ['$disconnect', 'disconnect'],
    ...MESSAGE_ROUTES.map((routeKey) => [routeKey, 'message']),
  ] as [string, LiveKey][])('%s invokes the live alias of the %s function', (routeKey, key) => {
    // Assess
    expect(invokedBy(dev, liveRoutes(dev).get(routeKey))).toBe(aliasId(dev, key));
  });

  it('checks the token of the query string with the authorize function on $connect only', () => {
    // Prepare
    const routes = liveRoutes(dev);
    const authorizers = Object.entries(resourcesOf(dev.template)).filter(
      ([, resource]) =>
        resource.Type === 'AWS::ApiGatewayV2::Authorizer' &&
        JSON.stringify(resource.Properties.ApiId) === JSON.stringify(ref(apiId(dev))),
    );

    // Assess
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0]!;
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
      `/functions/",${JSON.stringify(ref(aliasId(dev, 'authorize')))},"/invocations"`,
    );
    expect(routes.get('$connect')).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: ref(authorizerId) });
    for (const [routeKey, route] of routes) {
      if (routeKey === '$connect') continue;
      expect(route.AuthorizationType, routeKey).toBe('NONE');
      expect(route.AuthorizerId, routeKey).toBeUndefined();
    }
  });

  it.each([
    ['dev', () => dev],
    ['prod', () => prod],
  ])('deploys the %s stage on every change, throttled per route and access-logged', (stage, synth) => {
    // Assess
    synth().template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: ref(apiId(synth())),
      StageName: stage,
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: arnOf(logicalId(synth().stack, synth().stack.liveApi.accessLogs)),
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId".*"connectionId":"\\$context.connectionId"'),
      },
    });
  });

  it('publishes the stage’s WebSocket URL', () => {
    // Assess
    dev.template.hasOutput('LiveUrl', {
      Value: stageUrl(dev, 'wss', 'dev'),
      Description: 'WebSocket URL for live updates (connect with ?token=<ID token>)',
    });
    prod.template.hasOutput('LiveUrl', { Value: stageUrl(prod, 'wss', 'prod') });
  });
});

describe('live functions', () => {
  const keys = Object.keys(liveFunctions) as LiveKey[];

  it.each(keys)('builds %s with its profile’s memory and timeout, and the table name', (key) => {
    // Prepare
    const properties = propertiesOf(dev, functionId(dev, key));

    // Assess
    expect(properties).toMatchObject({
      Runtime: 'nodejs24.x',
      MemorySize: liveProfiles[key].memoryMb,
      Timeout: liveProfiles[key].timeoutSeconds,
    });
    expect(variablesOf(dev, key).TABLE_NAME).toEqual(ref(logicalId(dev.stack, dev.stack.table.table)));
    // The WebSocket integrations get 29 s, as the HTTP API's do.
    if (key !== 'notify') expect(properties.Timeout).toBeLessThanOrEqual(29);
  });

  it('gives the functions that post to connections the stage’s management URL, and no other', () => {
    // Assess
    for (const key of keys) {
      const posts = key === 'message' || key === 'notify';
      expect(variablesOf(dev, key).LIVE_ENDPOINT, key).toEqual(posts ? stageUrl(dev, 'https', 'dev') : undefined);
    }
    expect(variablesOf(prod, 'notify').LIVE_ENDPOINT).toEqual(stageUrl(prod, 'https', 'prod'));
  });

  it('gives the authorizer the issuer and audiences of the HTTP API’s JWT authorizer', () => {
    // Assess
    expect(variablesOf(dev, 'authorize')).toMatchObject({
      JWT_ISSUER: {
        'Fn::Join': [
          '',
          [
            'https://cognito-idp.',
            ref('AWS::Region'),
            '.',
            ref('AWS::URLSuffix'),
            '/',
            ref(logicalId(dev.stack, dev.stack.identity.userPool!)),
          ],
        ],
      },
      JWT_AUDIENCE: ref(logicalId(dev.stack, dev.stack.identity.client!)),
    });
    expect(variablesOf(external, 'authorize')).toMatchObject({
      JWT_ISSUER: 'https://login.example.com/',
      JWT_AUDIENCE: 'pos-app,kiosk-app',
    });
    expect(variablesOf(dev, 'connect').JWT_ISSUER).toBeUndefined();
  });

  it('hands the Stripe key’s ARN to the message function only', () => {
    // Assess
    for (const key of keys) {
      expect(variablesOf(dev, key).STRIPE_SECRET_KEY_ARN, key).toEqual(
        key === 'message' ? ref(logicalId(dev.stack, dev.stack.secrets.secretKey)) : undefined,
      );
    }
  });
});

describe('least privilege of the live functions', () => {
  const tableId = () => logicalId(dev.stack, dev.stack.table.table);
  const normalized = (key: LiveKey) =>
    roleGrants(dev.template, logicalId(dev.stack, handlerOf(dev, key).role)).statements.map((statement) => ({
      ...statement,
      Action: actionsOf(statement),
    }));
  const writeLogs = (key: LiveKey) => ({
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: arnOf(logicalId(dev.stack, handlerOf(dev, key).logGroup)),
  });
  // Active tracing: X-Ray's actions take no resource.
  const sendTraces = {
    Effect: 'Allow',
    Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    Resource: '*',
  };
  const onTable = (...actions: string[]) => ({ Effect: 'Allow', Action: actions.sort(), Resource: arnOf(tableId()) });
  const manageConnections = { Effect: 'Allow', Action: ['execute-api:ManageConnections'] };

  it('lets the authorizer write its logs only', () => {
    // Assess
    expect(normalized('authorize')).toEqual([writeLogs('authorize'), sendTraces]);
  });

  it('lets $connect store the connection', () => {
    // Assess
    expect(normalized('connect')).toEqual([writeLogs('connect'), sendTraces, onTable('dynamodb:PutItem')]);
  });

  it('lets $disconnect remove the connection and its subscriptions', () => {
    // Assess
    expect(normalized('disconnect')).toEqual([
      writeLogs('disconnect'),
      sendTraces,
      onTable('dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'),
    ]);
  });

  it('lets the message function use the table and the Stripe key, and post to this stage’s connections', () => {
    // Assess
    expect(normalized('message')).toEqual([
      writeLogs('message'),
      sendTraces,
      onTable(
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:BatchGetItem',
      ),
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: ref(logicalId(dev.stack, dev.stack.secrets.secretKey)),
      },
      { ...manageConnections, Resource: postToConnections(dev, 'dev') },
    ]);
  });

  it('lets the notifier query subscriptions, post to this stage’s connections, and read its stream', () => {
    // Prepare
    const deadLettersId = logicalId(dev.stack, dev.stack.liveNotifierSource.deadLetterQueue);

    // Assess
    expect(normalized('notify')).toEqual([
      writeLogs('notify'),
      sendTraces,
      onTable('dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'),
      { ...manageConnections, Resource: postToConnections(dev, 'dev') },
      // What the event source mapping does with the function's role: the DLQ, and reading the stream.
      {
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: arnOf(deadLettersId),
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
        Resource: { 'Fn::GetAtt': [tableId(), 'StreamArn'] },
      },
    ]);
  });

  it('allows posting to connections of the deployed stage only', () => {
    // Prepare
    const statement = normalized('notify').find((candidate) =>
      candidate.Action.includes('execute-api:ManageConnections'),
    );

    // Assess
    expect(
      roleGrants(prod.template, logicalId(prod.stack, handlerOf(prod, 'notify').role)).statements.find((candidate) =>
        actionsOf(candidate).includes('execute-api:ManageConnections'),
      )?.Resource,
    ).toEqual(postToConnections(prod, 'prod'));
    expect(JSON.stringify(statement?.Resource)).not.toContain('DELETE');
  });
});

describe('table stream and notifier', () => {
  const mappingOf = (synth: Synthesized) =>
    Object.values(resourcesOf(synth.template)).find(
      (resource) =>
        resource.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(resource.Properties.FunctionName) === JSON.stringify(aliasQualifiedName(synth, 'notify')),
    )?.Properties;

  it('streams every change of the table with its old and new images', () => {
    // Assess
    expect(paymentsTable.streamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(propertiesOf(dev, logicalId(dev.stack, dev.stack.table.table)).StreamSpecification).toEqual({
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
  });

  it('feeds the notifier from the stream with the settings of shared/live/definition.ts', () => {
    // Prepare
    const deadLettersId = logicalId(dev.stack, dev.stack.liveNotifierSource.deadLetterQueue);

    // Assess
    expect(mappingOf(dev)).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [logicalId(dev.stack, dev.stack.table.table), 'StreamArn'] },
      FunctionName: aliasQualifiedName(dev, 'notify'),
      StartingPosition: 'LATEST',
      BatchSize: notifierStream.batchSize,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: notifierStream.retryAttempts,
      MaximumRecordAgeInSeconds: notifierStream.maxRecordAgeSeconds,
      ParallelizationFactor: notifierStream.parallelizationFactor,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: {
        Filters: notifierStream.filterPatterns.map((pattern) => ({ Pattern: JSON.stringify(pattern) })),
      },
      DestinationConfig: { OnFailure: { Destination: arnOf(deadLettersId) } },
    });
  });

  it('wakes the notifier for inserted and modified payments and readers only', () => {
    // Prepare
    const criteria = mappingOf(dev)?.FilterCriteria as { Filters: { Pattern: string }[] } | undefined;
    const [filter] = criteria?.Filters ?? [];

    // Assess
    expect(JSON.parse(filter!.Pattern)).toEqual({
      eventName: ['INSERT', 'MODIFY'],
      dynamodb: { NewImage: { entity: { S: ['payment', 'reader'] } } },
    });
  });

  it('keeps failed stream batches in an encrypted queue for 14 days, reachable over TLS only', () => {
    // Prepare
    const deadLettersId = logicalId(dev.stack, dev.stack.liveNotifierSource.deadLetterQueue);

    // Assess
    expect(propertiesOf(dev, deadLettersId)).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(deadLettersId)],
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
    expect(
      resourcesOf(prod.template)[logicalId(prod.stack, prod.stack.liveNotifierSource.deadLetterQueue)],
    ).toMatchObject({ DeletionPolicy: 'Retain' });
  });
});

describe('live-updates alarms', () => {
  const topicId = () => logicalId(dev.stack, dev.stack.monitoring.topic);
  const alarmOn = (properties: Record<string, unknown>) =>
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [ref(topicId())],
      OKActions: [ref(topicId())],
      TreatMissingData: 'notBreaching',
      EvaluationPeriods: 1,
      ...properties,
    });

  it('alarms on the first notifier error in five minutes', () => {
    // Assess
    alarmOn({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: ref(functionId(dev, 'notify')) }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('alarms when the notifier is more than a minute behind the stream', () => {
    // Assess
    alarmOn({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: ref(functionId(dev, 'notify')) }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 60_000,
    });
  });

  it('alarms on the first failed stream batch in the dead-letter queue', () => {
    // Assess
    alarmOn({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [logicalId(dev.stack, dev.stack.liveNotifierSource.deadLetterQueue), 'QueueName'],
          },
        },
      ],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('draws the WebSocket API, the notifier and its deliveries on the dashboard', () => {
    // Prepare
    const dashboard = Object.values(resourcesOf(dev.template)).find(
      (resource) => resource.Type === 'AWS::CloudWatch::Dashboard',
    );
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    // Assess
    for (const text of ['Live updates: connections and messages', 'ConnectCount', 'IteratorAge']) {
      expect(body).toContain(text);
    }
    expect(body).toMatch(/LiveDeliveryFailures.*service.*live-notifier/);
  });
});

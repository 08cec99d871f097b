/**
 * Each function's role grants exactly the AWS permissions its code uses. Every other test file records, per
 * function, the permissions of the SDK calls made under its handler (`test/support/aws-actions/`); this file runs
 * after all of them (a later project group in `vitest.config.ts`) and compares them with the role's statements in
 * the synthesized template.
 *
 * - Used but not granted is AccessDenied on AWS: compared in every run, on what the run's tests used.
 * - Granted but never used is compared only when the run is the whole suite (a partial run uses less). The one list
 *   of exceptions, `grantedWithoutUse`, gives each its reason: the Lambda service itself acting with the role, or a
 *   path of the code no test can reach. Anything else a role holds must be reached by a test.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IndexName } from '../../infra/handler-profiles.ts';
import { backgroundFunctions, liveFunctions, routes } from '../../shared/routes.ts';
import { paymentsTable } from '../../shared/store/table.ts';
import { type Permission, permissionKey } from '../support/aws-actions/permissions.ts';
import {
  type RunManifest,
  readManifest,
  readUsedPermissions,
  type UsedPermission,
} from '../support/aws-actions/run.ts';
import { actionsOf, logicalId, removeCloudAssembly, roleGrants, type Synthesized, synthesize } from './synth.ts';

/** Grants no test sees a function use, and why each must stay all the same. */
interface UnusedGrant {
  functions: readonly string[];
  actions: readonly string[];
  resource: string;
  reason: string;
}

const functionNames = [
  ...routes.map((route) => route.name),
  ...Object.values(backgroundFunctions).map((fn) => fn.name),
  ...Object.values(liveFunctions).map((fn) => fn.name),
];

const grantedWithoutUse: readonly UnusedGrant[] = [
  {
    functions: functionNames,
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resource: 'logGroup',
    reason: 'The Lambda service writes what the function prints to its own log group, with the function’s role.',
  },
  {
    functions: functionNames,
    actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    resource: '"*"',
    reason:
      'Active tracing: the Lambda service and the X-Ray SDK’s daemon in the sandbox send the traces with the ' +
      'function’s role; X-Ray has no resource to narrow them to. Locally nothing is traced.',
  },
  {
    functions: [backgroundFunctions.issueTokens.name],
    actions: ['cognito-idp:AdminGetUser'],
    resource: 'userPool',
    reason:
      'Cognito has no local stand-in: test/unit/identity/issue-tokens.test.ts runs the trigger against a mocked ' +
      'client, which the recorder does not see.',
  },
  {
    functions: [backgroundFunctions.processEvents.name],
    actions: [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ],
    resource: 'eventQueue',
    reason:
      'The SQS event source mapping receives and deletes the records with the function’s role (what SqsEventSource ' +
      'grants); locally the stack’s queue poller does that, outside the function.',
  },
  {
    functions: [liveFunctions.notify.name],
    actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
    resource: 'tableStream',
    reason:
      'The DynamoDB event source mapping reads the table’s stream with the function’s role (what DynamoEventSource ' +
      'grants); locally the stack’s stream poller does that, outside the function.',
  },
  {
    functions: [liveFunctions.notify.name],
    actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
    resource: 'liveStreamDeadLetterQueue',
    reason:
      'The event source mapping describes a stream batch that failed for good in its on-failure queue, with the ' +
      'function’s role (what SqsDlq grants); the function itself never sends to it.',
  },
  {
    functions: [liveFunctions.message.name],
    actions: ['dynamodb:BatchWriteItem'],
    resource: 'table',
    reason:
      'A connection found gone when its answer is posted is removed with its subscriptions (batch deletes, ' +
      'shared/store/live.ts); that needs a client that leaves between sending a frame and its answer, a race no ' +
      'test makes. The notifier’s and $disconnect’s removals are reached.',
  },
  {
    functions: [backgroundFunctions.processEvents.name],
    actions: ['dynamodb:GetItem'],
    resource: 'table',
    reason:
      'Freeing another reader stores the payment with applyToPayment, which reads it again only after losing a ' +
      'version race; no test makes that race.',
  },
  {
    functions: [backgroundFunctions.reconcile.name],
    actions: ['dynamodb:UpdateItem'],
    resource: 'table',
    reason:
      'Settling an order claim updates the order (shared/store/orders.ts); order-claims.test.ts reaches it by calling ' +
      'reconcile() itself, not through the handler, so the call is not attributed to the function.',
  },
];

let synth: Synthesized;
let manifest: RunManifest | undefined;
let used: UsedPermission[] = [];

beforeAll(() => {
  // Roles do not depend on what the bundles hold: no bundling, so this file adds seconds, not minutes, to the run.
  synth = synthesize({ stage: 'dev', 'aws:cdk:bundling-stacks': [] });
  const directory = inject('awsActionsRunDirectory');
  manifest = directory === undefined ? undefined : readManifest(directory);
  used = directory === undefined ? [] : readUsedPermissions(directory);
  if (manifest === undefined) console.warn('Roles not compared: no AWS calls were recorded in this run.');
  else if (manifest.partialBecause !== undefined) {
    console.warn(
      `Roles compared with what this run used; unused grants are compared only when the whole suite runs ` +
        `(${manifest.partialBecause}).`,
    );
  }
}, 240_000);

afterAll(() => removeCloudAssembly());

/** The names this file gives the stack's resources, by their resolved ARN as the template writes it. */
function resourceNames(functionName: string): Map<string, string> {
  const { stack } = synth;
  const arn = (token: string) => JSON.stringify(stack.resolve(token));
  const names = new Map<string, string>([
    [arn(stack.table.table.tableArn), 'table'],
    [arn(stack.events.queue.queueArn), 'eventQueue'],
    [arn(stack.events.deadLetterQueue.queueArn), 'eventDeadLetterQueue'],
    [arn(stack.secrets.secretKey.secretArn), 'stripeSecretKey'],
    [arn(stack.secrets.webhookSigningSecret.secretArn), 'webhookSigningSecret'],
    [arn(stack.table.streamArn), 'tableStream'],
    ...(stack.identity.userPool ? [[arn(stack.identity.userPool.userPoolArn), 'userPool'] as [string, string]] : []),
    [arn(stack.liveNotifierSource.deadLetterQueue.queueArn), 'liveStreamDeadLetterQueue'],
    // As `test/support/aws-actions/permissions.ts` names a call of the connection management API.
    [arn(stack.liveApi.connectionsArn('POST')), 'liveApi/POST/@connections'],
    [arn(stack.liveApi.connectionsArn('DELETE')), 'liveApi/DELETE/@connections'],
  ]);
  for (const index of Object.keys(paymentsTable.indexes) as IndexName[]) {
    names.set(arn(stack.table.indexArn(index)), `table/index/${paymentsTable.indexes[index].indexName}`);
  }
  for (const [name, handler] of stack.functions) {
    names.set(arn(handler.logGroup.logGroupArn), name === functionName ? 'logGroup' : `log group of ${name}`);
  }
  return names;
}

/** What the function's role allows, each statement taken apart into `action on resource`. */
function granted(functionName: string): { permissions: Permission[]; unreadable: string[] } {
  const handler = synth.stack.functions.get(functionName);
  if (handler === undefined) throw new Error(`The stack has no function ${functionName}`);
  const { statements, managedPolicies } = roleGrants(synth.template, logicalId(synth.stack, handler.role));
  const names = resourceNames(functionName);
  const unreadable = managedPolicies.map((arn) => `managed policy ${JSON.stringify(arn)}`);
  const permissions: Permission[] = [];
  for (const statement of statements) {
    const shape = statement as unknown as Record<string, unknown>;
    if (statement.Effect !== 'Allow' || shape.Condition || shape.NotAction || shape.NotResource) {
      unreadable.push(`statement ${JSON.stringify(statement)}`);
      continue;
    }
    for (const action of actionsOf(statement)) {
      if (action.includes('*')) unreadable.push(`wildcard action ${action}`);
      for (const resource of [statement.Resource].flat()) {
        permissions.push({ action, resource: names.get(JSON.stringify(resource)) ?? JSON.stringify(resource) });
      }
    }
  }
  return { permissions, unreadable };
}

function usedBy(functionName: string): Map<string, UsedPermission> {
  const byKey = new Map<string, UsedPermission>();
  for (const permission of used.filter((record) => record.function === functionName)) {
    if (!byKey.has(permissionKey(permission))) byKey.set(permissionKey(permission), permission);
  }
  return byKey;
}

function allowedUnused(functionName: string): Set<string> {
  return new Set(
    grantedWithoutUse
      .filter((grant) => grant.functions.includes(functionName))
      .flatMap((grant) => grant.actions.map((action) => permissionKey({ action, resource: grant.resource }))),
  );
}

describe('function roles against the AWS calls the suite made', () => {
  it('records calls only of functions the stack has', () => {
    // Act
    const unknown = [...new Set(used.map((record) => record.function))].filter(
      (name) => !synth.stack.functions.has(name),
    );

    // Assess
    expect(unknown, 'calls were attributed to functions the CDK app does not build').toEqual([]);
  });

  it.for(functionNames)('%s uses no permission its role does not grant', (name, context) => {
    if (manifest === undefined) context.skip('no AWS calls were recorded in this run (run it with vitest.config.ts)');
    // Prepare
    const { permissions, unreadable } = granted(name);
    const grants = new Set(permissions.map(permissionKey));

    // Act
    const missing = [...usedBy(name)]
      .filter(([key]) => !grants.has(key))
      .map(([key, record]) => `${key} (used in ${record.testFile ?? 'a test'})`);

    // Assess
    expect(unreadable, `${name}'s role has statements this check cannot read`).toEqual([]);
    expect(
      missing,
      `${name} uses permissions its role does not grant (AccessDenied on AWS): grant them in infra/`,
    ).toEqual([]);
  });

  it.for(functionNames)('%s is granted nothing its code does not use', (name, context) => {
    if (manifest?.partialBecause !== undefined) {
      context.skip(`not the whole suite, so not every use was seen: ${manifest.partialBecause}`);
    }
    if (manifest === undefined) context.skip('no AWS calls were recorded in this run (run it with vitest.config.ts)');
    // Prepare
    const uses = usedBy(name);
    const allowed = allowedUnused(name);

    // Act
    const unused = granted(name)
      .permissions.map(permissionKey)
      .filter((key) => !uses.has(key) && !allowed.has(key));

    // Assess
    expect(
      [...new Set(unused)],
      `${name}'s role grants permissions no test saw its code use: remove them from infra/, or reach the path ` +
        'that uses them in a test',
    ).toEqual([]);
  });

  it('allows unused grants only where the template still has them', () => {
    // Act
    const stale = grantedWithoutUse.flatMap((grant) =>
      grant.functions.flatMap((name) => {
        const grants = new Set(granted(name).permissions.map(permissionKey));
        return grant.actions
          .map((action) => permissionKey({ action, resource: grant.resource }))
          .filter((key) => !grants.has(key))
          .map((key) => `${name}: ${key}`);
      }),
    );

    // Assess
    expect(stale, 'grantedWithoutUse lists grants the roles no longer hold: remove them').toEqual([]);
  });
});

/**
 * The whole service in one stack, wired the way the local stack wires it: the POS API and Stripe's webhook
 * on one HTTP API, the webhook receiver queueing events for the processor, the reconciler on a one-minute
 * schedule, the live-updates WebSocket API with its notifier on the table's change stream, one table, two
 * secrets, and the alarms and dashboard of the payment path. Every invoker calls a function's `live` alias, which
 * CodeDeploy moves from version to version for the API routes, the processor and the reconciler, rolling back on the
 * checkout alarms. With context `console`, the POS console on CloudFront as well (`constructs/pos-console.ts`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { UserPoolOperation } from 'aws-cdk-lib/aws-cognito';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { eventQueue } from '../shared/queue/definition.ts';
import { backgroundFunctions, liveFunctions, routes } from '../shared/routes.ts';
import { EventQueue } from './constructs/event-queue.ts';
import { LiveApi } from './constructs/live-api.ts';
import { LiveNotifierSource } from './constructs/live-notifier-source.ts';
import { PaymentPathMonitoring } from './constructs/payment-path-monitoring.ts';
import { PaymentsFunction } from './constructs/payments-function.ts';
import { PaymentsTable } from './constructs/payments-table.ts';
import { PosApi } from './constructs/pos-api.ts';
import { PosConsole } from './constructs/pos-console.ts';
import { PosIdentity } from './constructs/pos-identity.ts';
import { ReconcileSchedule } from './constructs/reconcile-schedule.ts';
import { SafeDeployments } from './constructs/safe-deployments.ts';
import { StripeSecrets } from './constructs/stripe-secrets.ts';
import {
  backgroundProfiles,
  type HandlerProfile,
  liveProfiles,
  RECONCILE_TIME_BUDGET_MARGIN_MS,
  routeProfile,
} from './handler-profiles.ts';
import type { HandlerEnvironment, StageSettings } from './settings.ts';

export interface PaymentsStackProps extends StackProps {
  /**
   * Repository root. Handler entries of `shared/routes.ts` are resolved against it and its
   * `package-lock.json` pins what the bundles contain.
   */
  projectRoot: string;
  settings: StageSettings;
}

const WEBHOOK_ROUTE = 'ReceiveStripeWebhook';

/** The routes a cashier waits on while the customer is at the counter: their failures and latency page someone. */
const CHECKOUT_ROUTES = ['CreatePayment', 'ProcessPayment', 'CapturePayment'] as const;

/**
 * The alarms of `PaymentPathMonitoring` that roll a deployment back: the checkout path's 5xx rate, p99 latency (one
 * per checkout route) and throttles.
 */
export const isCheckoutAlarm = (id: string): boolean =>
  id === 'CheckoutServerErrors' || id === 'CheckoutThrottles' || id.startsWith('CheckoutLatency');

export class PaymentsStack extends Stack {
  /** Every function, by route name, background function name or live function name (`shared/routes.ts`). */
  readonly functions = new Map<string, PaymentsFunction>();
  readonly table: PaymentsTable;
  readonly events: EventQueue;
  readonly secrets: StripeSecrets;
  readonly identity: PosIdentity;
  readonly api: PosApi;
  readonly reconcileSchedule: ReconcileSchedule;
  readonly liveApi: LiveApi;
  readonly liveNotifierSource: LiveNotifierSource;
  readonly monitoring: PaymentPathMonitoring;
  readonly deployments: SafeDeployments;
  /** The POS console on CloudFront (context `console`); undefined when it is off. */
  readonly posConsole?: PosConsole;

  constructor(scope: Construct, id: string, props: PaymentsStackProps) {
    super(scope, id, props);
    const { settings, projectRoot } = props;
    const entries = [...routes, ...Object.values(backgroundFunctions), ...Object.values(liveFunctions)].map(
      (handler) => handler.entry,
    );
    const missing = entries.filter((entry) => !existsSync(join(projectRoot, entry)));
    if (missing.length > 0) {
      throw new Error(`Handler entries of shared/routes.ts missing under ${projectRoot}: ${missing.join(', ')}`);
    }

    this.table = new PaymentsTable(this, 'Payments', { settings });
    this.events = new EventQueue(this, 'StripeEvents', { settings });
    this.secrets = new StripeSecrets(this, 'Stripe', { settings });
    this.identity = new PosIdentity(this, 'PosIdentity', { settings });
    // Before the functions: the ones that post to connections are given the stage's management URL.
    this.liveApi = new LiveApi(this, 'LiveApi', { settings });
    const { table, events, secrets, identity, liveApi } = this;
    // Before the authorizers: the console's app client is one more audience of both.
    if (settings.console) {
      if (identity.userPool === undefined) throw new Error('Invalid CDK context: console needs the stack’s user pool');
      this.posConsole = new PosConsole(this, 'Console', {
        settings,
        userPool: identity.userPool,
        liveApiEndpoint: liveApi.api.apiEndpoint,
      });
    }
    const { posConsole } = this;
    const jwtAudience = [...identity.audience, ...(posConsole ? [posConsole.client.userPoolClientId] : [])];

    const environmentFor = (profile: HandlerProfile): HandlerEnvironment => ({
      // Every function loads shared/config.ts, which requires the table name even where no access is granted.
      SERVICE_NAME: settings.serviceName,
      STAGE: settings.stage,
      TABLE_NAME: table.table.tableName,
      ...settings.handlerEnvironment,
      ...(profile.stripeSecretKey ? { STRIPE_SECRET_KEY_ARN: secrets.secretKey.secretArn } : {}),
      ...(profile.webhookSecret ? { STRIPE_WEBHOOK_SECRET_ARN: secrets.webhookSigningSecret.secretArn } : {}),
      ...(profile.sendsEvents || profile.consumesEvents ? { EVENT_QUEUE_URL: events.queue.queueUrl } : {}),
      ...(profile.consumesEvents ? { EVENT_DLQ_URL: events.deadLetterQueue.queueUrl } : {}),
      ...(profile.postsToConnections ? { LIVE_ENDPOINT: liveApi.callbackUrl } : {}),
    });

    const addFunction = (
      name: string,
      entry: string,
      description: string,
      profile: HandlerProfile,
      extraEnvironment: HandlerEnvironment = {},
    ): PaymentsFunction => {
      const handler = new PaymentsFunction(this, `${name}Function`, {
        projectRoot,
        entry,
        description,
        profile,
        settings,
        environment: { ...environmentFor(profile), ...extraEnvironment },
      });
      this.grantProfile(handler, profile, { table, events, secrets, liveApi });
      this.functions.set(name, handler);
      return handler;
    };

    for (const route of routes) {
      const profile = routeProfile(route.name);
      addFunction(
        route.name,
        route.entry,
        `${route.method} ${route.path}`,
        route.name === WEBHOOK_ROUTE
          ? { ...profile, reservedConcurrency: settings.webhookReservedConcurrency }
          : profile,
      );
    }

    const processor = addFunction(
      backgroundFunctions.processEvents.name,
      backgroundFunctions.processEvents.entry,
      'Applies queued Stripe events to payments',
      backgroundProfiles.processEvents,
    );
    processor.alias.addEventSource(
      new SqsEventSource(events.queue, {
        batchSize: eventQueue.batchSize,
        ...(eventQueue.maxBatchingWindowSeconds > 0
          ? { maxBatchingWindow: Duration.seconds(eventQueue.maxBatchingWindowSeconds) }
          : {}),
        // Only the failed records of a batch come back; the ones applied are not applied twice.
        reportBatchItemFailures: true,
        maxConcurrency: eventQueue.maxConcurrency,
      }),
    );

    const reconcileProfile = backgroundProfiles.reconcile;
    const reconciler = addFunction(
      backgroundFunctions.reconcile.name,
      backgroundFunctions.reconcile.entry,
      'Finds stuck reader actions and aging authorizations',
      reconcileProfile,
      { RECONCILE_TIME_BUDGET_MS: String(reconcileProfile.timeoutSeconds * 1000 - RECONCILE_TIME_BUDGET_MARGIN_MS) },
    );
    // Scheduler invokes the alias asynchronously, so the alias carries the settings. A failed or throttled run is not
    // retried by Lambda: the next tick, a minute later, does the same work with fresher data.
    reconciler.alias.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(60) });
    this.reconcileSchedule = new ReconcileSchedule(this, 'Reconcile', { reconciler: reconciler.alias, settings });

    const live = {
      authorize: addFunction(
        liveFunctions.authorize.name,
        liveFunctions.authorize.entry,
        'Live updates: checks the POS ID token of a WebSocket $connect',
        liveProfiles.authorize,
        // The same issuer and audiences as the HTTP API's JWT authorizer.
        { JWT_ISSUER: identity.issuer, JWT_AUDIENCE: jwtAudience.join(',') },
      ),
      connect: addFunction(
        liveFunctions.connect.name,
        liveFunctions.connect.entry,
        'Live updates: stores a WebSocket connection',
        liveProfiles.connect,
      ),
      disconnect: addFunction(
        liveFunctions.disconnect.name,
        liveFunctions.disconnect.entry,
        'Live updates: removes a WebSocket connection and its subscriptions',
        liveProfiles.disconnect,
      ),
      message: addFunction(
        liveFunctions.message.name,
        liveFunctions.message.entry,
        "Live updates: answers a client's subscribe, unsubscribe and ping",
        liveProfiles.message,
      ),
      notify: addFunction(
        liveFunctions.notify.name,
        liveFunctions.notify.entry,
        'Live updates: pushes payment and reader changes from the table stream to subscribers',
        liveProfiles.notify,
      ),
    };
    liveApi.addRoutes({
      authorize: live.authorize.alias,
      connect: live.connect.alias,
      disconnect: live.disconnect.alias,
      message: live.message.alias,
    });
    this.liveNotifierSource = new LiveNotifierSource(this, 'LiveNotifierSource', {
      table: table.table,
      notifier: live.notify.alias,
      settings,
    });

    if (identity.userPool !== undefined) {
      const issueTokens = addFunction(
        backgroundFunctions.issueTokens.name,
        backgroundFunctions.issueTokens.entry,
        'Cognito pre token generation: privileged claims only after a second factor',
        backgroundProfiles.issueTokens,
      );
      identity.userPool.addTrigger(UserPoolOperation.PRE_TOKEN_GENERATION, issueTokens.alias);
      // Its own policy, not the role's default one: the function waits on that (DependsOn), and the pool, named here,
      // waits on the function, so the grant in the default policy would be a dependency cycle.
      new Policy(this, 'IssueTokensReadsUsers', {
        roles: [issueTokens.role],
        statements: [
          new PolicyStatement({ actions: ['cognito-idp:AdminGetUser'], resources: [identity.userPool.userPoolArn] }),
        ],
      });
    }

    this.api = new PosApi(this, 'PosApi', {
      settings,
      routes,
      functions: new Map(routes.map((route) => [route.name, this.functionNamed(route.name).alias])),
      jwtIssuer: identity.issuer,
      jwtAudience,
      corsOrigins: [...(settings.corsOrigins ?? []), ...(posConsole ? [posConsole.origin] : [])],
    });
    posConsole?.deploy({ apiUrl: this.api.api.apiEndpoint, liveUrl: liveApi.url });

    // The API routes, the processor and the reconciler: what a cashier or a payment waits on. The live functions are
    // updated in one step (infra/README.md, "Safe deployments": none of the checkout alarms watches them).
    this.deployments = new SafeDeployments(this, 'Deployments', {
      settings,
      functions: new Map(
        [
          ...routes.map((route) => route.name),
          backgroundFunctions.processEvents.name,
          backgroundFunctions.reconcile.name,
        ].map((name) => {
          const handler = this.functionNamed(name);
          return [name, { function: handler.function, alias: handler.alias }];
        }),
      ),
    });

    const webhookRoute = routes.find((route) => route.name === WEBHOOK_ROUTE);
    const webhookReceiver = this.functions.get(WEBHOOK_ROUTE);
    if (!webhookRoute || !webhookReceiver) throw new Error(`shared/routes.ts has no ${WEBHOOK_ROUTE} route`);
    this.monitoring = new PaymentPathMonitoring(this, 'Monitoring', {
      settings,
      api: this.api.api,
      accessLogs: this.api.accessLogs,
      webhookRouteKey: `${webhookRoute.method} ${webhookRoute.path}`,
      webhookReceiver: webhookReceiver.function,
      eventProcessor: processor.function,
      reconciler: reconciler.function,
      checkout: CHECKOUT_ROUTES.map((name) => {
        const route = routes.find((candidate) => candidate.name === name);
        if (route === undefined) throw new Error(`No route ${name} in shared/routes.ts`);
        return { routeKey: `${route.method} ${route.path}`, function: this.functionNamed(name).function };
      }),
      table: table.table,
      eventQueue: events.queue,
      eventDeadLetterQueue: events.deadLetterQueue,
      scheduleDeadLetterQueue: this.reconcileSchedule.deadLetterQueue,
      live: {
        stage: liveApi.stage,
        notifier: live.notify.function,
        streamDeadLetterQueue: this.liveNotifierSource.deadLetterQueue,
      },
    });

    // The checkout alarms exist now: every deployment group rolls back on them.
    const checkoutAlarms = this.monitoring.alarms.filter((alarm) => isCheckoutAlarm(alarm.node.id));
    const latencyAlarms = checkoutAlarms.filter((alarm) => alarm.node.id.startsWith('CheckoutLatency'));
    if (checkoutAlarms.length !== latencyAlarms.length + 2 || latencyAlarms.length !== CHECKOUT_ROUTES.length) {
      throw new Error(
        `Deployments roll back on the checkout alarms: expected CheckoutServerErrors, CheckoutThrottles and a ` +
          `CheckoutLatency alarm per checkout route, found ${checkoutAlarms.map((alarm) => alarm.node.id).join(', ')}`,
      );
    }
    for (const alarm of checkoutAlarms) this.deployments.addAlarm(alarm);

    const apiUrl = this.api.url;
    new CfnOutput(this, 'ApiUrl', { value: apiUrl, description: 'Base URL of the POS API' });
    new CfnOutput(this, 'WebhookUrl', {
      value: `${apiUrl}${webhookRoute.path.replace(/^\//, '')}`,
      description: 'Register this URL as the Stripe webhook endpoint',
    });
    new CfnOutput(this, 'LiveUrl', {
      value: liveApi.url,
      description: 'WebSocket URL for live updates (connect with ?token=<ID token>)',
    });
    new CfnOutput(this, 'JwtIssuer', { value: identity.issuer });
    if (identity.userPool && identity.client) {
      new CfnOutput(this, 'UserPoolId', { value: identity.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: identity.client.userPoolClientId });
    }
    if (posConsole) {
      new CfnOutput(this, 'ConsoleUrl', { value: posConsole.url, description: 'The POS console (sign in there)' });
      new CfnOutput(this, 'ConsoleSignInDomain', {
        value: posConsole.signInDomain,
        description: 'The Cognito Hosted UI the console signs in at',
      });
    }
    new CfnOutput(this, 'StripeSecretKeyArn', { value: secrets.secretKey.secretArn });
    new CfnOutput(this, 'StripeWebhookSecretArn', { value: secrets.webhookSigningSecret.secretArn });
    new CfnOutput(this, 'TableName', { value: table.table.tableName });
    new CfnOutput(this, 'EventQueueName', { value: events.queue.queueName });
    new CfnOutput(this, 'EventQueueUrl', { value: events.queue.queueUrl });
    new CfnOutput(this, 'EventDeadLetterQueueName', { value: events.deadLetterQueue.queueName });
    new CfnOutput(this, 'EventDeadLetterQueueArn', { value: events.deadLetterQueue.queueArn });
    new CfnOutput(this, 'LiveStreamDeadLetterQueueName', { value: this.liveNotifierSource.deadLetterQueue.queueName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'DeploymentApplicationName', {
      value: this.deployments.application.applicationName,
      description: 'CodeDeploy application of the live aliases (aws deploy list-deployments --application-name …)',
    });
  }

  /** The function of that name (`shared/routes.ts`). */
  functionNamed(name: string): PaymentsFunction {
    const handler = this.functions.get(name);
    if (handler === undefined) throw new Error(`The stack has no function ${name}`);
    return handler;
  }

  /** Turns a profile into the function's IAM statements: its resources, its actions, nothing more. */
  private grantProfile(
    handler: PaymentsFunction,
    profile: HandlerProfile,
    resources: { table: PaymentsTable; events: EventQueue; secrets: StripeSecrets; liveApi: LiveApi },
  ): void {
    const { role } = handler;
    const itemActions = profile.table?.items ?? [];
    if (itemActions.length > 0) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: [...itemActions], resources: [resources.table.table.tableArn] }),
      );
    }
    const indexes = profile.table?.indexes ?? [];
    if (indexes.length > 0) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: indexes.map((index) => resources.table.indexArn(index)),
        }),
      );
    }
    // Not grantRead: that adds DescribeSecret, and Powertools reads a secret with GetSecretValue alone.
    const readSecret = (secret: ISecret) =>
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
      );
    if (profile.stripeSecretKey) readSecret(resources.secrets.secretKey);
    if (profile.webhookSecret) readSecret(resources.secrets.webhookSigningSecret);
    // Not grantSendMessages: that adds GetQueueAttributes and GetQueueUrl, which no handler calls.
    if (profile.sendsEvents) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [resources.events.queue.queueArn] }),
      );
    }
    if (profile.consumesEvents) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [resources.events.deadLetterQueue.queueArn] }),
      );
    }
    if (profile.postsToConnections) resources.liveApi.grantPostToConnections(role);
  }
}

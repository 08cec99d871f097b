/**
 * Deployment settings, read once from CDK context (`cdk.json` or `-c key=value`). `stage` picks the defaults:
 * `prod` keeps data when the stack goes away and keeps logs longer; `dev` cleans up after itself.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { type ILambdaDeploymentConfig, LambdaDeploymentConfig } from 'aws-cdk-lib/aws-codedeploy';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { type Config, parseConfig } from '../shared/config.ts';
import { METRICS_NAMESPACE } from '../shared/metrics-names.ts';
import { paymentsTable } from '../shared/store/table.ts';
import { checkTimeouts } from './handler-profiles.ts';

export const stages = ['dev', 'prod'] as const;
export type Stage = (typeof stages)[number];

/**
 * Context keys that tune the handlers, and the `shared/config.ts` variable each one sets. Unset keys leave
 * the variable unset, so the handlers use the default written in `shared/config.ts`.
 */
export const handlerTunables = {
  stuckActionAfterSeconds: 'STUCK_ACTION_AFTER_SECONDS',
  readerOfflineAlertAfterSeconds: 'READER_OFFLINE_ALERT_AFTER_SECONDS',
  autoCancelStuckAfterSeconds: 'AUTO_CANCEL_STUCK_AFTER_SECONDS',
  captureWarningAfterHours: 'CAPTURE_WARNING_AFTER_HOURS',
  staleAuthorizationAction: 'STALE_AUTHORIZATION_ACTION',
  stripeTimeoutMs: 'STRIPE_TIMEOUT_MS',
  readerTimeoutRetries: 'READER_TIMEOUT_RETRIES',
  readerTimeoutRetryDelayMs: 'READER_TIMEOUT_RETRY_DELAY_MS',
  reconcileStripeCallIntervalMs: 'RECONCILE_STRIPE_CALL_INTERVAL_MS',
  liveMaxSubscriptions: 'LIVE_MAX_SUBSCRIPTIONS',
  jwksUri: 'JWKS_URI',
} as const satisfies Record<string, keyof Config>;

export type HandlerEnvironment = Partial<Record<keyof Config, string>>;

/**
 * How CodeDeploy shifts a `live` alias to a new version, by the name the context key `deploymentConfig` takes
 * (infra/README.md, "Safe deployments"): a canary sends 10 % of the invocations to the new version for the time
 * named, then the rest; a linear shift adds 10 % every interval named; all at once shifts everything in one step.
 */
export const deploymentConfigs = {
  allatonce: LambdaDeploymentConfig.ALL_AT_ONCE,
  canary10percent5minutes: LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  canary10percent10minutes: LambdaDeploymentConfig.CANARY_10PERCENT_10MINUTES,
  canary10percent15minutes: LambdaDeploymentConfig.CANARY_10PERCENT_15MINUTES,
  canary10percent30minutes: LambdaDeploymentConfig.CANARY_10PERCENT_30MINUTES,
  linear10percentevery1minute: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
  linear10percentevery2minutes: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_2MINUTES,
  linear10percentevery3minutes: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_3MINUTES,
  linear10percentevery10minutes: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_10MINUTES,
} as const satisfies Record<string, ILambdaDeploymentConfig>;

export type DeploymentConfigName = keyof typeof deploymentConfigs;

const deploymentConfigNames = Object.keys(deploymentConfigs) as [DeploymentConfigName, ...DeploymentConfigName[]];

export interface StageSettings {
  stage: Stage;
  /** What deleting the stack does to stateful resources (table, secrets, user pool, queues, logs). */
  removalPolicy: RemovalPolicy;
  /** DynamoDB and Cognito deletion protection. */
  deletionProtection: boolean;
  logRetention: RetentionDays;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** X-Ray active tracing of every function (Powertools Tracer, `shared/tracing.ts`); context `tracing`. */
  tracing: boolean;
  /** `SERVICE_NAME` and `POWERTOOLS_SERVICE_NAME` of every function. */
  serviceName: string;
  /**
   * `POWERTOOLS_METRICS_NAMESPACE`, where the custom metrics and their alarms live. Fixed to the shared
   * constant: handlers may name it in code, so a per-deployment value could split emitters from alarms.
   */
  metricsNamespace: string;
  /** Concurrency set aside for the webhook receiver, so POS traffic can never starve Stripe's deliveries. */
  webhookReservedConcurrency: number;
  /** Default route throttling of the HTTP API's and the WebSocket API's stages (applies to each route separately). */
  apiThrottle: { rateLimit: number; burstLimit: number };
  /** Browser origins allowed by CORS; undefined: no CORS configuration at all. */
  corsOrigins?: string[];
  /** An existing OIDC issuer for POS tokens; undefined: the stack creates a Cognito user pool and app client. */
  externalJwt?: { issuer: string; audience: string[] };
  /** Address subscribed to the alarm topic; undefined: subscribe later (README). */
  alarmEmail?: string;
  /** An HTTPS endpoint subscribed to the alarm topic: a pager's SNS integration URL (PagerDuty, Opsgenie …). */
  alarmWebhookUrl?: string;
  /** A Lambda function subscribed to the alarm topic: a chat forwarder (Slack, Teams …), by its ARN. */
  alarmLambdaArn?: string;
  /** `shared/config.ts` variables set from context (thresholds), given to every function. */
  handlerEnvironment: HandlerEnvironment;
  /** Run cdk-nag's AwsSolutions checks during `cdk synth` (context `nag=true`). */
  nag: boolean;
  /**
   * Indexes of the table left out of this deployment (context `withheldIndexes`): CloudFormation adds at most one
   * global secondary index to an existing table per update, so a stack deployed before several new indexes existed is
   * brought up to date one deployment per index (infra/README.md, "Upgrading a deployed stack").
   */
  withheldIndexes: string[];
  /**
   * How CodeDeploy shifts the `live` alias of the API route functions, the processor and the reconciler to a new
   * version (context `deploymentConfig`; infra/README.md, "Safe deployments").
   */
  deploymentConfig: DeploymentConfigName;
  /**
   * Whether the checkout alarms stop and roll back a deployment (context `deploymentAlarms`, default true). `false`
   * is for one deployment made while a checkout alarm is already in ALARM (a fix, or the previous release), which
   * CodeDeploy would otherwise refuse: a failed deployment still rolls back.
   */
  deploymentAlarms: boolean;
  /**
   * The POS console (`console/`) on CloudFront, signing in at the user pool's Cognito domain (context `console`,
   * default false; infra/README.md, "Console"). Needs the stack's own user pool: not with `jwtIssuer`.
   */
  console: boolean;
  /**
   * The prefix of the console's Cognito domain, `https://{prefix}.auth.{region}.amazoncognito.com` (context
   * `consoleDomainPrefix`); undefined: `{serviceName}-{stage}-{8 hex digits of the stack's id}`.
   */
  consoleDomainPrefix?: string;
}

const stageDefaults: Record<
  Stage,
  Pick<StageSettings, 'removalPolicy' | 'deletionProtection' | 'logRetention' | 'deploymentConfig'>
> = {
  // All at once: a deploy is not held up by traffic shifting, and dev's few requests could not trip the checkout
  // 5xx rate alarm anyway; the deployment groups, the alias updates and the rollbacks are the same as prod's.
  dev: {
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    logRetention: RetentionDays.ONE_WEEK,
    deploymentConfig: 'allatonce',
  },
  // Six months of logs: long enough to answer a cardholder's dispute about a payment from last quarter.
  // A 10 % canary for 5 minutes: one period of the checkout 5xx rate alarm, which a new version failing every
  // request it gets trips on its own (10 % of the requests failing is over the 5 % threshold).
  prod: {
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    logRetention: RetentionDays.SIX_MONTHS,
    deploymentConfig: 'canary10percent5minutes',
  },
};

const list = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean));

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]);

/**
 * A Cognito domain prefix: lowercase letters, digits and inner hyphens, 63 characters at most, without the words
 * Cognito reserves.
 */
const COGNITO_DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const RESERVED_IN_DOMAIN_PREFIX = ['aws', 'amazon', 'cognito'];

/** Why `prefix` cannot be a Cognito domain prefix, or undefined when it can. */
function domainPrefixProblem(prefix: string): string | undefined {
  if (!COGNITO_DOMAIN_PREFIX.test(prefix)) {
    return 'lowercase letters, digits and hyphens (not first or last), at most 63 characters';
  }
  const reserved = RESERVED_IN_DOMAIN_PREFIX.filter((word) => prefix.includes(word));
  return reserved.length > 0 ? `may not contain ${reserved.map((word) => `"${word}"`).join(' or ')}` : undefined;
}

const domainPrefix = z.string().superRefine((prefix, issues) => {
  const problem = domainPrefixProblem(prefix);
  if (problem !== undefined)
    issues.addIssue({ code: 'custom', message: `must be a Cognito domain prefix: ${problem}` });
});

const retentionDays = z.coerce
  .number()
  .refine(
    (days) => Object.values(RetentionDays).includes(days),
    'must be a CloudWatch Logs retention (e.g. 7, 30, 180)',
  )
  .transform((days) => days as RetentionDays);

/**
 * A deployment config by its name in `deploymentConfigs`, in any case and with or without separators or the
 * CodeDeploy prefix: `canary10percent5minutes`, `Canary10Percent5Minutes` and
 * `CodeDeployDefault.LambdaCanary10Percent5Minutes` are the same.
 */
const deploymentConfig = z
  .string()
  .transform((name) =>
    name
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .replace(/^codedeploydefaultlambda/, ''),
  )
  .pipe(z.enum(deploymentConfigNames, { error: `must be one of ${deploymentConfigNames.join(', ')}` }));

const ContextSchema = z.object({
  stage: z.enum(stages).default('dev'),
  logRetentionDays: retentionDays.optional(),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  tracing: flag.default(true),
  serviceName: z.string().min(1).default('terminal-payments'),
  // Lambda keeps at least 10 of the account's concurrency unreserved: lower this on a new account.
  webhookReservedConcurrency: z.coerce.number().int().min(1).default(50),
  apiRateLimit: z.coerce.number().positive().default(50),
  apiBurstLimit: z.coerce.number().int().positive().default(100),
  corsOrigins: list.optional(),
  jwtIssuer: z.url().optional(),
  jwtAudience: list.optional(),
  alarmEmail: z.email().optional(),
  alarmWebhookUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).optional(),
  alarmLambdaArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/, 'must be a Lambda function ARN')
    .optional(),
  nag: flag.default(false),
  withheldIndexes: list.optional(),
  deploymentConfig: deploymentConfig.optional(),
  deploymentAlarms: flag.default(true),
  console: flag.default(false),
  consoleDomainPrefix: domainPrefix.optional(),
});

/**
 * The settings of one deployment, from CDK context read through `context` (e.g. `app.node.tryGetContext`).
 * Throws a message naming every invalid key.
 */
export function stageSettings(context: (key: string) => unknown): StageSettings {
  const raw = Object.fromEntries(
    Object.keys(ContextSchema.shape)
      .map((key) => [key, context(key)])
      .filter(([, value]) => value !== undefined && value !== null),
  );
  const parsed = ContextSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid CDK context: ${problems}`);
  }
  const ctx = parsed.data;
  if ((ctx.jwtIssuer === undefined) !== (ctx.jwtAudience === undefined || ctx.jwtAudience.length === 0)) {
    throw new Error('Invalid CDK context: jwtIssuer and jwtAudience go together (an existing issuer and its audience)');
  }
  // An alarm nobody hears is no alarm: prod has somewhere for every alarm to go.
  if (ctx.stage === 'prod' && !ctx.alarmEmail && !ctx.alarmWebhookUrl && !ctx.alarmLambdaArn) {
    throw new Error(
      'Invalid CDK context: stage prod needs an alarm destination: alarmEmail, alarmWebhookUrl (a pager’s HTTPS ' +
        'endpoint) or alarmLambdaArn (a chat forwarder), e.g. -c alarmEmail=oncall@example.com',
    );
  }
  if (ctx.console && ctx.jwtIssuer !== undefined) {
    throw new Error(
      'Invalid CDK context: console signs in at the Cognito domain of the stack’s own user pool, which jwtIssuer ' +
        'and jwtAudience replace: leave them unset, or leave console off',
    );
  }
  if (ctx.console && ctx.consoleDomainPrefix === undefined) {
    // The default prefix: this part, a hyphen and 8 hex digits of the stack's id.
    const base = `${ctx.serviceName}-${ctx.stage}`;
    const problem = domainPrefixProblem(`${base}-0123abcd`);
    if (problem !== undefined) {
      throw new Error(
        `Invalid CDK context: console: the default Cognito domain prefix ${base}-{8 hex digits} (from serviceName ` +
          `and stage) is not one (${problem}): give consoleDomainPrefix, e.g. -c consoleDomainPrefix=shop-pos-console`,
      );
    }
  }
  const defaults = stageDefaults[ctx.stage];

  return {
    stage: ctx.stage,
    removalPolicy: defaults.removalPolicy,
    deletionProtection: defaults.deletionProtection,
    logRetention: ctx.logRetentionDays ?? defaults.logRetention,
    logLevel: ctx.logLevel,
    tracing: ctx.tracing,
    serviceName: ctx.serviceName,
    metricsNamespace: METRICS_NAMESPACE,
    webhookReservedConcurrency: ctx.webhookReservedConcurrency,
    apiThrottle: { rateLimit: ctx.apiRateLimit, burstLimit: ctx.apiBurstLimit },
    ...(ctx.corsOrigins?.length ? { corsOrigins: ctx.corsOrigins } : {}),
    ...(ctx.jwtIssuer && ctx.jwtAudience ? { externalJwt: { issuer: ctx.jwtIssuer, audience: ctx.jwtAudience } } : {}),
    ...(ctx.alarmEmail ? { alarmEmail: ctx.alarmEmail } : {}),
    ...(ctx.alarmWebhookUrl ? { alarmWebhookUrl: ctx.alarmWebhookUrl } : {}),
    ...(ctx.alarmLambdaArn ? { alarmLambdaArn: ctx.alarmLambdaArn } : {}),
    handlerEnvironment: handlerEnvironment(context),
    nag: ctx.nag,
    withheldIndexes: withheldIndexes(ctx.withheldIndexes ?? []),
    deploymentConfig: ctx.deploymentConfig ?? defaults.deploymentConfig,
    deploymentAlarms: ctx.deploymentAlarms,
    console: ctx.console,
    ...(ctx.consoleDomainPrefix ? { consoleDomainPrefix: ctx.consoleDomainPrefix } : {}),
  };
}

/** The indexes named in `withheldIndexes`, each one the table defines. */
function withheldIndexes(names: string[]): string[] {
  const known: string[] = Object.values(paymentsTable.indexes).map((index) => index.indexName);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(`Invalid CDK context: withheldIndexes: no such index ${unknown.join(', ')} (${known.join(', ')})`);
  }
  return names;
}

/**
 * The thresholds given in context, as `shared/config.ts` variables, checked with the handlers' own rules
 * (a bad value fails `cdk synth`, not the first cold start).
 */
function handlerEnvironment(context: (key: string) => unknown): HandlerEnvironment {
  const environment: HandlerEnvironment = {};
  for (const [key, variable] of Object.entries(handlerTunables)) {
    const value = context(key);
    if (value !== undefined && value !== null) environment[variable] = String(value);
  }
  let config: Config;
  try {
    // TABLE_NAME is the one required variable; the stack sets it, so any value stands in for it here.
    config = parseConfig({ TABLE_NAME: 'payments', ...environment });
  } catch (error) {
    throw new Error(`Invalid CDK context (handler thresholds): ${(error as Error).message}`);
  }
  try {
    checkTimeouts(config);
  } catch (error) {
    throw new Error(`Invalid CDK context (stripeTimeoutMs): ${(error as Error).message}`);
  }
  return environment;
}

/**
 * One Lambda function of the service: an esbuild bundle of one handler entry, its own log group with
 * retention, its own role that starts with nothing but writing to that log group, and the Powertools
 * environment. Everything else a function may do is granted by the stack from its profile.
 *
 * Every change publishes a version, and the alias `live` points at the one in service: whatever invokes the
 * function (API routes, queues, streams, schedules) invokes the alias, so CodeDeploy can shift it from one version to
 * the next and back (infra/README.md, "Safe deployments").
 */
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Alias,
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { functionBundling, functionNodeOptions } from '../bundling.ts';
import type { HandlerProfile } from '../handler-profiles.ts';
import type { HandlerEnvironment, StageSettings } from '../settings.ts';

/** Variables read by Powertools and Node itself, not by `shared/config.ts`. */
interface RuntimeEnvironment {
  POWERTOOLS_SERVICE_NAME: string;
  POWERTOOLS_LOG_LEVEL: string;
  POWERTOOLS_METRICS_NAMESPACE: string;
  POWERTOOLS_TRACE_ENABLED: string;
  NODE_OPTIONS: string;
}

export interface PaymentsFunctionProps {
  /** Repository root: `entry` is resolved against it and its `package-lock.json` pins the bundle. */
  projectRoot: string;
  /** Handler module relative to `projectRoot` (from `shared/routes.ts`); it exports `handler`. */
  entry: string;
  description: string;
  profile: HandlerProfile;
  settings: StageSettings;
  /** `shared/config.ts` variables of this function (table name, secret ARNs, thresholds). */
  environment: HandlerEnvironment;
}

/** The alias every invoker calls: the version in service. */
export const LIVE_ALIAS = 'live';

export class PaymentsFunction extends Construct {
  readonly function: NodejsFunction;
  /**
   * `live`, on the version published from the current code and configuration. Invoke this, grant invoking this;
   * the function itself is for its settings (reserved concurrency) and its metrics (every version's).
   */
  readonly alias: Alias;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PaymentsFunctionProps) {
    super(scope, id);
    const { settings, profile } = props;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    // Its own role rather than AWSLambdaBasicExecutionRole, which may write to every log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (${settings.stage})`,
    });
    this.logGroup.grantWrite(this.role);

    const runtimeEnvironment: RuntimeEnvironment = {
      POWERTOOLS_SERVICE_NAME: settings.serviceName,
      POWERTOOLS_LOG_LEVEL: settings.logLevel,
      POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace,
      POWERTOOLS_TRACE_ENABLED: String(settings.tracing),
      NODE_OPTIONS: functionNodeOptions,
    };

    this.function = new NodejsFunction(this, 'Function', {
      description: props.description,
      entry: join(props.projectRoot, props.entry),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: profile.memoryMb,
      timeout: Duration.seconds(profile.timeoutSeconds),
      ...(profile.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: profile.reservedConcurrency }),
      role: this.role,
      logGroup: this.logGroup,
      // JSON lines from the runtime too (START, REPORT, timeouts), at the stage's level: one format for Logs Insights.
      // Powertools' logger follows the same level (AWS_LAMBDA_LOG_LEVEL) as POWERTOOLS_LOG_LEVEL.
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel[settings.logLevel],
      systemLogLevelV2: SystemLogLevel.INFO,
      // X-Ray: Lambda's segment per invocation, the handler's subsegments from Powertools Tracer (shared/tracing.ts).
      tracing: settings.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: { ...runtimeEnvironment, ...definedValues(props.environment) },
      bundling: functionBundling,
    });
    if (settings.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing grants xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray defines on no ' +
          'resource: "*" is the only resource they take.',
      });
    }
    // A new version whenever the code or the configuration changes (the version's logical id is their hash).
    this.alias = new Alias(this, 'LiveAlias', { aliasName: LIVE_ALIAS, version: this.function.currentVersion });
  }
}

function definedValues(environment: HandlerEnvironment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * The HTTP API: every route of `shared/routes.ts` to its function, POS routes behind the JWT authorizer,
 * Stripe's webhook and the health check without one. Access logs go to a log group in JSON, so a metric
 * filter can count the webhook route's 5xx answers (Stripe retries those, and after days of them disables
 * the endpoint).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../../shared/routes.ts';
import type { StageSettings } from '../settings.ts';

export interface PosApiProps {
  settings: StageSettings;
  routes: readonly RouteDefinition[];
  /** The function serving each route (its `live` alias, which the integration invokes), by route name. */
  functions: ReadonlyMap<string, IFunction>;
  jwtIssuer: string;
  jwtAudience: string[];
  /** Browser origins allowed by CORS (context `corsOrigins`, the console's); none: no CORS configuration at all. */
  corsOrigins?: string[];
}

/**
 * One access log line per request. Numbers stay unquoted so metric filters can compare them; the caller is
 * the token's `sub`, never its claims or the request body.
 */
const accessLogFields = {
  requestId: '"$context.requestId"',
  routeKey: '"$context.routeKey"',
  status: '$context.status',
  responseLatencyMs: '$context.responseLatency',
  integrationLatencyMs: '"$context.integrationLatency"',
  integrationStatus: '"$context.integrationStatus"',
  integrationError: '"$context.integrationErrorMessage"',
  authorizerError: '"$context.authorizer.error"',
  sub: '"$context.authorizer.claims.sub"',
  sourceIp: '"$context.identity.sourceIp"',
  userAgent: '"$context.identity.userAgent"',
  requestTime: '"$context.requestTime"',
};

export class PosApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: PosApiProps) {
    super(scope, id);
    const { settings } = props;

    this.api = new HttpApi(this, 'Api', {
      description: `Stripe Terminal payments for point-of-sale apps (${settings.stage})`,
      // The stage is added below with logging and throttling; the implicit one has neither.
      createDefaultStage: false,
      ...(props.corsOrigins?.length
        ? {
            corsPreflight: {
              allowOrigins: props.corsOrigins,
              // Every method a route answers; the headers a POS sends (refunds and creates carry an Idempotency-Key).
              allowMethods: [...new Set(props.routes.map((route) => CorsHttpMethod[route.method]))],
              allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
              exposeHeaders: ['x-request-id', 'retry-after'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    // The deployment's stage (the API's own stage is `$default`): the dimension of the metrics counted from these
    // lines, so two stages in one account never share an alarm.
    const fields = { ...accessLogFields, stage: JSON.stringify(settings.stage) };
    const format = `{${Object.entries(fields)
      .map(([name, value]) => `"${name}":${value}`)
      .join(',')}}`;
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      // Default route settings apply to each route on its own: a flood on one POS route cannot use up
      // the webhook route's share.
      throttle: settings.apiThrottle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(format),
      },
    });

    const authorizer = new HttpJwtAuthorizer('PosJwtAuthorizer', props.jwtIssuer, {
      authorizerName: 'pos-jwt',
      jwtAudience: props.jwtAudience,
      identitySource: ['$request.header.Authorization'],
    });

    for (const route of props.routes) {
      const handler = props.functions.get(route.name);
      if (handler === undefined) throw new Error(`No function for route ${route.name}`);
      const [apiRoute] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.name}Integration`, handler),
        ...(route.auth === 'jwt' ? { authorizer } : {}),
      });
      if (route.auth === 'none' && apiRoute) {
        Validations.of(apiRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            route.path === '/health'
              ? 'GET /health is a public liveness probe that reads nothing and returns {"status":"ok"}.'
              : "Stripe's webhook deliveries carry no JWT: the handler verifies the Stripe-Signature HMAC over " +
                'the raw body with the endpoint signing secret and rejects anything else with 400.',
        });
      }
    }
  }

  /** The API's base URL (ends with `/`). */
  get url(): string {
    return this.stage.url;
  }
}

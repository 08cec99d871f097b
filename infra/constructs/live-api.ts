/**
 * The live-updates WebSocket API (`shared/live/definition.ts`): `$connect` behind a Lambda authorizer that checks
 * the POS ID token given as `?token=` (browsers cannot set headers on a WebSocket), `$disconnect`, and the client's
 * messages (`subscribe`, `unsubscribe`, `ping`, `$default`) to one function. One stage, deployed on every change,
 * throttled per route and access-logged in JSON like the HTTP API.
 *
 * The functions answer and notify through the stage's connection management API (`@connections`): the stack
 * gives them its URL and `execute-api:ManageConnections` on `POST @connections` of this stage alone.
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MESSAGE_ROUTES, ROUTE_SELECTION_EXPRESSION } from '../../shared/live/definition.ts';
import { nagResourceName } from '../nag.ts';
import type { StageSettings } from '../settings.ts';

/** Where the `$connect` authorizer finds the token: the `token` query parameter. */
export const LIVE_TOKEN_SOURCE = 'route.request.querystring.token';

/** The functions behind the routes (`shared/routes.ts` `liveFunctions`): their `live` aliases, which the routes invoke. */
export interface LiveApiFunctions {
  authorize: IFunction;
  connect: IFunction;
  disconnect: IFunction;
  message: IFunction;
}

/** What the connection management API is called with: post a message to a connection, or close it. */
export type ConnectionMethod = 'POST' | 'DELETE';

/**
 * One access log line per connect, message and disconnect: which connection, which route, the answer, and who
 * (the token's `sub`, as the authorizer passed it; never the token or a message body). Every value is quoted:
 * a value API Gateway does not have for an event is written `-`, and nothing counts from this log.
 */
const accessLogFields = {
  requestId: '"$context.requestId"',
  connectionId: '"$context.connectionId"',
  eventType: '"$context.eventType"',
  routeKey: '"$context.routeKey"',
  status: '"$context.status"',
  integrationLatencyMs: '"$context.integrationLatency"',
  error: '"$context.error.message"',
  authorizerError: '"$context.authorizer.error"',
  sub: '"$context.authorizer.sub"',
  sourceIp: '"$context.identity.sourceIp"',
  userAgent: '"$context.identity.userAgent"',
  requestTime: '"$context.requestTime"',
};

export class LiveApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: { settings: StageSettings }) {
    super(scope, id);
    const { settings } = props;

    this.api = new WebSocketApi(this, 'Api', {
      apiName: `${settings.serviceName}-live-${settings.stage}`,
      description: `Live updates of payments and readers for point-of-sale apps (${settings.stage})`,
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    const format = `{${Object.entries(accessLogFields)
      .map(([name, value]) => `"${name}":${value}`)
      .join(',')}}`;
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: settings.stage,
      autoDeploy: true,
      // Applies to each route on its own, as on the HTTP API: a client flooding `ping` cannot use up `$connect`.
      throttle: settings.apiThrottle,
      // Unlike the HTTP API's, a WebSocket stage logs with the account's API Gateway CloudWatch role
      // (README: "Live updates").
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(format),
      },
    });
  }

  /** Wires each route to its function; `$connect` alone has (and can have) an authorizer. */
  addRoutes(functions: LiveApiFunctions): void {
    const authorizer = new WebSocketLambdaAuthorizer('LiveTokenAuthorizer', functions.authorize, {
      authorizerName: 'live-token',
      identitySource: [LIVE_TOKEN_SOURCE],
    });
    this.api.addRoute('$connect', {
      integration: new WebSocketLambdaIntegration('ConnectIntegration', functions.connect),
      authorizer,
    });
    const unauthorized = [
      this.api.addRoute('$disconnect', {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', functions.disconnect),
      }),
    ];
    const messages = new WebSocketLambdaIntegration('MessageIntegration', functions.message);
    for (const routeKey of MESSAGE_ROUTES) {
      unauthorized.push(this.api.addRoute(routeKey, { integration: messages }));
    }
    for (const route of unauthorized) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'API Gateway authorizes a WebSocket connection once, on $connect (the Lambda authorizer checks the POS ID ' +
          'token); every later frame and the disconnect belong to that authorized connection and cannot carry an ' +
          'authorizer of their own. The handlers act only within the locations the authorizer passed on.',
      });
    }
  }

  /** The URL clients connect to (`wss://…/{stage}`). */
  get url(): string {
    return this.stage.url;
  }

  /** The stage's connection management URL (`https://…/{stage}`), the functions' `LIVE_ENDPOINT`. */
  get callbackUrl(): string {
    return this.stage.callbackUrl;
  }

  /** `execute-api:ManageConnections` resource of one method of this stage's `@connections`, for every connection. */
  connectionsArn(method: ConnectionMethod): string {
    return Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      resourceName: `${this.stage.stageName}/${method}/@connections/*`,
    });
  }

  /**
   * Lets `role` post messages to this stage's connections, and nothing else of the management API: not
   * grantManageConnections, which allows every method (DELETE closes a connection) on every stage.
   */
  grantPostToConnections(role: IRole): void {
    const connections = this.connectionsArn('POST');
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connections] }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResourceName(Stack.of(this), connections)}]`,
      reason:
        'Posting to live-updates connections: POST on @connections of this one WebSocket stage, for any connection ' +
        'id (clients open connections at run time, so their ids cannot be named in the policy).',
    });
  }
}

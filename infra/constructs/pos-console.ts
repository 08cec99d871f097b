/**
 * The POS console (`console/`) on AWS, with context `console=true`: its three static files and its `config.json` in a
 * private S3 bucket, served by CloudFront at `https://{distribution domain}/console/`, and signing in at the user
 * pool's Cognito domain (the Hosted UI) with its own app client: the authorization code grant with PKCE, whose
 * redirect and sign-out URL is the console's. The console sends the ID token to the POS API and to live updates, as
 * the POS app does; the stack adds this client to the audiences both authorizers accept and the console's origin to
 * the HTTP API's CORS origins.
 *
 * Built in two steps, for the order of the references: the constructor makes the bucket, the distribution, the app
 * client and the domain (the client names the distribution's URL, the HTTP API's CORS the distribution's origin);
 * `deploy` writes the files and the `config.json` naming the HTTP API, once it exists, and the page's own content
 * security policy, which names the HTTP API where the distribution's cannot.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Acknowledgment, Aws, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  FunctionCode,
  FunctionEventType,
  Function as FunctionOnViewerRequest,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import {
  type CfnUserPoolClient,
  type IUserPool,
  ManagedLoginVersion,
  OAuthScope,
  UserPoolClient,
  UserPoolClientIdentityProvider,
  UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { type Policy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { buildConsoleAssets } from '../console-build.ts';
import { nagResourceName } from '../nag.ts';
import type { StageSettings } from '../settings.ts';
import { STAFF_CLIENT_TOKENS } from './pos-identity.ts';

/** Where the console is served: the S3 keys of its files start with it (without the leading slash). */
export const CONSOLE_PATH = '/console/';

/** The scopes the console asks the Hosted UI for. */
export const CONSOLE_SCOPES = ['openid', 'email', 'profile'] as const;

/**
 * The CloudFront Function on every viewer request: `/console/` is the console's page (`console/index.html`, the query
 * kept: the Hosted UI redirects there with `?code=…&state=…`), and `/` and `/console` redirect to `/console/`, where
 * the page's relative links (`console.css`, `console.js`, `config.json`) resolve. Any other path is the S3 key it names.
 */
export const VIEWER_REQUEST_CODE = `function handler(event) {
  var request = event.request;
  if (request.uri === '${CONSOLE_PATH}') {
    request.uri = '${CONSOLE_PATH}index.html';
    return request;
  }
  if (request.uri === '/' || request.uri === '${CONSOLE_PATH.replace(/\/$/, '')}') {
    return {
      statusCode: 302,
      statusDescription: 'Found',
      headers: { location: { value: '${CONSOLE_PATH}' }, 'cache-control': { value: 'no-cache' } },
    };
  }
  return request;
}
`;

/** What `config.json` tells the console (the console reads it at start). */
export interface ConsoleConfig {
  /** The POS HTTP API's base URL, without a trailing slash. */
  apiUrl: string;
  /** The live-updates WebSocket stage URL (`wss://…/{stage}`). */
  liveUrl: string;
  signIn: { kind: 'cognito'; domain: string; clientId: string; scopes: string[] };
}

export interface PosConsoleProps {
  settings: StageSettings;
  /** The stack's user pool: the console's app client and Cognito domain are its. */
  userPool: IUserPool;
  /**
   * The live-updates WebSocket API's endpoint (`wss://{api id}.execute-api.{region}.{suffix}`), which the page may
   * connect to.
   */
  liveApiEndpoint: string;
}

export class PosConsole extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly viewerRequest: FunctionOnViewerRequest;
  readonly responseHeaders: ResponseHeadersPolicy;
  readonly client: UserPoolClient;
  readonly domain: UserPoolDomain;
  /** The files and `config.json`, once `deploy` has been called. */
  deployment?: BucketDeployment;
  private readonly settings: StageSettings;
  private readonly liveApiEndpoint: string;

  constructor(scope: Construct, id: string, props: PosConsoleProps) {
    super(scope, id);
    const { settings } = props;
    this.settings = settings;
    this.liveApiEndpoint = props.liveApiEndpoint;
    const { region, urlSuffix } = Stack.of(this);

    this.bucket = new Bucket(this, 'Files', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: settings.removalPolicy,
      // A stack that is deleted with its data empties the bucket first: CloudFormation cannot delete a bucket with files.
      autoDeleteObjects: settings.removalPolicy === RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds the console’s three static files and its config.json, written only by the stack’s ' +
        'deployment and read only by the CloudFront distribution (origin access control); no request acts on ' +
        'data through it. The POS API’s access log records every call the console makes.',
    });

    // Prefix domains are global per region: the stack's own id keeps two deployments' defaults apart.
    const domainPrefix =
      settings.consoleDomainPrefix ??
      Fn.join('-', [
        settings.serviceName,
        settings.stage,
        Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID)))),
      ]);
    this.domain = new UserPoolDomain(this, 'SignInDomain', {
      userPool: props.userPool,
      cognitoDomain: { domainPrefix },
      // The Hosted UI as Cognito has long served it: managed login (version 2) needs a branding resource per client.
      managedLoginVersion: ManagedLoginVersion.CLASSIC_HOSTED_UI,
    });
    const signInDomain = this.signInDomain;

    // The HTTP API's own id cannot be named here: its CORS names this distribution's origin, which would be a
    // dependency cycle. Here it is one of the region's API Gateway hosts; the page's own policy (`deploy`) names it
    // exactly, and a browser enforces both.
    const contentSecurityPolicy = consoleContentSecurityPolicy({
      connectSources: [`https://*.execute-api.${region}.${urlSuffix}`, props.liveApiEndpoint],
      signInDomain,
    });
    this.responseHeaders = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      // Names are unique per account: the region tells the same stack in two regions apart.
      responseHeadersPolicyName: `${settings.serviceName}-console-${settings.stage}-${region}`,
      comment: `POS console (${settings.stage}): security headers`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365 * 2),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        // The page's URL carries the Hosted UI's authorization code until the console has exchanged it.
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    this.viewerRequest = new FunctionOnViewerRequest(this, 'ViewerRequest', {
      comment: 'POS console: / and /console redirect to /console/, which is console/index.html',
      code: FunctionCode.fromInline(VIEWER_REQUEST_CODE),
      runtime: FunctionRuntime.JS_2_0,
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `POS console (${settings.stage})`,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        // Honours the files' Cache-Control (no-cache: revalidated on every use) and compresses them.
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        compress: true,
        responseHeadersPolicy: this.responseHeaders,
        functionAssociations: [{ function: this.viewerRequest, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
    });
    this.acknowledgeDistribution(this.distribution);

    this.client = new UserPoolClient(this, 'AppClient', {
      userPool: props.userPool,
      // A page in a browser cannot keep a secret: PKCE (S256) binds the code to the page that asked for it.
      generateSecret: false,
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [this.url],
        logoutUrls: [this.url],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      ...STAFF_CLIENT_TOKENS,
    });
    // Sign-in happens at the Hosted UI only: of the API's own flows the client allows the refresh of its tokens.
    (this.client.node.defaultChild as CfnUserPoolClient).explicitAuthFlows = ['ALLOW_REFRESH_TOKEN_AUTH'];
  }

  /** The console's origin, `https://{distribution domain}`: the one the HTTP API's CORS must allow. */
  get origin(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /** The console's URL, `https://{distribution domain}/console/`: also its sign-in redirect and sign-out URL. */
  get url(): string {
    return `${this.origin}${CONSOLE_PATH}`;
  }

  /** The Hosted UI's base URL, `https://{prefix}.auth.{region}.amazoncognito.com`. */
  get signInDomain(): string {
    return this.domain.baseUrl();
  }

  /**
   * Builds the console (`buildConsoleAssets`) and deploys its files and `config.json` under `console/`; `index.html`
   * gains a `<meta>` content security policy whose `connect-src` names the HTTP API itself, filled in at deployment
   * like `config.json`. Every file is served `Cache-Control: no-cache`: the names stay the same from release to
   * release, so a browser revalidates each one (a 304 while unchanged) and a deployment shows at the next reload.
   */
  deploy(urls: { apiUrl: string; liveUrl: string }): BucketDeployment {
    const config: ConsoleConfig = {
      apiUrl: urls.apiUrl,
      liveUrl: urls.liveUrl,
      signIn: {
        kind: 'cognito',
        domain: this.signInDomain,
        clientId: this.client.userPoolClientId,
        scopes: [...CONSOLE_SCOPES],
      },
    };
    const logGroup = new LogGroup(this, 'DeploymentLogs', {
      retention: this.settings.logRetention,
      removalPolicy: this.settings.removalPolicy,
    });
    // Its own role rather than AWSLambdaBasicExecutionRole, which may write to every log group.
    const role = new Role(this, 'DeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Deploys the POS console's files (${this.settings.stage})`,
    });
    logGroup.grantWrite(role);
    const built = mkdtempSync(join(tmpdir(), 'pos-console-'));
    let deployment: BucketDeployment;
    try {
      buildConsoleAssets(built);
      const page = withConnectPolicy(
        readFileSync(join(built, 'index.html'), 'utf8'),
        `'self' ${urls.apiUrl} ${this.liveApiEndpoint} ${this.signInDomain}`,
      );
      // Staging copies the files into the cloud assembly here, so the build directory can go right after.
      deployment = new BucketDeployment(this, 'Deployment', {
        destinationBucket: this.bucket,
        destinationKeyPrefix: CONSOLE_PATH.slice(1),
        sources: [
          Source.asset(built, { exclude: ['index.html'] }),
          Source.data('index.html', page),
          Source.jsonData('config.json', config),
        ],
        cacheControl: [CacheControl.noCache()],
        role,
        logGroup,
      });
    } finally {
      rmSync(built, { recursive: true, force: true });
    }
    this.deployment = deployment;
    this.acknowledgeDeploymentHandler(role);
    return deployment;
  }

  /** What cdk-nag finds in a distribution without a custom domain of its own, and why each is so. */
  private acknowledgeDistribution(distribution: Distribution): void {
    Validations.of(distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'No geo restriction: staff sign in from wherever the shops are, and the distribution serves only the ' +
          'console’s static files and config.json; who may act is decided by Cognito sign-in and the API’s authorizer.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF web ACL: the distribution serves three static files and config.json from S3 and forwards nothing ' +
          'to an application; a web ACL for CloudFront lives in us-east-1, and this stack deploys to any region.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'No CloudFront access log: the requests are for the console’s public static files only; every call that ' +
          'reads or changes data goes to the POS API, whose access log records it with the caller.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution has no custom domain, so viewers reach it at its *.cloudfront.net name with CloudFront’s ' +
          'default certificate, whose security policy cannot be chosen; HTTP redirects to HTTPS and HSTS is sent.',
      },
    );
  }

  /**
   * What cdk-nag finds in `BucketDeployment`'s provider function (one per stack, made by CDK with its own code) and in
   * the grants the construct gives `role`, and why each is so.
   */
  private acknowledgeDeploymentHandler(role: Role): void {
    const stack = Stack.of(this);
    const handler = stack.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handler === undefined) throw new Error('BucketDeployment made no provider function');
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The provider function of aws-s3-deployment’s BucketDeployment: CDK ships its code with the Python runtime it ' +
        'is written for, so the runtime moves with the aws-cdk-lib version, not with this stack.',
    });
    const acknowledgments: Acknowledgment[] = BUCKET_DEPLOYMENT_ACTIONS.map((action) => ({
      id: `AwsSolutions-IAM5[Action::s3:${action}]`,
      reason:
        `BucketDeployment grants s3:${action} (grantRead on its sources, grantReadWrite on the destination) to the ` +
        'function that copies the staged files into the console’s bucket and deletes the ones a release no longer ' +
        'has; the resources are the stack’s asset bucket and the console’s bucket alone.',
    }));
    const consoleObjects = `${nagResourceName(stack, this.bucket.bucketArn)}/*`;
    const policy = role.node.tryFindChild('DefaultPolicy') as Policy | undefined;
    const statements = (stack.resolve(policy?.document.toJSON()) as { Statement?: { Resource: unknown }[] })?.Statement;
    const resources = new Set(
      (statements ?? []).flatMap((statement) =>
        [statement.Resource].flat().map((resource) => nagResourceName(stack, resource)),
      ),
    );
    for (const resource of resources) {
      if (resource === consoleObjects) {
        acknowledgments.push({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason:
            'Every object of the console’s bucket: a deployment writes the files of the release and config.json and ' +
            'deletes the files the release no longer has, whatever their names; the bucket holds nothing else.',
        });
      } else if (resource.includes('-assets-') && resource.endsWith('/*')) {
        acknowledgments.push({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason:
            'The objects of the CDK bootstrap asset bucket, read by BucketDeployment: the staged console files and ' +
            'config.json are zip files named by their content hash, so the keys change with every release.',
        });
      }
    }
    Validations.of(role).acknowledge(...acknowledgments);
  }
}

/**
 * The content security policy the console is served with: its own files only, connections to its origin, the
 * `connectSources` (the API, the live updates) and the Hosted UI (the token exchange), no framing, forms only to the
 * Hosted UI. The browser tests run the deployed build under it.
 */
export function consoleContentSecurityPolicy(sources: { connectSources: string[]; signInDomain: string }): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${[...sources.connectSources, sources.signInDomain].join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    `form-action 'self' ${sources.signInDomain}`,
  ].join('; ');
}

/**
 * `html` with a `<meta http-equiv="Content-Security-Policy">` allowing connections to `sources` only, right after its
 * `<meta charset>` (or its `<head>`), so it applies to every script the page loads.
 */
export function withConnectPolicy(html: string, sources: string): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="connect-src ${sources}" />`;
  const anchor = /<meta\s+charset=[^>]*>/i.exec(html) ?? /<head(\s[^>]*)?>/i.exec(html);
  if (anchor === null) throw new Error('console/index.html has no <head>: the content security policy goes in it');
  const at = anchor.index + anchor[0].length;
  return `${html.slice(0, at)}\n    ${meta}${html.slice(at)}`;
}

/** The wildcard S3 actions `BucketDeployment` grants its provider function's role. */
const BUCKET_DEPLOYMENT_ACTIONS = ['GetBucket*', 'GetObject*', 'List*', 'DeleteObject*', 'Abort*'] as const;

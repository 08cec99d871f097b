/**
 * The POS console on AWS (context `console`, `infra/constructs/pos-console.ts`): its private bucket behind CloudFront,
 * the viewer-request function and the security headers, the Hosted UI's app client and domain, the HTTP API's CORS and
 * both authorizers accepting the console's ID tokens, the `config.json` the deployment writes, the outputs, the build
 * of the console's files, and cdk-nag. Function bundles are not built here (`payments-stack.test.ts` checks them).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsoleAssets, CONSOLE_SOURCE_DIR } from '../../infra/console-build.ts';
import { VIEWER_REQUEST_CODE, withConnectPolicy } from '../../infra/constructs/pos-console.ts';
import { stageSettings } from '../../infra/settings.ts';
import { liveFunctions } from '../../shared/routes.ts';
import { logicalId, removeCloudAssembly, roleGrants, type Synthesized, synthesize } from './synth.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

const run = promisify(execFile);
const noBundling = { 'aws:cdk:bundling-stacks': [] };

let dev: Synthesized;
let prod: Synthesized;
let off: Synthesized;

beforeAll(() => {
  dev = synthesize({ stage: 'dev', console: 'true', ...noBundling });
  prod = synthesize({
    stage: 'prod',
    alarmEmail: 'oncall@example.com',
    console: true,
    consoleDomainPrefix: 'shop-pos-console',
    corsOrigins: 'https://pos.example.com',
    ...noBundling,
  });
  off = synthesize({ stage: 'dev', ...noBundling });
}, 240_000);

afterAll(() => removeCloudAssembly());

const resourcesOf = (template: Template): Resources => template.toJSON().Resources as Resources;
const ref = (id: string) => ({ Ref: id });
const consoleOf = (synth: Synthesized) => {
  const posConsole = synth.stack.posConsole;
  if (posConsole === undefined) throw new Error('the stack has no console');
  return posConsole;
};
const idOf = (synth: Synthesized, part: 'bucket' | 'distribution' | 'client' | 'domain' | 'viewerRequest') =>
  logicalId(synth.stack, consoleOf(synth)[part]);
const propertiesOf = (synth: Synthesized, id: string) => resourcesOf(synth.template)[id]?.Properties ?? {};
const ofType = (synth: Synthesized, type: string) =>
  Object.entries(resourcesOf(synth.template)).filter(([, resource]) => resource.Type === type);
/** `https://{distribution domain}{path}`, as the template writes it. */
const distributionUrl = (synth: Synthesized, path: string) => ({
  'Fn::Join': [
    '',
    ['https://', { 'Fn::GetAtt': [idOf(synth, 'distribution'), 'DomainName'] }, ...(path === '' ? [] : [path])],
  ],
});

/**
 * A template value as one string: `${LogicalId}` for a Ref, `${LogicalId.Attribute}` for a GetAtt, an Fn::Join's
 * parts joined, an Fn::Sub's string as written.
 */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const fn = value as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
  if (fn.Ref !== undefined) return `\${${fn.Ref}}`;
  if (fn['Fn::GetAtt'] !== undefined) return `\${${fn['Fn::GetAtt'].join('.')}}`;
  if (fn['Fn::Join'] !== undefined) return fn['Fn::Join'][1].map(flat).join(fn['Fn::Join'][0]);
  return JSON.stringify(value);
}

/** The Hosted UI's base URL of `synth`'s console, flattened. */
const signInDomain = (synth: Synthesized) =>
  `https://\${${idOf(synth, 'domain')}}.auth.\${AWS::Region}.amazoncognito.com`;

describe('the console’s bucket', () => {
  it('is private, encrypted, TLS only, and read by the distribution alone, through origin access control', () => {
    // Prepare
    const bucketId = idOf(dev, 'bucket');
    const [[, policy] = []] = ofType(dev, 'AWS::S3::BucketPolicy').filter(
      ([, resource]) => JSON.stringify(resource.Properties.Bucket) === JSON.stringify(ref(bucketId)),
    );
    const statements =
      (policy?.Properties.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)?.Statement ?? [];
    const distribution = propertiesOf(dev, idOf(dev, 'distribution')).DistributionConfig as {
      Origins: Record<string, unknown>[];
    };

    // Assess
    expect(propertiesOf(dev, bucketId)).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const reads = statements.filter((statement) => statement.Effect === 'Allow' && statement.Action === 's3:GetObject');
    expect(reads).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
        Condition: {
          StringEquals: {
            'AWS:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  ref('AWS::Partition'),
                  ':cloudfront::',
                  ref('AWS::AccountId'),
                  ':distribution/',
                  ref(idOf(dev, 'distribution')),
                ],
              ],
            },
          },
        },
      },
    ]);
    // Nothing else is allowed to anyone outside the account.
    for (const statement of statements.filter((candidate) => candidate.Effect === 'Allow')) {
      expect(JSON.stringify(statement.Principal)).not.toBe('{"AWS":"*"}');
    }
    const [oac] = ofType(dev, 'AWS::CloudFront::OriginAccessControl');
    expect(oac?.[1].Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    expect(distribution.Origins).toEqual([
      expect.objectContaining({
        DomainName: { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] },
        OriginAccessControlId: { 'Fn::GetAtt': [oac?.[0], 'Id'] },
        S3OriginConfig: { OriginAccessIdentity: '' },
      }),
    ]);
  });

  it('is emptied and deleted with a dev stack, and kept with a prod stack', () => {
    // Assess
    expect(resourcesOf(dev.template)[idOf(dev, 'bucket')]).toMatchObject({ DeletionPolicy: 'Delete' });
    expect(ofType(dev, 'Custom::S3AutoDeleteObjects')).toHaveLength(1);
    expect(resourcesOf(prod.template)[idOf(prod, 'bucket')]).toMatchObject({ DeletionPolicy: 'Retain' });
    expect(ofType(prod, 'Custom::S3AutoDeleteObjects')).toEqual([]);
  });
});

describe('the console’s distribution', () => {
  it('serves HTTPS only, through the viewer-request function and the security headers, at price class 100', () => {
    // Prepare
    const config = propertiesOf(dev, idOf(dev, 'distribution')).DistributionConfig as Record<string, unknown>;
    const [[headersId] = []] = ofType(dev, 'AWS::CloudFront::ResponseHeadersPolicy');

    // Assess
    expect(config).toMatchObject({
      Enabled: true,
      PriceClass: 'PriceClass_100',
      HttpVersion: 'http2and3',
      DefaultCacheBehavior: {
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
        Compress: true,
        // CachingOptimized: it follows the files' Cache-Control.
        CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
        ResponseHeadersPolicyId: ref(headersId as string),
        FunctionAssociations: [
          {
            EventType: 'viewer-request',
            FunctionARN: { 'Fn::GetAtt': [idOf(dev, 'viewerRequest'), 'FunctionARN'] },
          },
        ],
      },
    });
    expect(config.CacheBehaviors).toBeUndefined();
    expect(propertiesOf(dev, idOf(dev, 'viewerRequest'))).toMatchObject({
      AutoPublish: true,
      FunctionCode: VIEWER_REQUEST_CODE,
      FunctionConfig: { Runtime: 'cloudfront-js-2.0' },
    });
  });

  it('sends HSTS, nosniff, DENY, no referrer, and a content security policy naming what the console talks to', () => {
    // Prepare
    const [[, policy] = []] = ofType(dev, 'AWS::CloudFront::ResponseHeadersPolicy');
    const config = policy?.Properties.ResponseHeadersPolicyConfig as
      | { SecurityHeadersConfig: { ContentSecurityPolicy: { ContentSecurityPolicy: unknown } } }
      | undefined;
    const security = config?.SecurityHeadersConfig;
    const liveApiId = logicalId(dev.stack, dev.stack.liveApi.api);

    // Assess
    expect(security).toMatchObject({
      StrictTransportSecurity: { AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      ContentSecurityPolicy: { Override: true },
    });
    expect(flat(security?.ContentSecurityPolicy.ContentSecurityPolicy)).toBe(
      [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        `connect-src 'self' https://*.execute-api.\${AWS::Region}.\${AWS::URLSuffix} \${${liveApiId}.ApiEndpoint} ${signInDomain(dev)}`,
        "frame-ancestors 'none'",
        "base-uri 'self'",
        `form-action 'self' ${signInDomain(dev)}`,
      ].join('; '),
    );
  });

  it.each([
    ['/console/', { uri: '/console/index.html' }],
    ['/console/?code=abc&state=xyz', { uri: '/console/index.html', querystring: { code: { value: 'abc' } } }],
    ['/', { statusCode: 302, headers: { location: { value: '/console/' } } }],
    ['/console', { statusCode: 302, headers: { location: { value: '/console/' } } }],
    ['/console/console.js', { uri: '/console/console.js' }],
    ['/console/config.json', { uri: '/console/config.json' }],
  ])('answers a viewer’s request for %s', (path, expected) => {
    // Prepare
    const handler = new Function(`${VIEWER_REQUEST_CODE}\nreturn handler;`)() as (event: unknown) => unknown;
    const [uri = '', query = ''] = path.split('?');
    const querystring = Object.fromEntries(
      [...new URLSearchParams(query)].map(([name, value]) => [name, { value }] as const),
    );

    // Act
    const answer = handler({ version: '1.0', request: { method: 'GET', uri, querystring, headers: {} } });

    // Assess
    expect(answer).toMatchObject(expected);
  });
});

describe('the Hosted UI', () => {
  it('has an app client for the console: public, authorization code grant only, redirecting to the console', () => {
    // Prepare
    const client = propertiesOf(dev, idOf(dev, 'client'));
    const posApp = propertiesOf(dev, logicalId(dev.stack, dev.stack.identity.client!));
    const tokensAndAttributes = [
      'IdTokenValidity',
      'AccessTokenValidity',
      'RefreshTokenValidity',
      'TokenValidityUnits',
      'EnableTokenRevocation',
      'ReadAttributes',
      'WriteAttributes',
    ];

    // Assess
    expect(client).toMatchObject({
      UserPoolId: ref(logicalId(dev.stack, dev.stack.identity.userPool!)),
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: [distributionUrl(dev, '/console/')],
      LogoutURLs: [distributionUrl(dev, '/console/')],
      SupportedIdentityProviders: ['COGNITO'],
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      PreventUserExistenceErrors: 'ENABLED',
    });
    for (const key of tokensAndAttributes) expect(client[key], key).toEqual(posApp[key]);
    expect(client.ReadAttributes).toContain('custom:locations');
    expect(client.WriteAttributes).toEqual(['name']);
  });

  it('is at a Cognito domain of the pool: the stack id’s digits by default, the prefix given otherwise', () => {
    // Assess
    expect(propertiesOf(dev, idOf(dev, 'domain'))).toEqual({
      UserPoolId: ref(logicalId(dev.stack, dev.stack.identity.userPool!)),
      ManagedLoginVersion: 1,
      Domain: {
        'Fn::Join': [
          '-',
          [
            'terminal-payments-dev',
            {
              'Fn::Select': [
                0,
                { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', ref('AWS::StackId')] }] }] },
              ],
            },
          ],
        ],
      },
    });
    expect(propertiesOf(prod, idOf(prod, 'domain'))).toMatchObject({ Domain: 'shop-pos-console' });
    expect(ofType(dev, 'AWS::Cognito::UserPoolDomain')).toHaveLength(1);
  });
});

describe('the POS API and live updates', () => {
  const httpApiOf = (synth: Synthesized) => propertiesOf(synth, logicalId(synth.stack, synth.stack.api.api));

  it('allow the console’s origin by CORS, beside the origins given in context', () => {
    // Assess
    expect(httpApiOf(dev).CorsConfiguration).toMatchObject({
      AllowOrigins: [distributionUrl(dev, '')],
      AllowHeaders: ['authorization', 'content-type', 'idempotency-key'],
    });
    expect([...(httpApiOf(dev).CorsConfiguration as { AllowMethods: string[] }).AllowMethods].sort()).toEqual([
      'DELETE',
      'GET',
      'PATCH',
      'POST',
      'PUT',
    ]);
    expect(httpApiOf(prod).CorsConfiguration).toMatchObject({
      AllowOrigins: ['https://pos.example.com', distributionUrl(prod, '')],
    });
    expect(httpApiOf(off).CorsConfiguration).toBeUndefined();
  });

  it('accept ID tokens of the POS app client and of the console’s, at the JWT authorizer and at $connect', () => {
    // Prepare
    const posApp = ref(logicalId(dev.stack, dev.stack.identity.client!));
    const consoleClient = ref(idOf(dev, 'client'));
    const authorize = dev.stack.functionNamed(liveFunctions.authorize.name);
    const variables = (
      propertiesOf(dev, logicalId(dev.stack, authorize.function)).Environment as { Variables: Record<string, unknown> }
    ).Variables;

    // Assess
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: Match.objectLike({ Audience: [posApp, consoleClient] }),
    });
    expect(flat(variables.JWT_AUDIENCE)).toBe(`\${${posApp.Ref}},\${${consoleClient.Ref}}`);
  });
});

describe('the console’s files', () => {
  const deploymentOf = (synth: Synthesized) => {
    const [[, deployment] = []] = ofType(synth, 'Custom::CDKBucketDeployment');
    if (deployment === undefined) throw new Error('no BucketDeployment');
    return deployment.Properties as {
      SourceObjectKeys: string[];
      SourceMarkers: Record<string, unknown>[];
      SourceMarkersConfig?: Record<string, unknown>[];
      [key: string]: unknown;
    };
  };
  /** The staged directory of the deployment's source `index` in the cloud assembly. */
  const stagedSource = (synth: Synthesized, index: number) =>
    join(synth.app.outdir, `asset.${deploymentOf(synth).SourceObjectKeys[index]?.replace(/\.zip$/, '')}`);
  /** A staged file of source `index`, with the values the deployment fills in written as `flat` writes them. */
  const stagedText = (synth: Synthesized, index: number, name: string) => {
    let text = readFileSync(join(stagedSource(synth, index), name), 'utf8');
    for (const [marker, value] of Object.entries(deploymentOf(synth).SourceMarkers[index] ?? {})) {
      text = text.replaceAll(marker, flat(value));
    }
    return text;
  };

  it('are deployed under console/ with Cache-Control no-cache, pruning what a release no longer has', () => {
    // Prepare
    const deployment = deploymentOf(dev);

    // Assess
    expect(deployment).toMatchObject({
      DestinationBucketName: ref(idOf(dev, 'bucket')),
      DestinationBucketKeyPrefix: 'console/',
      Prune: true,
      SystemMetadata: { 'cache-control': 'no-cache' },
    });
    expect(deployment.SourceObjectKeys).toHaveLength(3);
    expect(readdirSync(stagedSource(dev, 0)).sort()).toEqual(['console.css', 'console.js']);
    expect(readdirSync(stagedSource(dev, 1))).toEqual(['index.html']);
  });

  it('give the page a content security policy of its own that names the HTTP API itself', () => {
    // Prepare
    const page = stagedText(dev, 1, 'index.html');
    const apiId = logicalId(dev.stack, dev.stack.api.api);
    const liveApiId = logicalId(dev.stack, dev.stack.liveApi.api);
    const meta =
      '<meta http-equiv="Content-Security-Policy" content="connect-src ' +
      `'self' \${${apiId}.ApiEndpoint} \${${liveApiId}.ApiEndpoint} ${signInDomain(dev)}" />`;

    // Assess
    expect(page).toContain(`<meta charset="utf-8" />\n    ${meta}\n`);
    expect(page.indexOf(meta)).toBeLessThan(page.indexOf('<script'));
    expect(page.replace(`\n    ${meta}`, '')).toBe(readFileSync(join(CONSOLE_SOURCE_DIR, 'index.html'), 'utf8'));
  });

  it('include config.json naming the API, live updates and the Hosted UI, filled in at deployment', () => {
    // Prepare
    const deployment = deploymentOf(dev);
    const text = stagedText(dev, 2, 'config.json');
    const liveApiId = logicalId(dev.stack, dev.stack.liveApi.api);
    const outputs = dev.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(readdirSync(stagedSource(dev, 2))).toEqual(['config.json']);
    expect(JSON.parse(text).liveUrl).toBe(flat(outputs.LiveUrl?.Value));
    expect(deployment.SourceMarkersConfig?.[2]).toEqual({ jsonEscape: true });
    expect(JSON.parse(text)).toEqual({
      apiUrl: `\${${logicalId(dev.stack, dev.stack.api.api)}.ApiEndpoint}`,
      liveUrl: `wss://\${${liveApiId}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/dev`,
      signIn: {
        kind: 'cognito',
        domain: signInDomain(dev),
        clientId: `\${${idOf(dev, 'client')}}`,
        scopes: ['openid', 'email', 'profile'],
      },
    });
  });

  it('are written by a role of their own: logs to its log group, reads of the staged files, the console’s bucket', () => {
    // Prepare
    const role = consoleOf(dev).node.findChild('DeploymentRole');
    const { statements, managedPolicies } = roleGrants(dev.template, logicalId(dev.stack, role));
    const logGroup = logicalId(dev.stack, consoleOf(dev).node.findChild('DeploymentLogs'));
    const bucketArn = { 'Fn::GetAtt': [idOf(dev, 'bucket'), 'Arn'] };

    // Assess
    expect(managedPolicies).toEqual([]);
    expect(statements).toHaveLength(3);
    expect(statements[0]).toEqual({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
    });
    expect(JSON.stringify(statements[1]?.Resource)).toContain('-assets-');
    expect(statements[1]?.Action).toEqual(['s3:GetBucket*', 's3:GetObject*', 's3:List*']);
    expect(statements[2]?.Resource).toEqual([bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }]);
  });
});

describe('the page’s own content security policy', () => {
  it('goes right after the page’s <meta charset>, or else right after its <head>', () => {
    // Prepare
    const meta = '<meta http-equiv="Content-Security-Policy" content="connect-src \'self\' https://api" />';

    // Act
    const afterCharset = withConnectPolicy('<html><head><meta charset="utf-8"><title>x</title>', "'self' https://api");
    const afterHead = withConnectPolicy('<html><HEAD lang="en"><title>x</title>', "'self' https://api");

    // Assess
    expect(afterCharset).toBe(`<html><head><meta charset="utf-8">\n    ${meta}<title>x</title>`);
    expect(afterHead).toBe(`<html><HEAD lang="en">\n    ${meta}<title>x</title>`);
    expect(() => withConnectPolicy('<p>no head</p>', "'self'")).toThrow(/has no <head>/);
  });
});

describe('the console’s build', () => {
  let outDir: string;

  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'console-build-test-'));
    buildConsoleAssets(outDir);
  });

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('writes the page and the stylesheet as they are, and the bundled script', () => {
    // Assess
    expect(readdirSync(outDir).sort()).toEqual(['console.css', 'console.js', 'index.html']);
    for (const name of ['index.html', 'console.css']) {
      expect(readFileSync(join(outDir, name))).toEqual(readFileSync(join(CONSOLE_SOURCE_DIR, name)));
    }
  });

  it('bundles console.js into one minified ES module that imports nothing', async () => {
    // Prepare
    const script = readFileSync(join(outDir, 'console.js'), 'utf8');
    const [unminified] = buildSync({
      entryPoints: [join(CONSOLE_SOURCE_DIR, 'main.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      write: false,
      logLevel: 'silent',
    }).outputFiles;
    const asModule = join(outDir, 'check.mjs');
    writeFileSync(asModule, script);

    // Act
    const checked = await run(process.execPath, ['--check', asModule]).catch((error: { stderr: string }) => error);

    // Assess
    expect(checked.stderr).toBe('');
    expect(script.length).toBeLessThan((unminified?.text.length ?? 0) * 0.7);
    // esbuild's ES module output: no IIFE wrapper, no import left to resolve, no source map.
    expect(script).not.toMatch(/^\s*\(\(\)\s*=>/);
    expect(script).not.toMatch(/\bimport\s*[{*\w].*\bfrom\s*["']/);
    expect(script).not.toContain('sourceMappingURL');
    rmSync(asModule);
  });
});

describe('the console context', () => {
  const contextOf =
    (values: Record<string, unknown>) =>
    (key: string): unknown =>
      values[key];

  it('is off by default and leaves the template without any of the console’s resources or outputs', () => {
    // Prepare
    const types = Object.values(resourcesOf(off.template)).map((resource) => resource.Type);

    // Assess
    expect(stageSettings(contextOf({})).console).toBe(false);
    expect(off.stack.posConsole).toBeUndefined();
    for (const type of [
      'AWS::S3::Bucket',
      'AWS::S3::BucketPolicy',
      'AWS::CloudFront::Distribution',
      'AWS::CloudFront::Function',
      'AWS::CloudFront::ResponseHeadersPolicy',
      'AWS::CloudFront::OriginAccessControl',
      'AWS::Cognito::UserPoolDomain',
      'Custom::CDKBucketDeployment',
      'Custom::S3AutoDeleteObjects',
    ]) {
      expect(types, type).not.toContain(type);
    }
    expect(ofType(off, 'AWS::Cognito::UserPoolClient')).toHaveLength(1);
    expect(Object.keys(off.template.toJSON().Outputs)).not.toContain('ConsoleUrl');
  });

  it('takes true and false as booleans or strings, like the other flags', () => {
    // Assess
    expect(stageSettings(contextOf({ console: 'true' })).console).toBe(true);
    expect(stageSettings(contextOf({ console: true })).console).toBe(true);
    expect(stageSettings(contextOf({ console: 'false' })).console).toBe(false);
    expect(() => stageSettings(contextOf({ console: 'yes' }))).toThrow(/^Invalid CDK context: console/);
  });

  it('refuses an existing JWT issuer: the console signs in at the stack’s own user pool', () => {
    // Act
    const external = () =>
      synthesize({
        console: 'true',
        jwtIssuer: 'https://login.example.com/',
        jwtAudience: 'pos-app',
        ...noBundling,
      });

    // Assess
    expect(external).toThrow(/^Invalid CDK context: console signs in at the Cognito domain/);
  });

  it.each([
    ['capitals', 'Shop-Console', /must be a Cognito domain prefix: lowercase letters/],
    ['a leading hyphen', '-shop', /must be a Cognito domain prefix/],
    ['a reserved word', 'shop-aws-console', /may not contain "aws"/],
    ['Cognito’s name', 'my-cognito', /may not contain "cognito"/],
    ['64 characters', 'a'.repeat(64), /at most 63 characters/],
  ])('refuses a domain prefix with %s', (_, prefix, message) => {
    // Assess
    expect(() => stageSettings(contextOf({ console: 'true', consoleDomainPrefix: prefix }))).toThrow(message);
  });

  it('asks for a domain prefix when serviceName and stage make no valid default', () => {
    // Assess
    expect(() => stageSettings(contextOf({ console: 'true', serviceName: 'amazon-payments' }))).toThrow(
      /default Cognito domain prefix amazon-payments-dev-\{8 hex digits\}.*give consoleDomainPrefix/,
    );
    expect(stageSettings(contextOf({ console: 'true', consoleDomainPrefix: 'shop-pos' }))).toMatchObject({
      console: true,
      consoleDomainPrefix: 'shop-pos',
    });
  });
});

describe('outputs', () => {
  it('give the console’s URL and its sign-in domain', () => {
    // Prepare
    const outputs = dev.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(outputs.ConsoleUrl?.Value).toEqual(distributionUrl(dev, '/console/'));
    expect(flat(outputs.ConsoleSignInDomain?.Value)).toBe(signInDomain(dev));
  });
});

describe('cdk-nag AwsSolutions with the console', () => {
  it.each(['dev', 'prod'])('%s has no finding left unacknowledged', (stage) => {
    // Prepare
    const synth = stage === 'prod' ? prod : dev;

    // Act
    const report = new AwsSolutionsChecks().validateScope(synth.app);

    // Assess
    expect(
      report.violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      ),
    ).toEqual([]);
  });

  it.each(['dev', 'prod'])('%s synthesizes without CDK errors or warnings', (stage) => {
    // Prepare
    const synth = stage === 'prod' ? prod : dev;

    // Assess
    expect(Annotations.fromStack(synth.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(synth.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('acknowledges the console’s findings one by one, each with its own reason', () => {
    // Prepare
    const acknowledgments = dev.app.node
      .findAll()
      .filter(
        (construct) =>
          construct.node.path.includes('/Console/') || construct.node.id.startsWith('Custom::CDKBucketDeployment'),
      )
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
      ) as [string, string][];

    // Assess
    expect(acknowledgments.map(([id]) => id.replace(/^annotation::/i, '')).sort()).toEqual(
      [
        'AwsSolutions-CFR1',
        'AwsSolutions-CFR2',
        'AwsSolutions-CFR3',
        'AwsSolutions-CFR4',
        'AwsSolutions-IAM5[Action::s3:Abort*]',
        'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
        'AwsSolutions-IAM5[Action::s3:GetBucket*]',
        'AwsSolutions-IAM5[Action::s3:GetObject*]',
        'AwsSolutions-IAM5[Action::s3:List*]',
        `AwsSolutions-IAM5[Resource::<${idOf(dev, 'bucket')}.Arn>/*]`,
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
        'AwsSolutions-L1',
        'AwsSolutions-S1',
      ].sort(),
    );
    for (const [, reason] of acknowledgments) expect(reason.length).toBeGreaterThan(60);
  });
});

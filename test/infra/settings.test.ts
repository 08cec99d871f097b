import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { PaymentsTable } from '../../infra/constructs/payments-table.ts';
import { stageSettings } from '../../infra/settings.ts';
import { parseConfig } from '../../shared/config.ts';
import { METRICS_NAMESPACE } from '../../shared/metrics-names.ts';
import { paymentsTable } from '../../shared/store/table.ts';

/** A context reader over a plain object, as `app.node.tryGetContext` reads cdk.json and `-c` values. */
const contextOf =
  (values: Record<string, unknown>) =>
  (key: string): unknown =>
    values[key];

describe('stage settings from CDK context', () => {
  it('defaults to dev: data destroyed with the stack, a week of logs, Cognito, no CORS', () => {
    // Act
    const settings = stageSettings(contextOf({}));

    // Assess
    expect(settings).toMatchObject({
      stage: 'dev',
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      logRetention: RetentionDays.ONE_WEEK,
      metricsNamespace: METRICS_NAMESPACE,
      webhookReservedConcurrency: 50,
      handlerEnvironment: {},
      nag: false,
      tracing: true,
    });
    expect(settings.externalJwt).toBeUndefined();
    expect(settings.corsOrigins).toBeUndefined();
    expect(settings.alarmEmail).toBeUndefined();
  });

  it("leaves the reader-offline delay to the handlers' default (600 s) unless one is given", () => {
    // Act
    const unset = stageSettings(contextOf({}));
    const given = stageSettings(contextOf({ readerOfflineAlertAfterSeconds: '900' }));

    // Assess
    expect(unset.handlerEnvironment).not.toHaveProperty('READER_OFFLINE_ALERT_AFTER_SECONDS');
    expect(
      parseConfig({ TABLE_NAME: 'payments', ...unset.handlerEnvironment }).READER_OFFLINE_ALERT_AFTER_SECONDS,
    ).toBe(600);
    expect(given.handlerEnvironment).toEqual({ READER_OFFLINE_ALERT_AFTER_SECONDS: '900' });
  });

  it('makes prod stricter: RETAIN, deletion protection, six months of logs', () => {
    // Act
    const settings = stageSettings(contextOf({ stage: 'prod', alarmEmail: 'oncall@example.com' }));

    // Assess
    expect(settings).toMatchObject({
      stage: 'prod',
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
      logRetention: RetentionDays.SIX_MONTHS,
    });
  });

  it('refuses prod without an alarm destination, and takes an email, a pager’s HTTPS endpoint or a chat Lambda', () => {
    // Act
    const refused = () => stageSettings(contextOf({ stage: 'prod' }));
    const paged = stageSettings(contextOf({ stage: 'prod', alarmWebhookUrl: 'https://events.pagerduty.com/x/sns' }));
    const chat = stageSettings(
      contextOf({ stage: 'prod', alarmLambdaArn: 'arn:aws:lambda:eu-west-1:123456789012:function:alarms-to-slack' }),
    );

    // Assess
    expect(refused).toThrow(/stage prod needs an alarm destination/);
    expect(paged.alarmWebhookUrl).toBe('https://events.pagerduty.com/x/sns');
    expect(chat.alarmLambdaArn).toBe('arn:aws:lambda:eu-west-1:123456789012:function:alarms-to-slack');
    expect(() => stageSettings(contextOf({ alarmWebhookUrl: 'http://pager.example.com' }))).toThrow(/alarmWebhookUrl/);
    expect(() => stageSettings(contextOf({ alarmLambdaArn: 'arn:aws:sns:eu-west-1:1:topic' }))).toThrow(
      /alarmLambdaArn/,
    );
    // dev may go without: its alarms are for whoever looks at the console.
    expect(stageSettings(contextOf({ stage: 'dev' })).alarmEmail).toBeUndefined();
  });

  it('refuses a Stripe timeout the functions’ timeouts leave no room for, naming each function', () => {
    // Act
    const tooSlow = () => stageSettings(contextOf({ stripeTimeoutMs: '12000' }));

    // Assess: one event record's three Stripe calls (36 s) and its writes do not fit the processor's 30 s.
    expect(tooSlow).toThrow(/processEvents has 30000 ms, needs 39000 ms \(3 Stripe calls of one event record/);
    expect(() => stageSettings(contextOf({ stripeTimeoutMs: '8000' }))).not.toThrow();
  });

  it('reads command-line strings (-c key=value) as typed values', () => {
    // Act
    const settings = stageSettings(
      contextOf({
        webhookReservedConcurrency: '20',
        apiRateLimit: '25',
        apiBurstLimit: '40',
        logRetentionDays: '30',
        corsOrigins: 'https://pos.example.com, https://backoffice.example.com',
        jwtIssuer: 'https://issuer.example.com/',
        jwtAudience: 'pos-app,pos-kiosk',
        alarmEmail: 'oncall@example.com',
        nag: 'true',
        tracing: 'false',
      }),
    );

    // Assess
    expect(settings).toMatchObject({
      webhookReservedConcurrency: 20,
      apiThrottle: { rateLimit: 25, burstLimit: 40 },
      logRetention: RetentionDays.ONE_MONTH,
      corsOrigins: ['https://pos.example.com', 'https://backoffice.example.com'],
      externalJwt: { issuer: 'https://issuer.example.com/', audience: ['pos-app', 'pos-kiosk'] },
      alarmEmail: 'oncall@example.com',
      nag: true,
      tracing: false,
    });
  });

  it('passes thresholds to the handlers under their shared/config.ts names', () => {
    // Act
    const settings = stageSettings(
      contextOf({ stuckActionAfterSeconds: 90, captureWarningAfterHours: '30', staleAuthorizationAction: 'cancel' }),
    );

    // Assess
    expect(settings.handlerEnvironment).toEqual({
      STUCK_ACTION_AFTER_SECONDS: '90',
      CAPTURE_WARNING_AFTER_HOURS: '30',
      STALE_AUTHORIZATION_ACTION: 'cancel',
    });
  });

  it.each([
    [{ stage: 'staging' }, /stage/],
    [{ jwtIssuer: 'https://issuer.example.com/' }, /jwtIssuer and jwtAudience go together/],
    [{ jwtAudience: 'pos-app' }, /jwtIssuer and jwtAudience go together/],
    [{ jwtIssuer: 'not a url', jwtAudience: 'pos-app' }, /jwtIssuer/],
    [{ webhookReservedConcurrency: '0' }, /webhookReservedConcurrency/],
    [{ logRetentionDays: '8' }, /logRetentionDays/],
    [{ alarmEmail: 'oncall' }, /alarmEmail/],
    [{ staleAuthorizationAction: 'refund' }, /STALE_AUTHORIZATION_ACTION/],
    [{ stuckActionAfterSeconds: 'soon' }, /STUCK_ACTION_AFTER_SECONDS/],
    [{ readerOfflineAlertAfterSeconds: 'later' }, /READER_OFFLINE_ALERT_AFTER_SECONDS/],
    [{ readerOfflineAlertAfterSeconds: '-60' }, /READER_OFFLINE_ALERT_AFTER_SECONDS/],
  ])('rejects %j before anything is synthesized', (context, message) => {
    // Act & Assess
    expect(() => stageSettings(contextOf(context))).toThrow(message);
  });
});

describe('withheldIndexes', () => {
  it('leaves the named indexes out of the table, so a deployed table gains one index per deployment', () => {
    // Prepare
    const settings = stageSettings(contextOf({ withheldIndexes: 'readersByLocation,unsettledRefunds' }));
    const stack = new Stack(new App());

    // Act
    new PaymentsTable(stack, 'Payments', { settings });
    const template = Template.fromStack(stack).toJSON() as {
      Resources: Record<string, { Type: string; Properties: { GlobalSecondaryIndexes: { IndexName: string }[] } }>;
    };

    // Assess
    expect(settings.withheldIndexes).toEqual(['readersByLocation', 'unsettledRefunds']);
    const table = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::DynamoDB::GlobalTable');
    const names = table?.Properties.GlobalSecondaryIndexes.map((index) => index.IndexName) ?? [];
    expect(names).not.toContain('readersByLocation');
    expect(names).not.toContain('unsettledRefunds');
    expect(names).toContain('byLocation');
    expect(names).toHaveLength(Object.keys(paymentsTable.indexes).length - 2);
  });

  it('withholds nothing by default, and refuses an index the table does not define', () => {
    // Act
    const defaults = stageSettings(contextOf({}));
    const unknown = () => stageSettings(contextOf({ withheldIndexes: 'noSuchIndex' }));

    // Assess
    expect(defaults.withheldIndexes).toEqual([]);
    expect(unknown).toThrow(/withheldIndexes: no such index noSuchIndex/);
  });
});

/**
 * Alarms on everything that means a payment event is lost, late or money is at risk, that a reader is out of
 * service, or that the POS stops hearing of changes, all to one SNS topic, and a dashboard of the payment path:
 * POS API → Stripe → webhook → queue → processor, plus the reconciler and the reader fleet, and the live updates
 * (table stream → notifier → WebSocket API).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { HttpApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, LambdaSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { notifierStream } from '../../shared/live/definition.ts';
import {
  paymentRiskGauges,
  paymentRiskMetrics,
  RECONCILER_HEARTBEAT_METRIC,
  readerFleetMetrics,
  STAGE_DIMENSION,
} from '../../shared/metrics-names.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
import { reconcileMetrics } from '../../shared/reconcile/flags.ts';
import type { StageSettings } from '../settings.ts';

export interface PaymentPathMonitoringProps {
  settings: StageSettings;
  api: HttpApi;
  accessLogs: ILogGroup;
  /** Route key of Stripe's deliveries, as API Gateway logs it (`POST /webhooks/stripe`). */
  webhookRouteKey: string;
  webhookReceiver: IFunction;
  eventProcessor: IFunction;
  reconciler: IFunction;
  /** The routes a cashier waits on (create, process, capture): their route keys and functions. */
  checkout: readonly { routeKey: string; function: IFunction }[];
  /** The payments table: its throttles. */
  table: TableV2;
  eventQueue: IQueue;
  eventDeadLetterQueue: IQueue;
  scheduleDeadLetterQueue: IQueue;
  live: {
    /** The WebSocket API's stage (its metrics carry the API id and the stage). */
    stage: WebSocketStage;
    /** The notifier on the table's change stream. */
    notifier: IFunction;
    /** Where the stream event source mapping describes a batch the notifier failed for good. */
    streamDeadLetterQueue: IQueue;
  };
}

/** Events are applied within seconds; ten minutes means several failed attempts on the oldest one. */
const OLDEST_EVENT_AGE_ALARM_SECONDS = 600;

const WEBHOOK_SERVER_ERRORS_METRIC = 'WebhookServerErrors';

/**
 * Stripe's deliveries answered 400: a signature that does not verify (the wrong signing secret, test vs live) or a
 * body that is not an event. A few in five minutes is a misconfiguration, not noise: Stripe disables an endpoint
 * that keeps failing.
 */
const WEBHOOK_REJECTED_METRIC = 'WebhookRejected';
const WEBHOOK_REJECTED_ALARM = 3;

/** Checkout requests (create, process, capture) and those answered 5xx or 429, counted from the access log. */
const CHECKOUT_REQUESTS_METRIC = 'CheckoutRequests';
const CHECKOUT_SERVER_ERRORS_METRIC = 'CheckoutServerErrors';
const CHECKOUT_THROTTLED_METRIC = 'CheckoutThrottled';
/** Of at least this many checkout requests in five minutes, this share answered 5xx pages someone. */
const CHECKOUT_5XX_RATE_PERCENT = 5;
const CHECKOUT_5XX_MIN_REQUESTS = 5;

/**
 * p99 duration each checkout function may take before someone is paged, in ms. Creating and capturing are one or two
 * Stripe calls; processing waits on the reader, retrying a reader that timed out, inside API Gateway's 30 s.
 */
const CHECKOUT_P99_MS: Readonly<Record<string, number>> = {
  'POST /payments': 5_000,
  'POST /payments/{id}/process': 20_000,
  'POST /payments/{id}/capture': 5_000,
};

/** A dead letter left a day is one nobody handled: the event's payment may be wrong since. */
const DEAD_LETTER_AGE_ALARM_SECONDS = 24 * 60 * 60;

/**
 * The notifier publishes a change within a second of it. A minute behind the stream means the POS hears of
 * payments late (failing batches retried, or the notifier throttled): the polling fallback is what works then.
 */
const NOTIFIER_ITERATOR_AGE_ALARM_MS = 60_000;

/** The Powertools service of the notifier's metrics (`functions/live/notify.ts`). */
const LIVE_NOTIFIER_SERVICE = 'live-notifier';

/** The notifier's custom metrics per invocation (`functions/live/notify.ts`). */
const liveDeliveryMetrics = ['LiveMessagesSent', 'LiveConnectionsGone', 'LiveDeliveryFailures'] as const;

export class PaymentPathMonitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: PaymentPathMonitoringProps) {
    super(scope, id);
    const { settings } = props;

    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `Terminal payments alarms (${settings.stage})`,
      enforceSSL: true,
    });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'The topic carries alarm state changes only (names and thresholds, no payment data). CloudWatch cannot ' +
        'publish to a topic encrypted with the AWS managed aws/sns key, and a customer key buys nothing here.',
    });
    if (settings.alarmEmail) this.topic.addSubscription(new EmailSubscription(settings.alarmEmail));
    if (settings.alarmWebhookUrl) this.topic.addSubscription(new UrlSubscription(settings.alarmWebhookUrl));
    if (settings.alarmLambdaArn) {
      // In this account and region: the subscription grants the topic the right to invoke it.
      const forwarder = LambdaFunction.fromFunctionAttributes(this, 'AlarmForwarder', {
        functionArn: settings.alarmLambdaArn,
        sameEnvironment: true,
      });
      this.topic.addSubscription(new LambdaSubscription(forwarder));
    }

    const oneMinute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const stage = { [STAGE_DIMENSION]: settings.stage };
    // Counted from the access log, which records every request's route key, status and stage: each count carries the
    // stage as its dimension (a filter with dimensions has no default value: no request, no data).
    const accessLogCount = (id: string, metricName: string, pattern: ReturnType<typeof FilterPattern.all>) => {
      new MetricFilter(this, id, {
        logGroup: props.accessLogs,
        metricNamespace: settings.metricsNamespace,
        metricName,
        filterPattern: pattern,
        metricValue: '1',
        dimensions: { [STAGE_DIMENSION]: '$.stage' },
      });
      return new Metric({
        namespace: settings.metricsNamespace,
        metricName,
        dimensionsMap: stage,
        statistic: Stats.SUM,
        period: fiveMinutes,
      });
    };
    const webhookRoute = FilterPattern.stringValue('$.routeKey', '=', props.webhookRouteKey);
    // Stripe retries a delivery answered 5xx, and disables an endpoint that keeps failing.
    const webhookServerErrors = accessLogCount(
      'WebhookServerErrorsFilter',
      WEBHOOK_SERVER_ERRORS_METRIC,
      FilterPattern.all(webhookRoute, FilterPattern.numberValue('$.status', '>=', 500)),
    );
    const webhookRejected = accessLogCount(
      'WebhookRejectedFilter',
      WEBHOOK_REJECTED_METRIC,
      FilterPattern.all(webhookRoute, FilterPattern.numberValue('$.status', '=', 400)),
    );
    const checkoutRoute = FilterPattern.any(
      ...props.checkout.map(({ routeKey }) => FilterPattern.stringValue('$.routeKey', '=', routeKey)),
    );
    const checkoutRequests = accessLogCount(
      'CheckoutRequestsFilter',
      CHECKOUT_REQUESTS_METRIC,
      FilterPattern.all(checkoutRoute),
    );
    const checkoutServerErrors = accessLogCount(
      'CheckoutServerErrorsFilter',
      CHECKOUT_SERVER_ERRORS_METRIC,
      FilterPattern.all(checkoutRoute, FilterPattern.numberValue('$.status', '>=', 500)),
    );
    const checkoutThrottled = accessLogCount(
      'CheckoutThrottledFilter',
      CHECKOUT_THROTTLED_METRIC,
      FilterPattern.all(checkoutRoute, FilterPattern.numberValue('$.status', '=', 429)),
    );
    const checkoutServerErrorRate = new MathExpression({
      expression: `IF(requests >= ${CHECKOUT_5XX_MIN_REQUESTS}, 100 * errors / requests, 0)`,
      usingMetrics: { requests: checkoutRequests, errors: checkoutServerErrors },
      period: fiveMinutes,
      label: 'Checkout 5xx (%)',
    });
    const checkoutThrottles = new MathExpression({
      expression: `gateway + ${props.checkout.map((_, n) => `FILL(lambda${n}, 0)`).join(' + ')}`,
      usingMetrics: {
        gateway: checkoutThrottled,
        ...Object.fromEntries(
          props.checkout.map(({ function: fn }, n) => [
            `lambda${n}`,
            fn.metricThrottles({ statistic: Stats.SUM, period: fiveMinutes }),
          ]),
        ),
      },
      period: fiveMinutes,
      label: 'Checkout throttles (API 429 + Lambda)',
    });
    const tableThrottles = props.table.metricThrottledRequestsForOperations({
      operations: [
        Operation.GET_ITEM,
        Operation.BATCH_GET_ITEM,
        Operation.QUERY,
        Operation.PUT_ITEM,
        Operation.UPDATE_ITEM,
        Operation.DELETE_ITEM,
        Operation.BATCH_WRITE_ITEM,
        Operation.TRANSACT_WRITE_ITEMS,
      ],
      period: fiveMinutes,
      statistic: Stats.SUM,
    });

    const eventDlqDepth = props.eventDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: oneMinute,
    });
    const scheduleDlqDepth = props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: oneMinute,
    });
    const oldestEventAge = props.eventQueue.metricApproximateAgeOfOldestMessage({
      statistic: Stats.MAXIMUM,
      period: oneMinute,
    });
    const errors = (fn: IFunction) => fn.metricErrors({ statistic: Stats.SUM, period: fiveMinutes });
    const riskMetric = (metricName: string, aggregate: 'MAX' | 'SUM' = 'MAX') =>
      // Metrics Insights aggregates over whatever dimensions the emitter adds (Powertools adds `service`),
      // so the alarm does not depend on the service name of the function that emits it.
      new MathExpression({
        expression: `SELECT ${aggregate}(${metricName}) FROM "${settings.metricsNamespace}" WHERE ${STAGE_DIMENSION} = '${settings.stage}'`,
        usingMetrics: {},
        period: fiveMinutes,
        label: metricName,
      });
    const { live } = props;
    const streamDlqDepth = live.streamDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: oneMinute,
    });
    const notifierIteratorAge = live.notifier.metric('IteratorAge', { statistic: Stats.MAXIMUM, period: oneMinute });
    const liveDelivery = (metricName: (typeof liveDeliveryMetrics)[number]) =>
      new Metric({
        namespace: settings.metricsNamespace,
        metricName,
        dimensionsMap: { service: LIVE_NOTIFIER_SERVICE, ...stage },
        statistic: Stats.SUM,
        period: oneMinute,
      });
    // Gauges of the payments at risk now, counted by the reconciler every run: an alarm stays raised while the money
    // is still at risk, and clears when the payment is captured, cancelled or freed.
    const stuckReaders = riskMetric(paymentRiskGauges.stuckReaders);
    const captureDeadlineApproaching = riskMetric(paymentRiskGauges.captureDeadlineApproaching);
    // An expiry is a loss that already happened (Stripe released the hold, the payment left the capture indexes): its
    // alarm counts expiries over an hour, so it stays raised long enough for someone to call the customer.
    const authorizationsExpired = new MathExpression({
      expression: `SELECT SUM(${paymentRiskMetrics.authorizationsExpired}) FROM "${settings.metricsNamespace}" WHERE ${STAGE_DIMENSION} = '${settings.stage}'`,
      usingMetrics: {},
      period: Duration.hours(1),
      label: paymentRiskMetrics.authorizationsExpired,
    });
    const authorizationsPastDeadline = riskMetric(paymentRiskGauges.authorizationsExpired);
    const reconcilerRuns = riskMetric(RECONCILER_HEARTBEAT_METRIC, 'SUM');
    const reconcileFailures = riskMetric(reconcileMetrics.reconcileFailures, 'SUM');
    const reconcileCutShort = riskMetric(reconcileMetrics.reconcileRunsCutShort, 'SUM');
    const eventDlqAge = props.eventDeadLetterQueue.metricApproximateAgeOfOldestMessage({
      statistic: Stats.MAXIMUM,
      period: fiveMinutes,
    });
    // Counted by the processor (`refund.failed`, service `webhook-processor`) and by the reconciler (a refund it
    // settled or finished that Stripe failed or refused, service `reconciler`): the sum over both is every refund
    // that failed in the period, whichever function saw it.
    const refundsFailed = riskMetric(paymentRiskMetrics.refundsFailed, 'SUM');
    // The reconciler's view of the fleet, published every run (zeros included); no data means it did not run,
    // which ReconcilerErrors and ScheduleDeadLetters cover.
    const readersOffline = riskMetric(readerFleetMetrics.readersOffline);
    const readersStuck = riskMetric(readerFleetMetrics.readersStuck);

    this.alarm(
      'EventDeadLetters',
      eventDlqDepth,
      1,
      `Stripe events failed processing ${eventQueue.maxReceiveCount} times and wait in the DLQ: see the runbook, "Events in the dead-letter queue".`,
    );
    this.alarm(
      'ScheduleDeadLetters',
      scheduleDlqDepth,
      1,
      'Scheduler could not invoke the reconciler: check its DLQ message for the error.',
    );
    this.alarm(
      'OldestEventAge',
      oldestEventAge,
      OLDEST_EVENT_AGE_ALARM_SECONDS,
      'Stripe events are waiting more than 10 minutes: the processor is failing or throttled.',
    );
    this.alarm(
      'WebhookServerErrors',
      webhookServerErrors,
      1,
      'The webhook route answered 5xx: Stripe will retry, but events are delayed until it recovers.',
    );
    this.alarm('WebhookErrors', errors(props.webhookReceiver), 1, 'The webhook receiver failed (crash or timeout).');
    this.alarm(
      'WebhookThrottles',
      props.webhookReceiver.metricThrottles({ statistic: Stats.SUM, period: fiveMinutes }),
      1,
      'The webhook receiver used up its reserved concurrency: raise webhookReservedConcurrency.',
    );
    this.alarm(
      'ProcessorErrors',
      errors(props.eventProcessor),
      1,
      'The event processor failed a whole batch (crash or timeout).',
    );
    // One failed run is retried by the next one a minute later; two in five minutes is a pattern.
    this.alarm(
      'ReconcilerErrors',
      errors(props.reconciler),
      2,
      'The reconciler failed repeatedly: stuck readers, aging authorizations and pending refunds are not being checked.',
    );
    this.alarm(
      'LiveNotifierErrors',
      errors(live.notifier),
      1,
      'The live-updates notifier failed (crash or timeout): its batch is retried, and the POS hears of changes late.',
    );
    this.alarm(
      'LiveNotifierIteratorAge',
      notifierIteratorAge,
      NOTIFIER_ITERATOR_AGE_ALARM_MS,
      'The live-updates notifier is more than a minute behind the table stream: the POS hears of changes late ' +
        '(polling still shows them).',
      ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    this.alarm(
      'LiveStreamDeadLetters',
      streamDlqDepth,
      1,
      `A batch of table changes failed in the notifier ${notifierStream.retryAttempts} times or aged out: those ` +
        'changes were never pushed (clients polling or resubscribing still see them). The message names the shard ' +
        'and sequence numbers.',
    );
    this.alarm(
      'StuckReaders',
      stuckReaders,
      1,
      'Payments are stuck on a reader (its action in progress too long): see the runbook, "Stuck readers". Stays ' +
        'raised until each is freed.',
    );
    this.alarm(
      'CaptureDeadlineApproaching',
      captureDeadlineApproaching,
      1,
      'Authorized payments are close to their capture deadline: capture or cancel them (runbook, "Stale ' +
        'authorizations"). Stays raised until each is captured or cancelled.',
    );
    this.alarm(
      'AuthorizationsExpired',
      authorizationsExpired,
      1,
      'Authorizations passed their capture deadline uncaptured in the last hour: the funds went back to the customer ' +
        '(runbook, "Stale authorizations").',
    );
    this.alarm(
      'RefundsFailed',
      refundsFailed,
      1,
      'A refund failed at Stripe or Stripe refused to make it: the customer did not get the money back. Look at ' +
        'the payment\'s refunds and their failureReason (runbook, "Failed refunds").',
    );
    // The checkout path: a cashier and a customer are waiting.
    this.alarm(
      'CheckoutServerErrors',
      checkoutServerErrorRate,
      CHECKOUT_5XX_RATE_PERCENT,
      `More than ${CHECKOUT_5XX_RATE_PERCENT} % of checkout requests (create, process, capture) answered 5xx in 5 minutes: ` +
        'cashiers cannot take payments (runbook, "Checkout failing").',
    );
    for (const { routeKey, function: fn } of props.checkout) {
      const limitMs = CHECKOUT_P99_MS[routeKey];
      if (limitMs === undefined) throw new Error(`No p99 latency limit for checkout route ${routeKey}`);
      this.alarm(
        `CheckoutLatency${routeKey.replace(/[^A-Za-z]/g, '')}`,
        fn.metricDuration({ statistic: Stats.p(99), period: fiveMinutes }),
        limitMs,
        `${routeKey} took longer than ${limitMs / 1000} s at p99 for 15 minutes: cashiers wait at the counter ` +
          '(runbook, "Checkout slow").',
        ComparisonOperator.GREATER_THAN_THRESHOLD,
        { evaluationPeriods: 3 },
      );
    }
    this.alarm(
      'CheckoutThrottles',
      checkoutThrottles,
      1,
      'Checkout requests were throttled (API Gateway 429 or Lambda throttles): raise apiRateLimit/apiBurstLimit or the ' +
        'account concurrency (runbook, "Checkout failing").',
    );
    this.alarm(
      'TableThrottles',
      tableThrottles,
      1,
      'DynamoDB throttled requests to the payments table (a hot partition, or an account limit): payments may fail ' +
        'to be stored (runbook, "DynamoDB throttles").',
    );
    this.alarm(
      'WebhookRejected',
      webhookRejected,
      WEBHOOK_REJECTED_ALARM,
      'Stripe deliveries were refused with 400: the webhook signing secret is probably wrong (test vs live, or rolled ' +
        'at Stripe only). Stripe disables an endpoint that keeps failing (runbook, "Webhook deliveries refused").',
    );
    // The reconciler: a run every minute. No data is no run: the heartbeat breaches on missing data.
    this.alarm(
      'ReconcilerHeartbeat',
      reconcilerRuns,
      1,
      'The reconciler has not completed a run in 10 minutes: stuck readers, aging authorizations and pending refunds ' +
        'go unchecked (runbook, "Reconciler not running").',
      ComparisonOperator.LESS_THAN_THRESHOLD,
      { evaluationPeriods: 2, treatMissingData: TreatMissingData.BREACHING },
    );
    this.alarm(
      'ReconcileFailures',
      reconcileFailures,
      1,
      "Payments failed to reconcile in every run for 15 minutes (each is retried next run): see the reconciler's " +
        'errors (runbook, "Reconciler not running").',
      ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      { evaluationPeriods: 3 },
    );
    this.alarm(
      'ReconcileRunsCutShort',
      reconcileCutShort,
      1,
      'Reconciler runs kept stopping at their time budget with candidates left, for 15 minutes: it is falling behind ' +
        '(runbook, "Reconciler not running").',
      ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      { evaluationPeriods: 3 },
    );
    this.alarm(
      'EventDeadLettersAging',
      eventDlqAge,
      DEAD_LETTER_AGE_ALARM_SECONDS,
      'A Stripe event has waited in the dead-letter queue for a day: its payment may be wrong since (runbook, ' +
        '"Events in the dead-letter queue").',
    );
    // A stuck reader already alarms through the payment it holds (StuckReaders): ReadersStuck is graphed only.
    this.alarm(
      readerFleetMetrics.readersOffline,
      readersOffline,
      1,
      'A reader has been offline longer than readerOfflineAlertAfterSeconds: check its power and network ' +
        '(runbook, "Readers offline").',
    );

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const apiMetric = (metricName: string, statistic: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: props.api.apiId },
        statistic,
        period: oneMinute,
      });
    const lambdaGraph = (title: string, metric: (fn: IFunction) => IMetric) =>
      new GraphWidget({
        title,
        width: 8,
        left: [props.webhookReceiver, props.eventProcessor, props.reconciler].map(metric),
      });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          `# Payment path (${settings.stage})\nPOS API → Stripe → webhook → SQS → processor; reconciler every ` +
          'minute; live updates: table stream → notifier → WebSocket API.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }));
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'POS API requests and errors',
        width: 8,
        left: [apiMetric('Count', Stats.SUM), apiMetric('4xx', Stats.SUM), apiMetric('5xx', Stats.SUM)],
      }),
      new GraphWidget({
        title: 'POS API latency (p50 / p99)',
        width: 8,
        left: [apiMetric('Latency', Stats.p(50)), apiMetric('Latency', Stats.p(99))],
      }),
      new GraphWidget({ title: 'Webhook 5xx answers', width: 8, left: [webhookServerErrors] }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Event queue: oldest message (s)', width: 8, left: [oldestEventAge] }),
      new GraphWidget({
        title: 'Event queue depth',
        width: 8,
        left: [props.eventQueue.metricApproximateNumberOfMessagesVisible({ period: oneMinute })],
      }),
      new GraphWidget({ title: 'Dead-letter queues', width: 8, left: [eventDlqDepth, scheduleDlqDepth] }),
    );
    this.dashboard.addWidgets(
      lambdaGraph('Errors: webhook / processor / reconciler', (fn) => fn.metricErrors({ period: oneMinute })),
      lambdaGraph('Duration p99', (fn) => fn.metricDuration({ statistic: Stats.p(99), period: oneMinute })),
      lambdaGraph('Throttles', (fn) => fn.metricThrottles({ period: oneMinute })),
    );
    const liveMetric = (metricName: string) =>
      live.stage.metric(metricName, { statistic: Stats.SUM, period: oneMinute });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Live updates: connections and messages',
        width: 8,
        left: [liveMetric('ConnectCount'), liveMetric('MessageCount')],
        right: [liveMetric('ClientError'), liveMetric('IntegrationError'), liveMetric('ExecutionError')],
      }),
      new GraphWidget({
        title: 'Live notifier: stream iterator age (ms) and errors',
        width: 8,
        left: [notifierIteratorAge],
        right: [live.notifier.metricErrors({ period: oneMinute }), streamDlqDepth],
      }),
      new GraphWidget({
        title: 'Live deliveries: sent / connection gone / failed',
        width: 8,
        left: liveDeliveryMetrics.map(liveDelivery),
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Stuck readers', width: 6, left: [stuckReaders] }),
      new GraphWidget({ title: 'Capture deadline approaching', width: 6, left: [captureDeadlineApproaching] }),
      new GraphWidget({
        title: 'Authorizations expired (per hour) / past deadline now',
        width: 6,
        left: [authorizationsExpired],
        right: [authorizationsPastDeadline],
      }),
      new GraphWidget({ title: 'Refunds failed', width: 6, left: [refundsFailed] }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Reader fleet', width: 12, left: [readersOffline, readersStuck] }),
      new GraphWidget({
        title: 'Reconciler runs, failures, runs cut short',
        width: 12,
        left: [reconcilerRuns],
        right: [reconcileFailures, reconcileCutShort],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Checkout 5xx (%)', width: 6, left: [checkoutServerErrorRate] }),
      new GraphWidget({
        title: 'Checkout p99 duration (ms)',
        width: 6,
        left: props.checkout.map(({ function: fn }) =>
          fn.metricDuration({ statistic: Stats.p(99), period: oneMinute }),
        ),
      }),
      new GraphWidget({
        title: 'Checkout throttles / table throttles',
        width: 6,
        left: [checkoutThrottles, tableThrottles],
      }),
      new GraphWidget({ title: 'Webhook deliveries refused (400)', width: 6, left: [webhookRejected] }),
    );
  }

  private alarm(
    id: string,
    metric: IMetric,
    threshold: number,
    description: string,
    comparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    options: { evaluationPeriods?: number; treatMissingData?: TreatMissingData } = {},
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator,
      // No data means nothing happened: no events, no failures, nothing stuck (but for a heartbeat).
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}

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
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { notifierStream } from '../../shared/live/definition.ts';
import { paymentRiskMetrics, readerFleetMetrics } from '../../shared/metrics-names.ts';
import { eventQueue } from '../../shared/queue/definition.ts';
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

    // Stripe retries a delivery answered 5xx, and disables an endpoint that keeps failing: count them
    // from the access log, which records the route key and status of every request.
    const webhookServerErrors = new MetricFilter(this, 'WebhookServerErrorsFilter', {
      logGroup: props.accessLogs,
      metricNamespace: settings.metricsNamespace,
      metricName: WEBHOOK_SERVER_ERRORS_METRIC,
      filterPattern: FilterPattern.all(
        FilterPattern.stringValue('$.routeKey', '=', props.webhookRouteKey),
        FilterPattern.numberValue('$.status', '>=', 500),
      ),
      metricValue: '1',
      defaultValue: 0,
    }).metric({ statistic: Stats.SUM, period: Duration.minutes(5) });

    const oneMinute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
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
        expression: `SELECT ${aggregate}(${metricName}) FROM "${settings.metricsNamespace}"`,
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
        dimensionsMap: { service: LIVE_NOTIFIER_SERVICE },
        statistic: Stats.SUM,
        period: oneMinute,
      });
    const stuckReaders = riskMetric(paymentRiskMetrics.stuckReaders);
    const captureDeadlineApproaching = riskMetric(paymentRiskMetrics.captureDeadlineApproaching);
    const authorizationsExpired = riskMetric(paymentRiskMetrics.authorizationsExpired);
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
      'A reader action is stuck in progress: see the runbook, "Stuck readers".',
    );
    this.alarm(
      'CaptureDeadlineApproaching',
      captureDeadlineApproaching,
      1,
      'Authorized payments are close to their capture deadline: capture or cancel them (runbook, "Stale authorizations").',
    );
    this.alarm(
      'AuthorizationsExpired',
      authorizationsExpired,
      1,
      'Authorizations expired uncaptured: the funds went back to the customer (runbook, "Stale authorizations").',
    );
    this.alarm(
      'RefundsFailed',
      refundsFailed,
      1,
      'A refund failed at Stripe or Stripe refused to make it: the customer did not get the money back. Look at ' +
        'the payment\'s refunds and their failureReason (runbook, "Failed refunds").',
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
      new GraphWidget({ title: 'Authorizations expired', width: 6, left: [authorizationsExpired] }),
      new GraphWidget({ title: 'Refunds failed', width: 6, left: [refundsFailed] }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Reader fleet', width: 12, left: [readersOffline, readersStuck] }),
    );
  }

  private alarm(
    id: string,
    metric: IMetric,
    threshold: number,
    description: string,
    comparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator,
      // No data means nothing happened: no events, no failures, nothing stuck.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}

/**
 * EventBridge Scheduler invokes the reconciler every minute: it finds stuck reader actions, authorizations
 * nearing their capture deadline and expired ones. A tick Scheduler could not deliver after its retries
 * lands in a dead-letter queue (alarmed), so a broken schedule is seen rather than silently missing. The target is
 * the reconciler's `live` alias, and the schedule's role may invoke that alias and nothing else.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageSettings } from '../settings.ts';
import { failureDestinationQueue } from './failure-destination-queue.ts';

export class ReconcileSchedule extends Construct {
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;

  /** `reconciler`: the reconciler's `live` alias (an alias's invoke grant names the alias alone, no `:*`). */
  constructor(scope: Construct, id: string, props: { reconciler: IFunction; settings: StageSettings }) {
    super(scope, id);
    this.deadLetterQueue = failureDestinationQueue(this, 'DeadLetters', {
      removalPolicy: props.settings.removalPolicy,
      receives: "the Scheduler target's dead-letter queue (DeadLetterConfig of the schedule)",
    });

    // Its own role: invoking the reconciler's alias and dead-lettering a tick are all it may do.
    const role = new Role(this, 'InvokeRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'EventBridge Scheduler: invoke the reconciler, dead-letter undeliverable ticks',
    });
    const target = new LambdaInvoke(props.reconciler, {
      role,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
      // A tick older than this is overtaken by the next one, which does the same work.
      maxEventAge: Duration.minutes(2),
    });
    this.schedule = new Schedule(this, 'EveryMinute', {
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      description: `Reconcile stuck reader actions and aging authorizations (${props.settings.stage})`,
      target,
    });
  }
}

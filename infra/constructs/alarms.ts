import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CONTRACT_DEFAULTS,
  DELIVERY_METRICS,
  STATE_STORE_FAILURE_MESSAGE,
} from '../../functions/core/config-contract.ts';
import { DIGEST_FROM_SHARE } from '../../functions/core/digest.ts';
import { createDeadLetterQueue } from './alert-queue.ts';

/** The metric the functions' state-store failure log lines become (one metric for every function). */
export const STATE_STORE_FAILURE_METRIC = {
  namespace: DELIVERY_METRICS.namespace,
  metricName: 'StateStoreFailures',
} as const;

/**
 * The quota guard's reading that the functions emit each time the guard reads its window (Powertools
 * Metrics adds the `service` dimension, POWERTOOLS_SERVICE_NAME, which the stack leaves at its default).
 */
export const GUARD_USED_PERCENT_METRIC = {
  namespace: DELIVERY_METRICS.namespace,
  metricName: DELIVERY_METRICS.guardUsedPercent,
  dimensionsMap: { service: CONTRACT_DEFAULTS.serviceName },
} as const;

/** An alert older than this in the queue means Gmail has not been accepting mail for a while. */
export const OLDEST_ALERT_THRESHOLD = Duration.minutes(15);

export interface OpsAlarmsProps {
  /**
   * Starts every alarm's name, so that the EventBridge rule for alarm state changes can leave the
   * stack's own alarms out (they notify the topic instead of invoking the function they watch).
   */
  readonly alarmNamePrefix: string;
  /** Who is told when the alerting itself fails; without it the topic has no subscriber yet. */
  readonly opsEmail: string | undefined;
  /** Dead-letter queues by name: any message in one raises an alarm. */
  readonly deadLetterQueues: Record<string, IQueue>;
  readonly alertsQueue: IQueue;
  /** Functions by name: any error or throttle raises an alarm. */
  readonly functions: Record<string, IFunction>;
  /** Log groups of the functions that use the state table: any state-store failure raises an alarm. */
  readonly stateStoreLogGroups?: ILogGroup[];
  /** Whether the functions run the quota guard (state table and alerts queue): alarm from 80 % of the limit. */
  readonly quotaGuard?: boolean;
}

/**
 * The stack watching itself through a channel that does not depend on Gmail: CloudWatch alarms on
 * dead-letter queues, the age of queued alerts, function errors and throttles, published to an
 * encrypted SNS topic that e-mails `opsEmail`.
 */
export class OpsAlarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly notificationDeadLetterQueue: Queue | undefined;
  readonly #alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: OpsAlarmsProps) {
    super(scope, id);
    this.#alarmNamePrefix = props.alarmNamePrefix;
    const stack = Stack.of(this);
    // A customer managed key: CloudWatch cannot publish to a topic encrypted with the AWS managed
    // aws/sns key, because that key's policy cannot be changed to let CloudWatch use it.
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the ops notification topic of the alerting stack',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      displayName: 'Gmail alerts: operations',
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    if (props.opsEmail) {
      this.notificationDeadLetterQueue = createDeadLetterQueue(
        this,
        'NotificationDeadLetterQueue',
        'This queue is the redrive target of the ops e-mail subscription, so it is itself a dead-letter queue; a queue behind it would only move the problem. Its alarms show in CloudWatch and notify the ops topic.',
      );
      this.topic.addSubscription(
        new EmailSubscription(props.opsEmail, { deadLetterQueue: this.notificationDeadLetterQueue }),
      );
    }

    const deadLetterQueues = { ...props.deadLetterQueues };
    if (this.notificationDeadLetterQueue)
      deadLetterQueues.OpsNotifications = this.notificationDeadLetterQueue;
    for (const [name, queue] of Object.entries(deadLetterQueues)) {
      const depth = queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      });
      this.addAlarm(`${name}DeadLetters`, {
        metric: depth,
        threshold: 0,
        description: `Messages are waiting in the ${name} dead-letter queue: alerts that could not be delivered. Read one to see the failure class and advice, fix the cause, then redrive.`,
      });
      // The depth alarm stays in ALARM while anything waits, so a second failure would change
      // nothing. This one fires again on every minute with a new arrival. SQS counts messages
      // sent with SendMessage (parked alerts, EventBridge and Lambda failure destinations) in
      // NumberOfMessagesSent but not those moved by a redrive policy, so growth of the depth counts too.
      this.addAlarm(`${name}NewDeadLetters`, {
        metric: new MathExpression({
          expression: 'FILL(sent, 0) + FILL(IF(DIFF(depth) > 0, DIFF(depth), 0), 0)',
          usingMetrics: {
            sent: queue.metricNumberOfMessagesSent({ period: Duration.minutes(1), statistic: 'Sum' }),
            depth,
          },
          period: Duration.minutes(1),
          label: `New messages in the ${name} dead-letter queue`,
        }),
        threshold: 0,
        description: `A new message arrived in the ${name} dead-letter queue: another alert could not be delivered. Read it to see the failure class and advice.`,
        // Its OK only means "nothing new this minute", not that anything was resolved.
        notifyOnOk: false,
      });
    }
    this.addAlarm('OldestQueuedAlert', {
      metric: props.alertsQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: OLDEST_ALERT_THRESHOLD.toSeconds(),
      description: `An alert has waited more than ${OLDEST_ALERT_THRESHOLD.toMinutes()} minutes in the queue: Gmail is refusing or deferring mail (quota, credentials, network).`,
    });
    if (props.stateStoreLogGroups && props.stateStoreLogGroups.length > 0) {
      // The functions log one stable message when the table fails and mail anyway; counting those
      // lines is the only way to learn that repeats and duplicates are no longer being held back.
      props.stateStoreLogGroups.forEach((logGroup, index) => {
        new MetricFilter(this, `StateStoreFailureFilter${index}`, {
          logGroup,
          filterPattern: FilterPattern.stringValue('$.message', '=', STATE_STORE_FAILURE_MESSAGE),
          metricNamespace: STATE_STORE_FAILURE_METRIC.namespace,
          metricName: STATE_STORE_FAILURE_METRIC.metricName,
          metricValue: '1',
        });
      });
      this.addAlarm('StateStoreFailures', {
        metric: new Metric({ ...STATE_STORE_FAILURE_METRIC, period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        description:
          'The functions could not use the alert state table (DynamoDB): alerts still go out, but duplicates and repeats are not held back. The functions\' logs have "stateOperation" and the error name.',
      });
    }
    if (props.quotaGuard) {
      const percent = DIGEST_FROM_SHARE * 100;
      this.addAlarm(`QuotaGuard${percent}`, {
        metric: new Metric({
          ...GUARD_USED_PERCENT_METRIC,
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: percent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Readings come only with alerts: a quiet hour says nothing about the count, so the state stays.
        treatMissingData: TreatMissingData.IGNORE,
        description: `The quota guard counted ${percent} % or more of GMAIL_DAILY_LIMIT in Gmail's rolling 24 h: new alerts are folded into digests, and at the limit they are held on the queue. Look for the source of the flood.`,
      });
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      this.addAlarm(`${name}Errors`, {
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        description: `The ${name} function failed. Its log group has the error class and advice.`,
      });
      this.addAlarm(`${name}Throttles`, {
        metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        description: `The ${name} function was throttled: the account's concurrency limit was reached.`,
      });
    }
  }

  private addAlarm(
    id: string,
    props: {
      metric: IMetric;
      threshold: number;
      description: string;
      notifyOnOk?: boolean;
      comparisonOperator?: ComparisonOperator;
      treatMissingData?: TreatMissingData;
    },
  ): void {
    const alarm = new Alarm(this, id, {
      alarmName: `${this.#alarmNamePrefix}${id}`,
      metric: props.metric,
      threshold: props.threshold,
      comparisonOperator: props.comparisonOperator ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: props.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: props.description,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    if (props.notifyOnOk ?? true) alarm.addOkAction(action);
    this.alarms.push(alarm);
  }
}

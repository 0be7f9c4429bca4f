import { Duration, Validations } from 'aws-cdk-lib';
import { EventSourceMapping, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Receives after which an alert stops being retried and moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;
/** Alerts per SQS-triggered invocation; failures are reported per message, not per batch. */
export const SQS_BATCH_SIZE = 10;

/**
 * A dead-letter queue at the end of the line: encrypted and kept the longest SQS allows, with no
 * dead-letter queue of its own (one behind it would only move the problem; alarms watch it instead).
 * `reason` tells the nag rules which redrives end here and what watches it.
 */
export function createDeadLetterQueue(scope: Construct, id: string, reason: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge(
    { id: 'AwsSolutions-SQS3', reason },
    { id: 'Serverless-SQSRedrivePolicy', reason },
  );
  return queue;
}

export interface AlertQueueProps {
  /** Timeout of the function that consumes the queue; the visibility timeout is six times this. */
  readonly consumerTimeout: Duration;
}

/**
 * The durable path for alerts: the queue the HTTP function falls back to and applications may send
 * to, and the dead-letter queue where every alert that could not be delivered ends up, whatever
 * trigger it came from.
 */
export class AlertQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: AlertQueueProps) {
    super(scope, id);
    this.deadLetterQueue = createDeadLetterQueue(
      this,
      'DeadLetterQueue',
      'This is the dead-letter queue of the alerts queue, the EventBridge targets and the eventbridge function; a queue behind it would only move the problem. Its depth alarm notifies the ops topic.',
    );

    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for Lambda consumers: at least six times the function timeout, so a message
      // is not handed to a second poller while the first is still retrying it.
      visibilityTimeout: Duration.seconds(6 * props.consumerTimeout.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }

  /**
   * Lets `consumer` poll the queue, reporting failures per message and with at most
   * `maxConcurrency` invocations at once, which bounds the simultaneous connections to Gmail.
   */
  addConsumer(consumer: IFunction, maxConcurrency: number): EventSourceMapping {
    const mapping = new EventSourceMapping(this, 'Consumer', {
      target: consumer,
      eventSourceArn: this.queue.queueArn,
      batchSize: SQS_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency,
    });
    this.queue.grantConsumeMessages(consumer);
    Validations.of(mapping).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'Lambda supports on-failure destinations only for stream and Kafka sources, not SQS; for an SQS source the queue redrive policy (maxReceiveCount into the dead-letter queue) is the failure destination.',
    });
    return mapping;
  }
}

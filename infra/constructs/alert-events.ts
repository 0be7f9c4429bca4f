import { Duration, Validations } from 'aws-cdk-lib';
import { type EventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EventPatternJson } from '../config.ts';

/**
 * Retries on both hops of an EventBridge alert, set explicitly (EventBridge's default is 185 attempts
 * over 24 hours): EventBridge delivering to Lambda's async queue, then Lambda retrying the function.
 */
export const EVENT_RETRY = {
  targetRetryAttempts: 3,
  targetMaxEventAge: Duration.hours(2),
  functionRetryAttempts: 2,
  functionMaxEventAge: Duration.hours(2),
} as const;

export interface AlertEventsProps {
  /** The `eventbridge` function. */
  readonly handler: LambdaFunction;
  readonly deadLetterQueue: IQueue;
  /** Named event patterns from context `eventRules`. */
  readonly rules: Record<string, EventPatternJson>;
  /** Custom `source` values applications use with PutEvents (context `eventSources`). */
  readonly sources: string[];
}

/**
 * EventBridge rules on the default bus that turn events into alerts, and the failure path of that
 * asynchronous trigger: a DLQ on each target and an on-failure destination on the function.
 */
export class AlertEvents extends Construct {
  readonly rules: Rule[] = [];

  constructor(scope: Construct, id: string, props: AlertEventsProps) {
    super(scope, id);
    const patterns: Record<string, EventPattern> = { ...(props.rules as Record<string, EventPattern>) };
    if (props.sources.length > 0) patterns.AppEvents = { source: props.sources };

    for (const [name, eventPattern] of Object.entries(patterns)) {
      const rule = new Rule(this, name, { description: `Alert e-mail for ${name}`, eventPattern });
      rule.addTarget(
        new LambdaTarget(props.handler, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: EVENT_RETRY.targetRetryAttempts,
          maxEventAge: EVENT_RETRY.targetMaxEventAge,
        }),
      );
      this.rules.push(rule);
    }

    props.handler.configureAsyncInvoke({
      retryAttempts: EVENT_RETRY.functionRetryAttempts,
      maxEventAge: EVENT_RETRY.functionMaxEventAge,
      onFailure: new SqsDestination(props.deadLetterQueue),
    });
    Validations.of(props.handler).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Asynchronous failures go to the on-failure destination (the alerts dead-letter queue), which records the error with the event; a DeadLetterConfig as well would deliver every failure twice.',
    });
  }
}

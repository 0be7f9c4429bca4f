import { Duration, Validations } from 'aws-cdk-lib';
import { type EventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ContextValueError, type EventPatternJson } from '../config.ts';

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
  /** The name prefix of the stack's own alarms, which no rule may send back to the function. */
  readonly ownAlarmPrefix: string;
  /** Context `alarmNamePrefix`: only alarms whose name starts with this become alerts. */
  readonly alarmNamePrefix: string | undefined;
}

const ALARM_SOURCE = 'aws.cloudwatch';
const ALARM_DETAIL_TYPE = 'CloudWatch Alarm State Change';

/** Whether a pattern can match a CloudWatch alarm state change (it leaves source or detail-type open, or names them). */
function matchesAlarmEvents(pattern: EventPatternJson): boolean {
  const admits = (field: unknown, value: string) =>
    field === undefined ||
    (Array.isArray(field) && field.some((entry) => typeof entry !== 'string' || entry === value));
  return admits(pattern.source, ALARM_SOURCE) && admits(pattern['detail-type'], ALARM_DETAIL_TYPE);
}

/** Whether some alarm name could start with both prefixes: one of them starts with the other. */
const sharesPrefix = (one: string, other: string) => one.startsWith(other) || other.startsWith(one);

/**
 * Keeps the stack's own alarms out of a rule that can match alarm events: a failing function would
 * otherwise raise its own alarm, whose event invokes it again, round after round. The stack's alarms
 * reach people through the ops topic instead. With `alarmNamePrefix` the rule takes only the alarms
 * named so, which must then exclude the stack's own.
 */
export function withoutOwnAlarms(
  name: string,
  pattern: EventPatternJson,
  ownAlarmPrefix: string,
  alarmNamePrefix: string | undefined,
): EventPatternJson {
  if (!matchesAlarmEvents(pattern)) return pattern;
  const detail = (pattern.detail ?? {}) as Record<string, unknown>;
  if (detail.alarmName !== undefined) {
    // A rule that names its alarms itself: reject only what certainly matches the stack's own.
    const entries = Array.isArray(detail.alarmName) ? detail.alarmName : [detail.alarmName];
    for (const entry of entries) {
      const prefix = typeof entry === 'string' ? entry : (entry as { prefix?: unknown } | null)?.prefix;
      if (typeof prefix === 'string' && sharesPrefix(prefix, ownAlarmPrefix)) {
        throw new ContextValueError(
          'eventRules',
          `has "${name}", whose alarmName filter ${JSON.stringify(entry)} matches the stack's own alarms (${ownAlarmPrefix}…): their events would invoke the function that raised them`,
        );
      }
    }
    if (alarmNamePrefix !== undefined) {
      throw new ContextValueError(
        'alarmNamePrefix',
        `cannot be combined with the rule "${name}" in eventRules, which filters alarmName itself`,
      );
    }
    return pattern;
  }
  if (alarmNamePrefix !== undefined && sharesPrefix(alarmNamePrefix, ownAlarmPrefix)) {
    throw new ContextValueError(
      'alarmNamePrefix',
      `"${alarmNamePrefix}" would match the stack's own alarms (${ownAlarmPrefix}…), whose events would invoke the function that raised them; choose a prefix they do not share`,
    );
  }
  const alarmName =
    alarmNamePrefix === undefined
      ? [{ 'anything-but': { prefix: ownAlarmPrefix } }]
      : [{ prefix: alarmNamePrefix }];
  return { ...pattern, detail: { ...detail, alarmName } };
}

/**
 * EventBridge rules on the default bus that turn events into alerts, and the failure path of that
 * asynchronous trigger: a DLQ on each target and an on-failure destination on the function.
 */
export class AlertEvents extends Construct {
  readonly rules: Rule[] = [];

  constructor(scope: Construct, id: string, props: AlertEventsProps) {
    super(scope, id);
    const patterns: Record<string, EventPattern> = {};
    for (const [name, pattern] of Object.entries(props.rules)) {
      patterns[name] = withoutOwnAlarms(
        name,
        pattern,
        props.ownAlarmPrefix,
        props.alarmNamePrefix,
      ) as EventPattern;
    }
    if (props.alarmNamePrefix !== undefined && !Object.values(props.rules).some(matchesAlarmEvents)) {
      throw new ContextValueError(
        'alarmNamePrefix',
        'scopes the rule for CloudWatch alarm state changes, but eventRules has none',
      );
    }
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

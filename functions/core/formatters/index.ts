import { createHash } from 'node:crypto';
import { logger } from '../logger.ts';
import { autoScalingFailure } from './autoscaling.ts';
import { batchJobStateChange } from './batch-job.ts';
import { cloudWatchAlarm } from './cloudwatch-alarm.ts';
import { codePipelineExecution } from './codepipeline.ts';
import { ec2InstanceStateChange } from './ec2-instance.ts';
import { ecsTaskStateChange } from './ecs-task.ts';
import { clip, eventHeaderValue, eventLabel, isRecord, textOf } from './event-text.ts';
import { formatGeneric } from './generic.ts';
import { guardDutyFinding } from './guardduty.ts';
import { healthEvent } from './health.ts';
import { scheduledEvent } from './scheduled.ts';
import { securityHubFindings } from './securityhub.ts';
import { type AnyEvent, type EventFormatter, type FormattedEvent, MAX_FACTS } from './types.ts';

/** Every source's formatter; the first whose `matches` says yes formats the event. */
export const FORMATTERS: readonly EventFormatter[] = [
  cloudWatchAlarm,
  guardDutyFinding,
  securityHubFindings,
  healthEvent,
  codePipelineExecution,
  ecsTaskStateChange,
  batchJobStateChange,
  autoScalingFailure,
  ec2InstanceStateChange,
  scheduledEvent,
];

const MAX_KEY = 200;
const MAX_LINKS = 10;
const MAX_SUMMARY_LINE = 1000;
const MAX_FACT_VALUE = 2000;

/** The formatter for an event, or undefined when only the generic rendering fits. */
export function formatterFor(event: AnyEvent): EventFormatter | undefined {
  return FORMATTERS.find((formatter) => {
    try {
      return formatter.matches(event);
    } catch {
      return false;
    }
  });
}

// A key longer than a header allows keeps its start (readable) and a digest of the whole (distinct).
function keyValue(key: string): string | undefined {
  const value = eventHeaderValue(key, Number.POSITIVE_INFINITY);
  if (value.length <= MAX_KEY) return value || undefined;
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return `${clip(value, MAX_KEY - 18)}#${digest}`;
}

/** A formatter's result as alert input: every value made fit for its place in the mail. */
export function toAlertInput(formatted: FormattedEvent, event: AnyEvent): Record<string, unknown> {
  const fields: Record<string, string> = {};
  for (const [label, value] of formatted.facts) {
    const key = eventLabel(label, 100);
    const text = clip(textOf(value).trim(), MAX_FACT_VALUE);
    if (key && text && !(key in fields) && key !== '__proto__') fields[key] = text;
    if (Object.keys(fields).length >= MAX_FACTS) break;
  }
  const summary = formatted.summary.map((line) => eventLabel(line, MAX_SUMMARY_LINE)).filter(Boolean);
  return {
    subject: eventHeaderValue(formatted.subject, 200) || 'EventBridge event',
    text: summary.length > 0 ? summary.join('\n') : undefined,
    severity: formatted.severity,
    status: formatted.status,
    source: eventHeaderValue(event.source, 200) || undefined,
    dedupKey: keyValue(formatted.key) ?? keyValue(textOf(event.id)),
    fields,
    links: formatted.links
      .slice(0, MAX_LINKS)
      .map((link) => ({ title: eventLabel(link.title, 200) || 'Link', url: link.url })),
  };
}

/**
 * Turns any EventBridge event into alert input: a custom event whose detail is already an alert passes
 * through (validated as strictly as one sent over HTTP); an event a formatter knows gets its subject,
 * severity, summary, key facts and console links; any other event, or one whose detail a formatter
 * cannot read, gets the generic rendering.
 */
export function eventToAlertInput(event: AnyEvent): Record<string, unknown> {
  const detail = event.detail;
  if (isRecord(detail) && typeof detail.subject === 'string') {
    return {
      source: eventHeaderValue(event.source, 200),
      dedupKey: eventHeaderValue(event.id, 200),
      ...detail,
    };
  }
  const formatter = formatterFor(event);
  let formatted: FormattedEvent | undefined;
  if (formatter) {
    try {
      formatted = formatter.format(event);
    } catch (error) {
      // A formatter bug must not cost the alert: the generic rendering still shows the whole event.
      logger.warn('Formatter failed; using the generic rendering', { formatter: formatter.name, error });
    }
  }
  return toAlertInput(formatted ?? formatGeneric(event), event);
}

import type { EventBridgeEvent } from 'aws-lambda';
import { SEVERITIES } from './alert.ts';

type AnyEvent = EventBridgeEvent<string, unknown>;

const MAX_FIELDS = 50;
const MAX_VALUE = 2000;

/** Whether a parsed JSON value looks like an EventBridge event envelope rather than a plain alert. */
export function isEventBridgeEvent(value: unknown): value is AnyEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['detail-type'] === 'string' &&
    typeof (value as Record<string, unknown>).source === 'string' &&
    'detail' in value
  );
}

function oneLine(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: folding control characters is the point
  const folded = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return folded.length > max ? `${folded.slice(0, max - 1)}…` : folded;
}

/** Flattens nested detail into readable `a.b[0].c` keys with string values. */
function flatten(value: unknown, prefix: string, into: Record<string, string>): void {
  if (Object.keys(into).length >= MAX_FIELDS) return;
  if (value === null || value === undefined) {
    if (prefix) into[prefix] = value === null ? 'null' : '';
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix) into[prefix] = '[]';
    value.forEach((item, index) => {
      flatten(item, `${prefix}[${index}]`, into);
    });
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) into[prefix] = '{}';
    for (const [key, item] of entries) flatten(item, prefix ? `${prefix}.${key}` : key, into);
    return;
  }
  const text = String(value);
  into[oneLine(prefix, 100) || 'value'] = text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

interface AlarmDetail {
  alarmName?: string;
  state?: { value?: string; reason?: string };
  previousState?: { value?: string };
}

/**
 * Turns any EventBridge event into alert input: custom events whose detail is already an alert
 * pass through; CloudWatch alarm changes get a subject and severity from the alarm; anything else
 * gets a generic rendering of its envelope and detail.
 */
export function eventToAlertInput(event: AnyEvent): Record<string, unknown> {
  const detail = event.detail;
  const envelope: Record<string, string> = {
    'detail-type': event['detail-type'],
    source: event.source,
    account: event.account,
    region: event.region,
    time: event.time,
  };
  if (event.resources?.length) envelope.resources = event.resources.join(', ');

  if (
    typeof detail === 'object' &&
    detail !== null &&
    typeof (detail as { subject?: unknown }).subject === 'string'
  ) {
    const input = detail as Record<string, unknown>;
    return { source: `${event.source}`, dedupKey: event.id, ...input };
  }

  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(envelope)) if (value) fields[key] = value;
  flatten(detail, 'detail', fields);

  if (event.source === 'aws.cloudwatch' && event['detail-type'] === 'CloudWatch Alarm State Change') {
    const alarm = detail as AlarmDetail;
    const state = alarm.state?.value ?? 'UNKNOWN';
    return {
      subject: oneLine(`${state}: ${alarm.alarmName ?? 'CloudWatch alarm'} (${event.region})`, 200),
      text: alarm.state?.reason,
      severity: state === 'ALARM' ? 'critical' : state === 'OK' ? 'info' : 'warning',
      source: event.source,
      dedupKey: event.id,
      fields,
    };
  }

  const declared = (detail as { severity?: unknown } | null)?.severity;
  const severity = SEVERITIES.find((level) => level === declared) ?? 'info';
  return {
    subject: oneLine(`${event['detail-type']} from ${event.source}`, 200),
    severity,
    source: oneLine(event.source, 200),
    dedupKey: oneLine(event.id, 200),
    fields,
  };
}

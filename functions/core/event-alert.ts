import type { EventBridgeEvent } from 'aws-lambda';
import { CONTROL_CHARACTERS, DISGUISING_CHARACTERS, SEVERITIES } from './alert.ts';
import { findTooDeep, MAX_JSON_DEPTH, truncateDepth } from './json-depth.ts';

type AnyEvent = EventBridgeEvent<string, unknown>;

/** parseAlert's limit on `fields`; one entry is kept for the note that more was left out. */
const MAX_FIELDS = 50;
const MAX_VALUE = 2000;
/** How deep `detail` is flattened into `detail.a.b[0]` keys; deeper parts are named, not shown. */
export const MAX_FLATTEN_DEPTH = 16;
/** The field that says the event had more values than one alert shows. */
export const TRUNCATED_FIELD = 'truncated';

const CONTROL_RUNS = new RegExp(`${CONTROL_CHARACTERS.source}+`, 'g');
const DISGUISES = new RegExp(DISGUISING_CHARACTERS.source, 'g');

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

// Cut at a code point boundary, never between the halves of a surrogate pair.
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/** An event value as text: absent values are empty, never "undefined" or "null". */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

// An event cannot be refused without losing the alert, so event-supplied text is made acceptable
// instead: control characters fold to a space and disguising characters are dropped.
function eventLabel(value: unknown, max: number): string {
  return clip(textOf(value).replace(CONTROL_RUNS, ' ').replace(DISGUISES, '').trim(), max);
}

/**
 * An event-supplied value bound for a header (subject, source, dedup key): as {@link eventLabel}, and
 * every `=?` becomes `= ?`, so no mail reader can decode an RFC 2047 encoded word out of it. The
 * value as sent stays readable in the body's fields.
 */
function eventHeaderValue(value: unknown, max: number): string {
  return clip(eventLabel(value, Number.POSITIVE_INFINITY).replaceAll('=?', '= ?'), max);
}

interface Flattened {
  fields: Record<string, string>;
  omitted: boolean;
}

/**
 * Flattens nested detail into readable `a.b[0].c` keys with string values, bounded in depth
 * ({@link MAX_FLATTEN_DEPTH}) and size (50 fields of at most 2000 characters), so any event renders.
 */
function flatten(value: unknown, prefix: string, depth: number, into: Flattened): void {
  if (Object.keys(into.fields).length >= MAX_FIELDS - 1) {
    into.omitted = true;
    return;
  }
  const key = eventLabel(prefix, 100) || 'value';
  if (value === null || value === undefined) {
    if (prefix) into.fields[key] = value === null ? 'null' : '';
    return;
  }
  if (typeof value === 'object' && depth > MAX_FLATTEN_DEPTH) {
    into.fields[key] = `… nested deeper than ${MAX_FLATTEN_DEPTH} levels; not shown`;
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix) into.fields[key] = '[]';
    for (const [index, item] of value.entries()) flatten(item, `${prefix}[${index}]`, depth + 1, into);
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) into.fields[key] = '{}';
    for (const [name, item] of entries) flatten(item, prefix ? `${prefix}.${name}` : name, depth + 1, into);
    return;
  }
  into.fields[key] = clip(String(value), MAX_VALUE);
}

interface AlarmDetail {
  alarmName?: unknown;
  state?: { value?: unknown; reason?: unknown };
}

/**
 * Turns any EventBridge event into alert input: custom events whose detail is already an alert
 * pass through; CloudWatch alarm changes get a subject and severity from the alarm; anything else
 * gets a generic rendering of its envelope and detail.
 */
export function eventToAlertInput(event: AnyEvent): Record<string, unknown> {
  const detail = event.detail;

  if (
    typeof detail === 'object' &&
    detail !== null &&
    typeof (detail as { subject?: unknown }).subject === 'string'
  ) {
    // The detail is the caller's alert and is validated as strictly as one sent over HTTP.
    const input = detail as Record<string, unknown>;
    return {
      source: eventHeaderValue(event.source, 200),
      dedupKey: eventHeaderValue(event.id, 200),
      ...input,
    };
  }

  const envelope: Record<string, unknown> = {
    'detail-type': event['detail-type'],
    source: event.source,
    account: event.account,
    region: event.region,
    time: event.time,
    resources: Array.isArray(event.resources) ? event.resources.join(', ') : event.resources,
  };
  const flattened: Flattened = { fields: {}, omitted: false };
  for (const [key, value] of Object.entries(envelope)) {
    const text = textOf(value);
    if (text) flattened.fields[key] = clip(text, MAX_VALUE);
  }
  flatten(detail, 'detail', 1, flattened);
  const fields = flattened.fields;
  if (flattened.omitted) fields[TRUNCATED_FIELD] = `… more of the event than ${MAX_FIELDS} fields; not shown`;

  if (event.source === 'aws.cloudwatch' && event['detail-type'] === 'CloudWatch Alarm State Change') {
    const alarm = (typeof detail === 'object' && detail !== null ? detail : {}) as AlarmDetail;
    const state = typeof alarm.state?.value === 'string' ? alarm.state.value : 'UNKNOWN';
    const name = typeof alarm.alarmName === 'string' ? alarm.alarmName : 'CloudWatch alarm';
    const reason = alarm.state?.reason;
    return {
      subject: eventHeaderValue(`${state}: ${name} (${eventLabel(event.region, 50)})`, 200),
      text: typeof reason === 'string' ? reason : undefined,
      severity: state === 'ALARM' ? 'critical' : state === 'OK' ? 'info' : 'warning',
      source: eventHeaderValue(event.source, 200),
      dedupKey: eventHeaderValue(event.id, 200),
      fields,
    };
  }

  const declared = (detail as { severity?: unknown } | null)?.severity;
  const severity = SEVERITIES.find((level) => level === declared) ?? 'info';
  return {
    subject:
      eventHeaderValue(
        `${eventLabel(event['detail-type'], 200)} from ${eventLabel(event.source, 200)}`,
        200,
      ) || 'EventBridge event',
    severity,
    source: eventHeaderValue(event.source, 200) || undefined,
    dedupKey: eventHeaderValue(event.id, 200) || undefined,
    fields,
  };
}

/**
 * The event as JSON for a dead-letter entry. JSON.stringify overflows the stack on an event nested
 * thousands of levels deep, so such an event is kept to {@link MAX_JSON_DEPTH} levels (deeper parts
 * become a note), which is also what the queue accepts when the entry is sent again.
 */
export function serialiseEvent(event: AnyEvent): string {
  if (!findTooDeep(event, MAX_JSON_DEPTH)) return JSON.stringify(event);
  return JSON.stringify(
    truncateDepth(event, `… nested deeper than ${MAX_JSON_DEPTH} levels; not kept`, MAX_JSON_DEPTH),
  );
}

import { type Alert, parseAlert } from './alert.ts';
import type { AlertConfig } from './config.ts';
import { clip } from './formatters/event-text.ts';
import { eventToAlertInput } from './formatters/index.ts';
import type { AnyEvent } from './formatters/types.ts';
import { findTooDeep, MAX_JSON_DEPTH, truncateDepth } from './json-depth.ts';

export { MAX_FLATTEN_DEPTH, TRUNCATED_FIELD } from './formatters/generic.ts';
export { eventToAlertInput };

/**
 * How much of the event the HTML part shows. Gmail clips a message past about 100 KB behind a "View
 * entire message" link, so the full event stays well below that.
 */
export const MAX_EVENT_JSON = 32 * 1024;

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

/** The event as indented JSON for the mail, cut at {@link MAX_EVENT_JSON} characters with a note. */
export function eventJson(event: AnyEvent): string {
  const bounded = findTooDeep(event, MAX_JSON_DEPTH)
    ? truncateDepth(event, `… nested deeper than ${MAX_JSON_DEPTH} levels; not shown`, MAX_JSON_DEPTH)
    : event;
  const text = JSON.stringify(bounded, null, 2);
  if (text.length <= MAX_EVENT_JSON) return text;
  return `${clip(text, MAX_EVENT_JSON)}\n… ${text.length - MAX_EVENT_JSON} more characters not shown`;
}

/**
 * The alert an EventBridge event becomes (see {@link eventToAlertInput}), validated, with the event
 * itself for the HTML part. Throws {@link AlertValidationError} as `parseAlert` does.
 */
export function alertFromEvent(
  event: AnyEvent,
  config: Pick<AlertConfig, 'alertTo' | 'allowedRecipients'>,
): Alert {
  return { ...parseAlert(eventToAlertInput(event), config), event: eventJson(event) };
}

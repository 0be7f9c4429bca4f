import type { AnyEvent } from './formatters/types.ts';
import { findTooDeep, MAX_JSON_DEPTH, truncateDepth } from './json-depth.ts';

export { MAX_FLATTEN_DEPTH, TRUNCATED_FIELD } from './formatters/generic.ts';
export { eventToAlertInput } from './formatters/index.ts';

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

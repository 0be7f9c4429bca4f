import { SEVERITIES } from '../alert.ts';
import { clip, eventHeaderValue, eventLabel, textOf } from './event-text.ts';
import { type AnyEvent, type FormattedEvent, MAX_FACTS } from './types.ts';

const MAX_VALUE = 2000;
/** How deep `detail` is flattened into `detail.a.b[0]` keys; deeper parts are named, not shown. */
export const MAX_FLATTEN_DEPTH = 16;
/** The fact that says the event had more values than the text part shows. */
export const TRUNCATED_FIELD = 'truncated';

interface Flattened {
  facts: [string, string][];
  omitted: boolean;
}

// Leaves one slot for the note that more was left out.
const full = (into: Flattened) => into.facts.length >= MAX_FACTS - 1;

/**
 * Flattens nested detail into readable `a.b[0].c` keys with string values, bounded in depth
 * ({@link MAX_FLATTEN_DEPTH}) and in count ({@link MAX_FACTS}), so any event renders.
 */
function flatten(value: unknown, prefix: string, depth: number, into: Flattened): void {
  if (full(into)) {
    into.omitted = true;
    return;
  }
  const key = eventLabel(prefix, 100) || 'value';
  if (value === null || value === undefined) {
    if (prefix) into.facts.push([key, value === null ? 'null' : '']);
    return;
  }
  if (typeof value === 'object' && depth > MAX_FLATTEN_DEPTH) {
    into.facts.push([key, `… nested deeper than ${MAX_FLATTEN_DEPTH} levels; not shown`]);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix) into.facts.push([key, '[]']);
    for (const [index, item] of value.entries()) flatten(item, `${prefix}[${index}]`, depth + 1, into);
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) into.facts.push([key, '{}']);
    for (const [name, item] of entries) flatten(item, prefix ? `${prefix}.${name}` : name, depth + 1, into);
    return;
  }
  into.facts.push([key, clip(String(value), MAX_VALUE)]);
}

/**
 * The fallback for events no formatter knows: the envelope and the first of the detail's values,
 * flattened. The full event is in the mail's HTML part.
 */
export function formatGeneric(event: AnyEvent): FormattedEvent {
  const flattened: Flattened = { facts: [], omitted: false };
  const envelope: [string, unknown][] = [
    ['detail-type', event['detail-type']],
    ['source', event.source],
    ['account', event.account],
    ['region', event.region],
    ['time', event.time],
    ['resources', Array.isArray(event.resources) ? event.resources.map(textOf).join(', ') : event.resources],
  ];
  for (const [key, value] of envelope) {
    const text = textOf(value);
    if (text) flattened.facts.push([key, clip(text, MAX_VALUE)]);
  }
  flatten(event.detail, 'detail', 1, flattened);
  if (flattened.omitted) {
    flattened.facts.push([TRUNCATED_FIELD, '… more of the event than the mail shows: see the full event']);
  }
  const declared = (event.detail as { severity?: unknown } | null)?.severity;
  return {
    subject:
      eventHeaderValue(
        `${eventLabel(event['detail-type'], 200)} from ${eventLabel(event.source, 200)}`,
        200,
      ) || 'EventBridge event',
    severity: SEVERITIES.find((level) => level === declared) ?? 'info',
    status: 'firing',
    summary: [],
    facts: flattened.facts,
    links: [],
    key: textOf(event.id),
  };
}

// Event values are untrusted: any of them may be missing, of the wrong type or hostile. These helpers
// read them defensively and make them fit a mail, so formatters stay small and never throw.
import { CONTROL_CHARACTERS, DISGUISING_CHARACTERS } from '../alert.ts';

const CONTROL_RUNS = new RegExp(`${CONTROL_CHARACTERS.source}+`, 'g');
const DISGUISES = new RegExp(DISGUISING_CHARACTERS.source, 'g');

/** Cuts text to `max` characters with an ellipsis, never between the halves of a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/** An event value as text: absent values are empty, never "undefined" or "null". */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return '';
  return String(value);
}

/**
 * An event value made fit for one line of a mail. An event cannot be refused without losing the
 * alert, so instead control characters fold to a space and disguising characters are dropped.
 */
export function eventLabel(value: unknown, max: number): string {
  return clip(textOf(value).replace(CONTROL_RUNS, ' ').replace(DISGUISES, '').trim(), max);
}

/**
 * An event value bound for a header (subject, source, key): as {@link eventLabel}, and every `=?`
 * becomes `= ?`, so no mail reader can decode an RFC 2047 encoded word out of it.
 */
export function eventHeaderValue(value: unknown, max: number): string {
  return clip(eventLabel(value, Number.POSITIVE_INFINITY).replaceAll('=?', '= ?'), max);
}

/** Whether a value is a plain JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a nested member (`at(event.detail, 'state', 'value')`), undefined when any step is missing. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof step === 'number' ? !Array.isArray(current) : !isRecord(current)) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** A nested member when it is a non-empty string. */
export function stringAt(value: unknown, ...path: (string | number)[]): string | undefined {
  const found = at(value, ...path);
  return typeof found === 'string' && found.trim() !== '' ? found : undefined;
}

/** A nested member when it is a finite number (or a string holding one, as some services send). */
export function numberAt(value: unknown, ...path: (string | number)[]): number | undefined {
  const found = at(value, ...path);
  const number = typeof found === 'string' && found.trim() !== '' ? Number(found) : found;
  return typeof number === 'number' && Number.isFinite(number) ? number : undefined;
}

/** A nested member when it is an array; an empty array otherwise. */
export function arrayAt(value: unknown, ...path: (string | number)[]): unknown[] {
  const found = at(value, ...path);
  return Array.isArray(found) ? found : [];
}

/**
 * The name an ARN gives after its resource type: `arn:…:cluster/prod` with `cluster` is `prod`,
 * `arn:…:task-definition/web:7` with `task-definition` is `web:7`. Undefined when the value is not such an ARN.
 */
export function arnResource(arn: unknown, type: string): string | undefined {
  if (typeof arn !== 'string' || !arn.startsWith('arn:')) return undefined;
  const marker = `:${type}/`;
  const start = arn.indexOf(marker);
  if (start < 0) return undefined;
  const name = arn.slice(start + marker.length);
  return name.trim() === '' ? undefined : name;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseAlert } from '../../../functions/core/alert.ts';
import { toAlertInput } from '../../../functions/core/formatters/index.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from '../../../functions/core/formatters/types.ts';

const EVENTS = join(import.meta.dirname, '../../../events');

/** An event from `events/<name>.json`, parsed afresh on every call so a test may change it. */
export function loadEvent(name: string): AnyEvent {
  return JSON.parse(readFileSync(join(EVENTS, `${name}.json`), 'utf8')) as AnyEvent;
}

/** The event with its detail replaced, or merged with `patch` when it is an object. */
export function withDetail(event: AnyEvent, patch: unknown): AnyEvent {
  const detail =
    typeof patch === 'object' && patch !== null && !Array.isArray(patch)
      ? { ...(event.detail as object), ...patch }
      : patch;
  return { ...event, detail };
}

/** What the formatter makes of the event; fails the test when it falls back to the generic rendering. */
export function format(formatter: EventFormatter, event: AnyEvent): FormattedEvent {
  expect(formatter.matches(event)).toBe(true);
  const formatted = formatter.format(event);
  if (!formatted) throw new Error(`${formatter.name} left ${event['detail-type']} to the generic rendering`);
  return formatted;
}

/** The facts the mail shows (empty ones are dropped, as `toAlertInput` does), by label. */
export function factsOf(formatted: FormattedEvent): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const [label, value] of formatted.facts) {
    const text = value === undefined || value === null ? '' : String(value);
    if (text !== '' && !(label in facts)) facts[label] = text;
  }
  return facts;
}

const config = {
  alertTo: ['oncall@example.com'],
  allowedRecipients: { addresses: new Set(['oncall@example.com']), domains: new Set<string>() },
};

/** The formatted event as the alert that is mailed: proves it passes the same validation as HTTP input. */
export const asAlert = (formatted: FormattedEvent, event: AnyEvent) =>
  parseAlert(toAlertInput(formatted, event), config);

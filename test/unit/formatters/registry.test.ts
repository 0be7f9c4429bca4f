import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlert } from '../../../functions/core/alert.ts';
import { eventToAlertInput, FORMATTERS, formatterFor } from '../../../functions/core/formatters/index.ts';
import type { AnyEvent } from '../../../functions/core/formatters/types.ts';
import { asAlert, loadEvent } from './fixtures.ts';

// Each formatter's fixtures, as the registry must route them.
const ROUTES: [fixture: string, formatter: string][] = [
  ['eventbridge-alarm', 'cloudwatch-alarm'],
  ['eventbridge-alarm-ok', 'cloudwatch-alarm'],
  ['eventbridge-alarm-composite', 'cloudwatch-alarm'],
  ['eventbridge-alarm-math', 'cloudwatch-alarm'],
  ['eventbridge-alarm-anomaly', 'cloudwatch-alarm'],
  ['eventbridge-guardduty', 'guardduty-finding'],
  ['eventbridge-securityhub', 'securityhub-findings'],
  ['eventbridge-health', 'health-event'],
  ['eventbridge-codepipeline-failed', 'codepipeline-execution'],
  ['eventbridge-codepipeline-stage', 'codepipeline-execution'],
  ['eventbridge-codepipeline-action-failed', 'codepipeline-execution'],
  ['eventbridge-codepipeline-succeeded', 'codepipeline-execution'],
  ['eventbridge-ecs-task-stopped', 'ecs-task-state-change'],
  ['eventbridge-batch-failed', 'batch-job-state-change'],
  ['eventbridge-autoscaling-launch-failed', 'autoscaling-failure'],
  ['eventbridge-ec2-state', 'ec2-instance-state-change'],
  ['eventbridge-ec2-state-running', 'ec2-instance-state-change'],
  ['eventbridge-ec2-state-eu-west-1', 'ec2-instance-state-change'],
  ['eventbridge-scheduled', 'scheduled-event'],
];

const config = {
  alertTo: ['oncall@example.com'],
  allowedRecipients: { addresses: new Set(['oncall@example.com']), domains: new Set<string>() },
};

const fixtureOf = (name: string) => ROUTES.find(([, formatter]) => formatter === name)?.[0] ?? '';

const HOSTILE_VALUES: unknown[] = [
  null,
  [],
  {},
  ['x'],
  { nested: { deeper: [1] } },
  0,
  -1,
  Number.MAX_VALUE,
  true,
  '',
  '   ',
  'x'.repeat(100_000),
  'a=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=\r\nBcc: x@evil.example\u202e',
  '__proto__',
  // Bounded in depth and size by what an event may be (256 KB), not by what a formatter expects.
  JSON.parse(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`),
  JSON.parse(`${'['.repeat(2000)}${']'.repeat(2000)}`),
  Array.from({ length: 20_000 }, (_, index) => ({ id: index, name: `item-${index}` })),
];

/** Every path to a value in a JSON document, the document itself excluded. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value);
  return entries.flatMap(([key, item]) => [[...prefix, key], ...pathsOf(item, [...prefix, key])]);
}

function replaced(event: AnyEvent, path: (string | number)[], replacement: unknown): AnyEvent {
  const copy = structuredClone(event) as unknown as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  parent[path.at(-1) as string | number] = replacement;
  return copy as unknown as AnyEvent;
}

/** Formats the event and, when a formatter took it, checks the alert passes validation. */
function formatsSafely(formatter: (typeof FORMATTERS)[number], event: AnyEvent): void {
  const formatted = formatter.format(event);
  if (formatted) asAlert(formatted, event);
}

describe('FORMATTERS', () => {
  it.each(ROUTES)('routes %s to %s, into an alert that passes validation', (fixture, name) => {
    const event = loadEvent(fixture);

    const formatter = formatterFor(event);
    const formatted = formatter?.format(event);

    expect(formatter?.name).toBe(name);
    expect(formatted).toBeDefined();
    if (formatted) expect(asAlert(formatted, event).subject).toBe(formatted.subject);
  });

  it('routes an event from an unknown source to no formatter', () => {
    expect(formatterFor(loadEvent('eventbridge-unknown'))).toBeUndefined();
  });

  it('has a fixture for every formatter', () => {
    expect(FORMATTERS.map((formatter) => fixtureOf(formatter.name))).not.toContain('');
  });

  describe.each(FORMATTERS.map((formatter) => [formatter.name, formatter] as const))(
    '%s',
    (_name, formatter) => {
      it('never throws and never makes an invalid alert when any value of its fixture is hostile', () => {
        const event = loadEvent(fixtureOf(formatter.name));
        const paths = [
          ...pathsOf(event.detail).map((path) => ['detail', ...path]),
          ['detail'],
          ['region'],
          ['resources'],
        ];

        for (const path of paths) {
          for (const value of HOSTILE_VALUES) {
            expect(
              () => formatsSafely(formatter, replaced(event, path, value)),
              path.join('.'),
            ).not.toThrow();
          }
        }
      });

      it('never throws on any JSON detail', () => {
        const event = loadEvent(fixtureOf(formatter.name));

        fc.assert(
          fc.property(fc.jsonValue({ maxDepth: 12 }), (detail) => {
            formatsSafely(formatter, { ...event, detail });
          }),
          { numRuns: 200 },
        );
      });
    },
  );
});

describe('eventToAlertInput', () => {
  it('makes a valid alert of any event that is not a custom alert, falling back instead of throwing', () => {
    const sources = [...ROUTES.map(([fixture]) => loadEvent(fixture)), loadEvent('eventbridge-unknown')];
    fc.assert(
      fc.property(
        fc.constantFrom(...sources),
        fc
          .jsonValue({ maxDepth: 12 })
          .filter((detail) => typeof (detail as { subject?: unknown })?.subject !== 'string'),
        (event, detail) => {
          const alert = parseAlert(eventToAlertInput({ ...event, detail }), config);
          expect(alert.subject.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { scheduledEvent } from '../../../functions/core/formatters/scheduled.ts';
import type { AnyEvent } from '../../../functions/core/formatters/types.ts';
import { factsOf, format, loadEvent } from './fixtures.ts';

describe('scheduledEvent', () => {
  it('is an info heartbeat named after its rule, keyed by the rule ARN', () => {
    const formatted = format(scheduledEvent, loadEvent('eventbridge-scheduled'));

    expect(formatted.subject).toBe('Heartbeat from alerts-heartbeat');
    expect(formatted.severity).toBe('info');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe('arn:aws:events:us-east-1:123456789012:rule/alerts-heartbeat');
    expect(formatted.summary).toEqual(['The schedule fired at 2026-11-25T03:00:00Z']);
    expect(factsOf(formatted)).toMatchObject({ Rule: 'alerts-heartbeat', Region: 'us-east-1' });
    expect(formatted.links).toEqual([
      {
        title: 'Open the rule',
        url: 'https://us-east-1.console.aws.amazon.com/events/home?region=us-east-1#/eventbus/default/rules/alerts-heartbeat',
      },
    ]);
  });

  it('reads the rule name after its bus, and skips resources that are not rule ARNs', () => {
    const event = {
      ...loadEvent('eventbridge-scheduled'),
      resources: [42, 'i-123', 'arn:aws:events:us-east-1:123456789012:rule/ops-bus/nightly-check'],
    } as unknown as AnyEvent;

    const formatted = format(scheduledEvent, event);

    expect(formatted.subject).toBe('Heartbeat from nightly-check');
    expect(formatted.links[0]?.url).toContain('#/eventbus/ops-bus/rules/nightly-check');
  });

  it.each([
    ['no resources', []],
    ['resources that are not a list', 'arn:aws:events:us-east-1:123456789012:rule/x'],
  ])('leaves an event with %s to the generic rendering', (_case, resources) => {
    expect(
      scheduledEvent.format({ ...loadEvent('eventbridge-scheduled'), resources } as unknown as AnyEvent),
    ).toBeUndefined();
  });
});

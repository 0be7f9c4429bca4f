import { describe, expect, it } from 'vitest';
import { eventTypeInWords, healthEvent, healthSeverity } from '../../../functions/core/formatters/health.ts';
import { factsOf, format, loadEvent, withDetail } from './fixtures.ts';

describe('healthEvent', () => {
  it('names the event type in words with its region, keyed by the event ARN, high for an issue', () => {
    const formatted = format(healthEvent, loadEvent('eventbridge-health'));

    expect(formatted.subject).toBe('EC2 instance store drive performance degraded (us-east-1)');
    expect(formatted.severity).toBe('high');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe(
      'arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED/AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED_90353408594353980',
    );
    expect(formatted.summary[0]).toBe(
      'The performance of one or more instance store drives attached to your EC2 instance i-0abcd1234ef567890 has degraded.',
    );
    expect(factsOf(formatted)).toMatchObject({
      Service: 'EC2',
      Category: 'issue',
      Status: 'open',
      Start: 'Tue, 24 Nov 2026 06:02:51 GMT',
      Affected: 'i-0abcd1234ef567890',
      Region: 'us-east-1',
    });
    expect(formatted.links[0]?.url).toBe(
      'https://us-east-1.console.aws.amazon.com/health/home?region=us-east-1#/account/event-log?eventID=arn%3Aaws%3Ahealth%3Aus-east-1%3A%3Aevent%2FEC2%2FAWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED%2FAWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED_90353408594353980&eventTab=details',
    );
  });

  it('resolves the thread when Health closes the event, under the same subject', () => {
    const open = format(healthEvent, loadEvent('eventbridge-health'));
    const closed = format(
      healthEvent,
      withDetail(loadEvent('eventbridge-health'), {
        statusCode: 'closed',
        endTime: 'Tue, 24 Nov 2026 09:15:00 GMT',
      }),
    );

    expect(closed).toMatchObject({
      status: 'resolved',
      severity: 'info',
      subject: open.subject,
      key: open.key,
    });
    expect(factsOf(closed).End).toBe('Tue, 24 Nov 2026 09:15:00 GMT');
  });

  it('lists the first five affected entities and counts the rest', () => {
    const affectedEntities = Array.from({ length: 8 }, (_, index) => ({ entityValue: `i-0000000${index}` }));

    const formatted = format(healthEvent, withDetail(loadEvent('eventbridge-health'), { affectedEntities }));

    expect(factsOf(formatted).Affected).toBe(
      'i-00000000, i-00000001, i-00000002, i-00000003, i-00000004 and 3 more',
    );
  });

  it('prefers the English description and clips its first line to 300 characters', () => {
    const eventDescription = [
      { language: 'fr_FR', latestDescription: 'Les performances…' },
      { language: 'en_US', latestDescription: `\n${'x'.repeat(5000)}\nsecond line` },
    ];

    const [first] = format(
      healthEvent,
      withDetail(loadEvent('eventbridge-health'), { eventDescription }),
    ).summary;

    expect(first).toBe(`${'x'.repeat(299)}…`);
  });

  it('says the event type and status when there is no description', () => {
    const formatted = format(
      healthEvent,
      withDetail(loadEvent('eventbridge-health'), { eventDescription: {} }),
    );

    expect(formatted.summary[0]).toBe('AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED (open)');
  });

  it.each([
    ['no event ARN', { eventArn: undefined }],
    ['no event type code', { eventTypeCode: 42 }],
  ])('leaves an event with %s to the generic rendering', (_case, patch) => {
    expect(healthEvent.format(withDetail(loadEvent('eventbridge-health'), patch))).toBeUndefined();
  });
});

describe('healthSeverity', () => {
  it.each([
    ['issue', 'high'],
    ['investigation', 'warning'],
    ['scheduledChange', 'warning'],
    ['accountNotification', 'info'],
    ['somethingNew', 'warning'],
    ['toString', 'warning'],
    [undefined, 'warning'],
  ])('maps category %s to %s', (category, severity) => {
    expect(healthSeverity(category)).toBe(severity);
  });
});

describe('eventTypeInWords', () => {
  it.each([
    [
      'AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED',
      'EC2',
      'EC2 instance store drive performance degraded',
    ],
    ['AWS_RDS_MAINTENANCE_SCHEDULED', 'RDS', 'RDS maintenance scheduled'],
    [
      'AWS_ELASTICLOADBALANCING_OPERATIONAL_ISSUE',
      'ELASTICLOADBALANCING',
      'ELASTICLOADBALANCING operational issue',
    ],
    ['AWS_PLANNED_LIFECYCLE_EVENT', 'LAMBDA', 'LAMBDA planned lifecycle event'],
    ['AWS_EC2_OPERATIONAL_ISSUE', undefined, 'EC2 operational issue'],
    ['AWS_', undefined, 'AWS_'],
  ])('reads %s (service %s) as "%s"', (code, service, words) => {
    expect(eventTypeInWords(code, service)).toBe(words);
  });
});

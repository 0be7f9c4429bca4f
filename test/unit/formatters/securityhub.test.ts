import { describe, expect, it } from 'vitest';
import {
  securityHubFindings,
  securityHubLabel,
  securityHubSeverity,
} from '../../../functions/core/formatters/securityhub.ts';
import type { AnyEvent } from '../../../functions/core/formatters/types.ts';
import { asAlert, factsOf, format, loadEvent, withDetail } from './fixtures.ts';

type Finding = Record<string, unknown>;
const findingsOf = (event: AnyEvent) => (event.detail as { findings: Finding[] }).findings;
const withFindings = (findings: unknown[]) => withDetail(loadEvent('eventbridge-securityhub'), { findings });

const IAM6 =
  'arn:aws:securityhub:us-east-1:123456789012:security-control/IAM.6/finding/5b2e9d41-8a3c-4f70-b1d6-2c9e8f7a6b53';

describe('securityHubFindings', () => {
  it('sends one mail for a batch of three, most severe first, as severe as its worst finding', () => {
    const event = loadEvent('eventbridge-securityhub');

    const formatted = format(securityHubFindings, event);

    expect(formatted.subject).toBe(
      '3 Security Hub findings: Hardware MFA should be enabled for the root user and 2 more',
    );
    expect(formatted.severity).toBe('critical');
    expect(formatted.status).toBe('firing');
    expect(formatted.summary.filter(Boolean)).toEqual([
      'CRITICAL: Hardware MFA should be enabled for the root user (AWS::::Account:123456789012)',
      'HIGH: S3 general purpose buckets should block public access (arn:aws:s3:::orders-exports)',
      'MEDIUM: EC2 instances should be managed by AWS Systems Manager (arn:aws:ec2:us-east-1:123456789012:instance/i-0abcd1234ef567890)',
    ]);
    expect(factsOf(formatted)).toMatchObject({
      Findings: '3',
      'By severity': '1 CRITICAL, 1 HIGH, 1 MEDIUM',
      Products: 'Security Hub',
      Account: '123456789012',
      Region: 'us-east-1',
    });
    expect(formatted.links[0]).toEqual({
      title: 'Open the findings in Security Hub',
      url: 'https://us-east-1.console.aws.amazon.com/securityhub/home?region=us-east-1#/findings',
    });
    expect(formatted.links).toHaveLength(4);
    expect(asAlert(formatted, event).links).toHaveLength(4);
  });

  it('keys a batch by its sorted ids, so the same findings in another order are the same thread', () => {
    const event = loadEvent('eventbridge-securityhub');
    const reversed = withFindings([...findingsOf(event)].reverse());
    const fewer = withFindings(findingsOf(event).slice(0, 2));

    const key = format(securityHubFindings, event).key;

    expect(key).toMatch(/^securityhub:[0-9a-f]{32}$/);
    expect(format(securityHubFindings, reversed).key).toBe(key);
    expect(format(securityHubFindings, fewer).key).not.toBe(key);
  });

  it('names a single finding by its title, keyed by its id, linked to it', () => {
    const [, iam] = findingsOf(loadEvent('eventbridge-securityhub'));

    const formatted = format(securityHubFindings, withFindings([iam]));

    expect(formatted.subject).toBe('Hardware MFA should be enabled for the root user');
    expect(formatted.key).toBe(IAM6);
    expect(formatted.summary[0]).toBe(
      'CRITICAL: Hardware MFA should be enabled for the root user (AWS::::Account:123456789012)',
    );
    expect(factsOf(formatted)).toMatchObject({
      Severity: 'CRITICAL',
      Resource: 'AwsAccount AWS::::Account:123456789012',
      Compliance: 'FAILED',
      Workflow: 'NEW',
      Finding: IAM6,
    });
    expect(formatted.links).toEqual([
      {
        title: 'Open the finding in Security Hub',
        url:
          'https://us-east-1.console.aws.amazon.com/securityhub/home?region=us-east-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A' +
          'arn%253Aaws%253Asecurityhub%253Aus-east-1%253A123456789012%253Asecurity-control%252FIAM.6%252Ffinding%252F5b2e9d41-8a3c-4f70-b1d6-2c9e8f7a6b53',
      },
    ]);
  });

  it('resolves only when every finding is resolved or passed, and rates a batch by its open findings', () => {
    const [s3, iam, ssm] = findingsOf(loadEvent('eventbridge-securityhub')) as [Finding, Finding, Finding];
    const resolved = { ...s3, Workflow: { Status: 'RESOLVED' } };
    const passed = { ...iam, Compliance: { Status: 'PASSED' } };

    const all = format(securityHubFindings, withFindings([resolved, passed]));
    const notAll = format(securityHubFindings, withFindings([resolved, passed, ssm]));

    expect(all).toMatchObject({ status: 'resolved', severity: 'info' });
    // The resolved CRITICAL and HIGH no longer count: the open MEDIUM sets the severity and leads.
    expect(notAll).toMatchObject({ status: 'firing', severity: 'warning' });
    expect(notAll.subject).toBe(
      '3 Security Hub findings: EC2 instances should be managed by AWS Systems Manager and 2 more',
    );
    expect(notAll.summary[1]).toBe(
      'CRITICAL, resolved: Hardware MFA should be enabled for the root user (AWS::::Account:123456789012)',
    );
  });

  it('lists ten findings and counts the rest', () => {
    const [s3] = findingsOf(loadEvent('eventbridge-securityhub')) as [Finding];
    const findings = Array.from({ length: 25 }, (_, index) => ({ ...s3, Id: `finding-${index}` }));

    const formatted = format(securityHubFindings, withFindings(findings));

    expect(formatted.summary.filter(Boolean)).toHaveLength(11);
    expect(formatted.summary[10]).toBe('and 15 more');
    expect(formatted.subject).toBe(
      '25 Security Hub findings: S3 general purpose buckets should block public access and 24 more',
    );
  });

  it('skips entries that are not findings and leaves an event without any to the generic rendering', () => {
    const [s3] = findingsOf(loadEvent('eventbridge-securityhub'));

    expect(format(securityHubFindings, withFindings([null, 'x', [], { Id: 'no title' }, s3])).key).toBe(
      (s3 as Finding).Id,
    );
    expect(securityHubFindings.format(withFindings([]))).toBeUndefined();
    expect(
      securityHubFindings.format(withDetail(loadEvent('eventbridge-securityhub'), { findings: {} })),
    ).toBeUndefined();
  });
});

describe('securityHubSeverity', () => {
  it.each([
    ['CRITICAL', 'critical'],
    ['HIGH', 'high'],
    ['MEDIUM', 'warning'],
    ['LOW', 'info'],
    ['INFORMATIONAL', 'info'],
  ] as const)('maps %s to %s', (label, severity) => {
    expect(securityHubSeverity(label)).toBe(severity);
  });
});

describe('securityHubLabel', () => {
  it.each([
    [{ Label: 'high' }, 'HIGH'],
    [{ Label: 'BOGUS', Normalized: 95 }, 'CRITICAL'],
    [{ Normalized: 90 }, 'CRITICAL'],
    [{ Normalized: 89 }, 'HIGH'],
    [{ Normalized: 70 }, 'HIGH'],
    [{ Normalized: 69 }, 'MEDIUM'],
    [{ Normalized: 40 }, 'MEDIUM'],
    [{ Normalized: 39 }, 'LOW'],
    [{ Normalized: 1 }, 'LOW'],
    [{ Normalized: 0 }, 'INFORMATIONAL'],
    [{}, 'INFORMATIONAL'],
  ])('reads severity %j as %s', (severity, label) => {
    expect(securityHubLabel({ Severity: severity })).toBe(label);
  });
});

import { describe, expect, it } from 'vitest';
import { guardDutyFinding, guardDutyLevel } from '../../../functions/core/formatters/guardduty.ts';
import { asAlert, factsOf, format, loadEvent, withDetail } from './fixtures.ts';

describe('guardDutyFinding', () => {
  it('names the finding by its title, keyed by its id, HIGH on GuardDuty scale 8', () => {
    const event = loadEvent('eventbridge-guardduty');

    const formatted = format(guardDutyFinding, event);

    expect(formatted.subject).toBe(
      'Bitcoin-related domain name queried by EC2 instance i-0abcd1234ef567890.',
    );
    expect(formatted.severity).toBe('high');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe('16afba5c5c43e07c9e3e5e2e544e95df');
    expect(formatted.summary[0]).toBe(
      'HIGH severity 8: EC2 instance i-0abcd1234ef567890 is querying a domain name that is associated with Bitcoin-related activity.',
    );
    expect(factsOf(formatted)).toMatchObject({
      Type: 'CryptoCurrency:EC2/BitcoinTool.B!DNS',
      Severity: '8 (HIGH)',
      Resource: 'Instance i-0abcd1234ef567890',
      Account: '123456789012',
      Region: 'us-east-1',
      'First seen': '2026-11-24T19:58:03Z',
      'Last seen': '2026-11-24T20:07:19Z',
      Count: '14',
    });
    expect(formatted.links).toEqual([
      {
        title: 'Open the finding in GuardDuty',
        url: 'https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId=16afba5c5c43e07c9e3e5e2e544e95df',
      },
    ]);
    expect(asAlert(formatted, event).dedupKey).toBe('16afba5c5c43e07c9e3e5e2e544e95df');
  });

  it('names an access key with its user, and falls back to the type when there is no title', () => {
    const event = withDetail(loadEvent('eventbridge-guardduty'), {
      title: undefined,
      resource: {
        resourceType: 'AccessKey',
        accessKeyDetails: { accessKeyId: 'ASIAEXAMPLE1234', userName: 'deploy-bot', userType: 'IAMUser' },
      },
    });

    const formatted = format(guardDutyFinding, event);

    expect(formatted.subject).toBe('CryptoCurrency:EC2/BitcoinTool.B!DNS');
    expect(factsOf(formatted).Resource).toBe('AccessKey ASIAEXAMPLE1234 (deploy-bot)');
  });

  it('names the first bucket of an S3 finding', () => {
    const event = withDetail(loadEvent('eventbridge-guardduty'), {
      resource: {
        resourceType: 'S3Bucket',
        s3BucketDetails: [{ name: 'orders-exports' }, { name: 'other' }],
      },
    });

    expect(factsOf(format(guardDutyFinding, event)).Resource).toBe('S3Bucket orders-exports');
  });

  it.each([
    ['no id', { id: undefined }],
    ['no severity', { severity: undefined }],
    ['a severity that is not a number', { severity: 'very' }],
    ['neither title nor type', { title: undefined, type: undefined }],
  ])('leaves a finding with %s to the generic rendering', (_case, patch) => {
    expect(guardDutyFinding.format(withDetail(loadEvent('eventbridge-guardduty'), patch))).toBeUndefined();
  });
});

describe('guardDutyLevel', () => {
  it.each([
    [1, 'LOW', 'info'],
    [3.9, 'LOW', 'info'],
    [3.95, 'LOW', 'info'],
    [4, 'MEDIUM', 'warning'],
    [6.9, 'MEDIUM', 'warning'],
    [7, 'HIGH', 'high'],
    [8.9, 'HIGH', 'high'],
    [9, 'CRITICAL', 'critical'],
    [10, 'CRITICAL', 'critical'],
  ])('reads GuardDuty severity %s as %s, our %s', (score, level, severity) => {
    expect(guardDutyLevel(score)).toEqual({ level, severity });
  });
});

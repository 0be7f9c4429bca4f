import { describe, expect, it } from 'vitest';
import { alarmSeverity, cloudWatchAlarm } from '../../../functions/core/formatters/cloudwatch-alarm.ts';
import { factsOf, format, loadEvent } from './fixtures.ts';

const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx-rate';

describe('cloudWatchAlarm', () => {
  it('resolves the alarm thread when it returns to OK, under the same subject and key', () => {
    const alarm = format(cloudWatchAlarm, loadEvent('eventbridge-alarm'));
    const ok = format(cloudWatchAlarm, loadEvent('eventbridge-alarm-ok'));

    expect(alarm).toMatchObject({ severity: 'critical', status: 'firing', key: ARN });
    expect(ok).toMatchObject({ severity: 'info', status: 'resolved', key: ARN, subject: alarm.subject });
    expect(ok.summary[0]).toMatch(
      /^OK \(was ALARM\): Threshold Crossed: 1 out of the last 1 datapoints \[1\.0/,
    );
    expect(factsOf(ok).State).toBe('OK (was ALARM)');
  });

  it('shows the rule of a composite alarm and takes the severity its description names', () => {
    const formatted = format(cloudWatchAlarm, loadEvent('eventbridge-alarm-composite'));

    expect(formatted).toMatchObject({
      subject: 'checkout-degraded (us-east-1)',
      severity: 'high',
      key: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-degraded',
    });
    expect(factsOf(formatted)).toMatchObject({
      'Composite alarm': 'checkout-degraded',
      Rule: 'ALARM(checkout-5xx-rate) OR ALARM(checkout-latency-p99)',
    });
  });

  it('shows the expression of a metric math alarm before the metrics it reads', () => {
    const formatted = format(cloudWatchAlarm, loadEvent('eventbridge-alarm-math'));

    expect(formatted.severity).toBe('warning');
    expect(formatted.summary[0]).toMatch(
      /^ALARM \(was OK\): Threshold Crossed: 3 out of the last 3 datapoints/,
    );
    const labels = formatted.facts.map(([label]) => label);
    expect(labels.indexOf('Expression')).toBeLessThan(labels.indexOf('Metric'));
    expect(factsOf(formatted)).toMatchObject({
      Expression: '100 * errors / requests (Error rate (%))',
      Metric: 'AWS/ApplicationELB HTTPCode_Target_5XX_Count',
    });
  });

  it('shows the band of an anomaly detection alarm', () => {
    const formatted = format(cloudWatchAlarm, loadEvent('eventbridge-alarm-anomaly'));

    expect(formatted.severity).toBe('critical');
    expect(factsOf(formatted)).toMatchObject({
      Metric: 'AWS/ApplicationELB TargetResponseTime',
      Statistic: 'p99 over 60 s',
      'Anomaly band': 'ANOMALY_DETECTION_BAND(m1, 2) (TargetResponseTime (expected))',
    });
    expect(formatted.links[0]?.url).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/checkout-latency-anomaly',
    );
  });
});

describe('alarmSeverity', () => {
  it.each([
    ['ALARM', undefined, 'critical'],
    ['ALARM', '5xx above 5%', 'critical'],
    ['ALARM', 'Checkout is slow (severity: high)', 'high'],
    ['ALARM', 'Severity=WARNING for the night shift', 'warning'],
    ['ALARM', 'severity: info', 'info'],
    ['ALARM', 'severity: urgent', 'critical'],
    ['INSUFFICIENT_DATA', 'severity: high', 'warning'],
    ['OK', 'severity: critical', 'info'],
  ])('maps %s with description %j to %s', (state, description, severity) => {
    expect(alarmSeverity(state, description)).toBe(severity);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventBridgeEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseAlert } from '../../functions/core/alert.ts';
import { eventToAlertInput, isEventBridgeEvent } from '../../functions/core/event-alert.ts';
import { renderAlert } from '../../functions/core/render.ts';

const load = (name: string) =>
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../../events', `${name}.json`), 'utf8'),
  ) as EventBridgeEvent<string, unknown>;
const config = {
  alertTo: ['oncall@example.com'],
  allowedRecipients: { addresses: new Set(['oncall@example.com']), domains: new Set<string>() },
};

describe('eventToAlertInput', () => {
  it('turns a CloudWatch alarm into a critical alert named after the alarm', () => {
    const alert = parseAlert(eventToAlertInput(load('eventbridge-alarm')), config);
    expect(alert.subject).toBe('ALARM: checkout-5xx-rate (us-east-1)');
    expect(alert.severity).toBe('critical');
    expect(alert.text).toContain('Threshold Crossed');
    expect(alert.dedupKey).toBe('c4c1c1c9-6542-e61b-6ef0-8c4d36933a92');
    expect(alert.fields['detail.configuration.metrics[0].metricStat.metric.name']).toBe(
      'HTTPCode_Target_5XX_Count',
    );
  });

  it('passes a custom event whose detail is an alert through', () => {
    const alert = parseAlert(eventToAlertInput(load('eventbridge-custom')), config);
    expect(alert).toMatchObject({
      subject: 'Nightly backup did not finish',
      severity: 'high',
      source: 'alerts.app',
    });
  });

  it('renders any other event generically, without [object Object] or undefined', () => {
    const event = load('eventbridge-generic');
    const alert = parseAlert(eventToAlertInput(event), config);
    expect(alert.subject).toBe('EC2 Instance State-change Notification from aws.ec2');
    expect(alert.fields).toMatchObject({
      'detail-type': 'EC2 Instance State-change Notification',
      source: 'aws.ec2',
      account: '123456789012',
      region: 'eu-west-1',
      time: '2026-11-24T19:00:00Z',
      resources: 'arn:aws:ec2:eu-west-1:123456789012:instance/i-0abcd1234ef567890',
      'detail.instance-id': 'i-0abcd1234ef567890',
      'detail.tags.team': 'payments',
      'detail.previous': 'null',
    });
    const { text, html } = renderAlert(alert);
    for (const part of [text, html]) {
      expect(part).not.toContain('[object Object]');
      expect(part).not.toContain('undefined');
    }
  });

  it('tells an event envelope from an alert', () => {
    expect(isEventBridgeEvent(load('eventbridge-generic'))).toBe(true);
    expect(isEventBridgeEvent({ subject: 'x', source: 'y' })).toBe(false);
  });
});

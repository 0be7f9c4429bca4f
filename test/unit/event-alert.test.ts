import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventBridgeEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseAlert } from '../../functions/core/alert.ts';
import { eventToAlertInput, isEventBridgeEvent, serialiseEvent } from '../../functions/core/event-alert.ts';
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
  it('turns a CloudWatch alarm into a critical alert named after the alarm, keyed by its ARN', () => {
    const alert = parseAlert(eventToAlertInput(load('eventbridge-alarm')), config);
    expect(alert.subject).toBe('checkout-5xx-rate (us-east-1)');
    expect(alert.severity).toBe('critical');
    expect(alert.status).toBe('firing');
    expect(alert.text).toMatch(/^ALARM \(was OK\): Threshold Crossed/);
    expect(alert.dedupKey).toBe('arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx-rate');
    expect(alert.fields.Metric).toBe('AWS/ApplicationELB HTTPCode_Target_5XX_Count');
  });

  it('formats an EC2 state change through its formatter rather than generically', () => {
    const alert = parseAlert(eventToAlertInput(load('eventbridge-ec2-state-eu-west-1')), config);
    expect(alert.subject).toBe('Instance i-0abcd1234ef567890 (eu-west-1)');
    expect(alert.severity).toBe('warning');
    expect(alert.dedupKey).toBe('i-0abcd1234ef567890');
  });

  it('passes a custom event whose detail is an alert through', () => {
    const alert = parseAlert(eventToAlertInput(load('eventbridge-custom')), config);
    expect(alert).toMatchObject({
      subject: 'Nightly backup did not finish',
      severity: 'high',
      source: 'alerts.app',
    });
  });

  it('renders an event from a source no formatter knows generically, without [object Object] or undefined', () => {
    const event = load('eventbridge-unknown');
    const alert = parseAlert(eventToAlertInput(event), config);
    expect(alert.subject).toBe('Stock Level Low from com.example.inventory');
    expect(alert.severity).toBe('info');
    expect(alert.dedupKey).toBe('2f6e8a1c-4b3d-4e5f-9a7b-8c9d0e1f2a3b');
    expect(alert.fields).toMatchObject({
      'detail-type': 'Stock Level Low',
      source: 'com.example.inventory',
      account: '123456789012',
      region: 'eu-west-1',
      time: '2026-11-24T19:00:00Z',
      resources: 'arn:aws:dynamodb:eu-west-1:123456789012:table/inventory',
      'detail.sku': 'SKU-1042',
      'detail.onHand': '3',
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
    expect(isEventBridgeEvent(load('eventbridge-unknown'))).toBe(true);
    expect(isEventBridgeEvent({ subject: 'x', source: 'y' })).toBe(false);
  });

  it('flattens a detail nested 100,000 levels deep to 16 levels, saying what it left out', () => {
    const event = load('eventbridge-unknown');
    event.detail = JSON.parse(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`);
    const alert = parseAlert(eventToAlertInput(event), config);
    expect(alert.fields).toMatchObject({
      [`detail${'.a'.repeat(16)}`]: '… nested deeper than 16 levels; not shown',
    });
    expect(Object.keys(alert.fields).filter((key) => key.startsWith('detail.'))).toHaveLength(1);
  });

  it('keeps a wide detail to 15 facts, the last saying more was left out', () => {
    const event = load('eventbridge-unknown');
    event.detail = { items: Array.from({ length: 10_000 }, (_, index) => index) };
    const alert = parseAlert(eventToAlertInput(event), config);
    expect(Object.keys(alert.fields)).toHaveLength(15);
    expect(alert.fields['detail.items[0]']).toBe('0');
    expect(alert.fields.truncated).toBe('… more of the event than the mail shows: see the full event');
  });

  it('neutralises an encoded word in an alarm name instead of refusing the alarm, keeping the name in the body', () => {
    const event = load('eventbridge-alarm');
    const name = 'db =?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?= high';
    (event.detail as { alarmName: string }).alarmName = name;
    const alert = parseAlert(eventToAlertInput(event), config);
    expect(alert.subject).toBe('db = ?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?= high (us-east-1)');
    expect(alert.fields.Alarm).toBe(name);
  });

  it('drops bidi controls and folds line breaks in event-supplied header values', () => {
    const event = {
      ...load('eventbridge-unknown'),
      'detail-type': 'Invoice\u202e fdp.exe\r\nBcc: x@evil.example',
      source: 'aws.\u200bec2 =?x?q?y?=',
      id: 'id\u2066-1',
    };
    const alert = parseAlert(eventToAlertInput(event), config);
    expect(alert.subject).toBe('Invoice fdp.exe Bcc: x@evil.example from aws.ec2 = ?x?q?y?=');
    expect(alert.source).toBe('aws.ec2 = ?x?q?y?=');
    expect(alert.dedupKey).toBe('id-1');
    expect(alert.fields['detail-type']).toBe(event['detail-type']);
  });

  it('refuses an encoded word in a custom alert, as over HTTP, but neutralises the event source it adds', () => {
    const event = { ...load('eventbridge-custom'), source: 'alerts.app=?b?' };
    expect(parseAlert(eventToAlertInput(event), config).source).toBe('alerts.app= ?b?');
    const detail = { subject: 'Backup =?utf-8?b?DQo=?= late' };
    expect(() => parseAlert(eventToAlertInput({ ...event, detail }), config)).toThrow(
      'subject: must not contain an RFC 2047 encoded word',
    );
  });

  it('renders an alarm whose name, state or reason is not a string generically, without [object Object]', () => {
    const event = load('eventbridge-alarm');
    event.detail = { alarmName: { evil: true }, state: { value: ['ALARM'], reason: { x: 1 } } };
    const alert = parseAlert(eventToAlertInput(event), config);
    expect(alert.subject).toBe('CloudWatch Alarm State Change from aws.cloudwatch');
    expect(alert.fields['detail.alarmName.evil']).toBe('true');
    expect(JSON.stringify(alert)).not.toContain('[object Object]');
  });
});

describe('serialiseEvent', () => {
  it('is JSON.stringify for an event within the depth limit', () => {
    const event = load('eventbridge-alarm');
    expect(serialiseEvent(event)).toBe(JSON.stringify(event));
  });

  it('keeps an event nested 100,000 levels deep to 32 levels instead of overflowing the stack', () => {
    const event = load('eventbridge-unknown');
    event.detail = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const parsed = JSON.parse(serialiseEvent(event));
    expect(parsed.id).toBe(event.id);
    // The event is level 1 and detail level 2: 31 arrays, then the note.
    expect(JSON.stringify(parsed.detail)).toBe(
      `${'['.repeat(31)}"… nested deeper than 32 levels; not kept"${']'.repeat(31)}`,
    );
  });
});

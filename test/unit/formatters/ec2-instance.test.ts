import { describe, expect, it } from 'vitest';
import { ec2InstanceStateChange, instanceSeverity } from '../../../functions/core/formatters/ec2-instance.ts';
import { factsOf, format, loadEvent, withDetail } from './fixtures.ts';

describe('ec2InstanceStateChange', () => {
  it('names the instance and region, keyed by the instance id, a warning when it stops', () => {
    const formatted = format(ec2InstanceStateChange, loadEvent('eventbridge-ec2-state'));

    expect(formatted.subject).toBe('Instance i-0f9e8d7c6b5a43210 (us-east-1)');
    expect(formatted.severity).toBe('warning');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe('i-0f9e8d7c6b5a43210');
    expect(formatted.summary[0]).toBe('stopped at 2026-11-24T19:42:07Z');
    expect(factsOf(formatted)).toMatchObject({
      Instance: 'i-0f9e8d7c6b5a43210',
      State: 'stopped',
      Account: '123456789012',
      Region: 'us-east-1',
    });
    expect(formatted.links).toEqual([
      {
        title: 'Open the instance',
        url: 'https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0f9e8d7c6b5a43210',
      },
    ]);
  });

  it('resolves the same thread when the instance runs again', () => {
    const stopped = format(ec2InstanceStateChange, loadEvent('eventbridge-ec2-state'));
    const running = format(ec2InstanceStateChange, loadEvent('eventbridge-ec2-state-running'));

    expect(running).toMatchObject({
      severity: 'info',
      status: 'resolved',
      subject: stopped.subject,
      key: stopped.key,
    });
    expect(running.summary[0]).toBe('running at 2026-11-24T19:49:33Z');
  });

  it.each([
    ['no instance id', { 'instance-id': undefined }],
    ['a state that is an object', { state: { name: 'stopped' } }],
  ])('leaves an event with %s to the generic rendering', (_case, patch) => {
    expect(
      ec2InstanceStateChange.format(withDetail(loadEvent('eventbridge-ec2-state'), patch)),
    ).toBeUndefined();
  });
});

describe('instanceSeverity', () => {
  it.each([
    ['pending', 'info', 'firing'],
    ['running', 'info', 'resolved'],
    ['stopping', 'warning', 'firing'],
    ['stopped', 'warning', 'firing'],
    ['shutting-down', 'warning', 'firing'],
    ['terminated', 'warning', 'firing'],
  ])('maps %s to %s, %s', (state, severity, status) => {
    expect(instanceSeverity(state)).toEqual({ severity, status });
  });
});

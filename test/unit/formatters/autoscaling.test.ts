import { describe, expect, it } from 'vitest';
import { autoScalingFailure } from '../../../functions/core/formatters/autoscaling.ts';
import { factsOf, format, loadEvent, withDetail } from './fixtures.ts';

describe('autoScalingFailure', () => {
  it('names the group and what failed, high, keyed by group and kind of failure', () => {
    const formatted = format(autoScalingFailure, loadEvent('eventbridge-autoscaling-launch-failed'));

    expect(formatted.subject).toBe('Auto Scaling group web-asg: launch failed');
    expect(formatted.severity).toBe('high');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe('123456789012:us-east-1:autoscaling:web-asg:launch');
    expect(formatted.summary[0]).toBe(
      'Launch failed: We currently do not have sufficient m5.xlarge capacity in the Availability Zone you requested (us-east-1b). Our system will be working on provisioning additional capacity. Launching EC2 instance failed.',
    );
    expect(factsOf(formatted)).toMatchObject({
      Group: 'web-asg',
      Cause: expect.stringMatching(/^At 2026-11-24T16:36:10Z an instance was started/),
      'Availability zone': 'us-east-1b',
      Activity: '9cabb81f-42de-417d-8aa7-ce16bf026590',
    });
    expect(factsOf(formatted).Instance).toBeUndefined();
    expect(formatted.links).toEqual([
      {
        title: 'Open the group',
        url: 'https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#AutoScalingGroupDetails:id=web-asg;view=activity',
      },
    ]);
  });

  it('threads every launch failure of a group together, whatever its activity', () => {
    const first = format(autoScalingFailure, loadEvent('eventbridge-autoscaling-launch-failed'));
    const next = format(
      autoScalingFailure,
      withDetail(loadEvent('eventbridge-autoscaling-launch-failed'), { ActivityId: 'another-activity' }),
    );

    expect(next.key).toBe(first.key);
  });

  it('tells a failed termination apart, with the instance it could not end', () => {
    const event = {
      ...withDetail(loadEvent('eventbridge-autoscaling-launch-failed'), {
        EC2InstanceId: 'i-0f9e8d7c6b5a43210',
        StatusMessage: 'Instance i-0f9e8d7c6b5a43210 could not be terminated.',
      }),
      'detail-type': 'EC2 Instance Terminate Unsuccessful',
    };

    const formatted = format(autoScalingFailure, event);

    expect(formatted.subject).toBe('Auto Scaling group web-asg: terminate failed');
    expect(formatted.key).toBe('123456789012:us-east-1:autoscaling:web-asg:terminate');
    expect(formatted.summary[0]).toBe(
      'Termination failed: Instance i-0f9e8d7c6b5a43210 could not be terminated.',
    );
    expect(factsOf(formatted).Instance).toBe('i-0f9e8d7c6b5a43210');
  });

  it('leaves successful launches and an event without a group to other renderings', () => {
    const event = loadEvent('eventbridge-autoscaling-launch-failed');

    expect(autoScalingFailure.matches({ ...event, 'detail-type': 'EC2 Instance Launch Successful' })).toBe(
      false,
    );
    expect(autoScalingFailure.matches({ ...event, 'detail-type': 'constructor' })).toBe(false);
    expect(autoScalingFailure.format(withDetail(event, { AutoScalingGroupName: 7 }))).toBeUndefined();
  });
});

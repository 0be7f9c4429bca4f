import { consoleLink, links } from './console-links.ts';
import { stringAt, textOf } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

// Only the failures: successful launches and terminations are routine scaling, not alerts.
const FAILURES: Readonly<Record<string, string>> = {
  'EC2 Instance Launch Unsuccessful': 'launch',
  'EC2 Instance Terminate Unsuccessful': 'terminate',
};

/**
 * EC2 Auto Scaling launch and terminate failures, always high. Failures of one kind in one group
 * thread together (`…:autoscaling:<group>:launch`), so a group that keeps failing to launch is one
 * conversation that counts its repeats rather than a new thread per scaling activity.
 */
export const autoScalingFailure: EventFormatter = {
  name: 'autoscaling-failure',
  matches: (event) =>
    event.source === 'aws.autoscaling' && Object.hasOwn(FAILURES, textOf(event['detail-type'])),
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const kind = FAILURES[textOf(event['detail-type'])];
    const group = stringAt(detail, 'AutoScalingGroupName');
    if (!kind || !group) return undefined;
    const message = stringAt(detail, 'StatusMessage');
    return {
      subject: `Auto Scaling group ${group}: ${kind} failed`,
      severity: 'high',
      status: 'firing',
      summary: [`${kind === 'launch' ? 'Launch' : 'Termination'} failed${message ? `: ${message}` : ''}`],
      facts: [
        ['Group', group],
        ['Status', stringAt(detail, 'StatusCode')],
        ['Status message', message],
        ['Cause', stringAt(detail, 'Cause')],
        ['Instance', stringAt(detail, 'EC2InstanceId')],
        ['Availability zone', stringAt(detail, 'Details', 'Availability Zone')],
        ['Subnet', stringAt(detail, 'Details', 'Subnet ID')],
        ['Activity', stringAt(detail, 'ActivityId')],
        ['Start', stringAt(detail, 'StartTime')],
        ['End', stringAt(detail, 'EndTime')],
        ['Account', event.account],
        ['Region', event.region],
      ],
      links: links(
        consoleLink(
          'Open the group',
          event.region,
          'ec2',
          `AutoScalingGroupDetails:id=${encodeURIComponent(group)};view=activity`,
        ),
      ),
      key: `${textOf(event.account)}:${textOf(event.region)}:autoscaling:${group}:${kind}`,
    };
  },
};

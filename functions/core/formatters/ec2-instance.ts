import type { AlertStatus, Severity } from '../alert.ts';
import { consoleLink, links } from './console-links.ts';
import { stringAt, textOf } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

const GOING_DOWN = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

/**
 * Our severity and status for an instance state. Going down (stopping, stopped, shutting-down,
 * terminated) is a warning; `running` resolves the instance's thread, so a stop followed by a start
 * reads as a problem and its end; `pending` and anything else is info.
 */
export function instanceSeverity(state: string): { severity: Severity; status: AlertStatus } {
  if (GOING_DOWN.has(state)) return { severity: 'warning', status: 'firing' };
  return { severity: 'info', status: state === 'running' ? 'resolved' : 'firing' };
}

/** EC2 instance state changes. Every change of one instance threads under its id. */
export const ec2InstanceStateChange: EventFormatter = {
  name: 'ec2-instance-state-change',
  matches: (event) =>
    event.source === 'aws.ec2' && event['detail-type'] === 'EC2 Instance State-change Notification',
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const instance = stringAt(detail, 'instance-id');
    const state = stringAt(detail, 'state');
    if (!instance || !state) return undefined;
    const region = textOf(event.region);
    return {
      subject: region ? `Instance ${instance} (${region})` : `Instance ${instance}`,
      ...instanceSeverity(state),
      summary: [`${state}${textOf(event.time) ? ` at ${textOf(event.time)}` : ''}`],
      facts: [
        ['Instance', instance],
        ['State', state],
        ['Since', event.time],
        ['Account', event.account],
        ['Region', region],
      ],
      links: links(
        consoleLink(
          'Open the instance',
          event.region,
          'ec2',
          `InstanceDetails:instanceId=${encodeURIComponent(instance)}`,
        ),
      ),
      key: instance,
    };
  },
};

import { consoleLink, links } from './console-links.ts';
import { arnResource, arrayAt, textOf } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

/**
 * EventBridge schedule rules: a heartbeat, always info. Every beat of one rule threads under the
 * rule's ARN, so a missing beat is a gap in one conversation.
 */
export const scheduledEvent: EventFormatter = {
  name: 'scheduled-event',
  matches: (event) => event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event',
  format(event: AnyEvent): FormattedEvent | undefined {
    const arn = arrayAt(event, 'resources').find(
      (resource): resource is string => arnResource(resource, 'rule') !== undefined,
    );
    const path = arnResource(arn, 'rule');
    if (!arn || !path) return undefined;
    // A rule on a custom bus is `rule/<bus>/<name>`; schedules live on the default bus, `rule/<name>`.
    const name = path.slice(path.lastIndexOf('/') + 1) || path;
    const bus = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : 'default';
    const time = textOf(event.time);
    return {
      subject: `Heartbeat from ${name}`,
      severity: 'info',
      status: 'firing',
      summary: [time ? `The schedule fired at ${time}` : 'The schedule fired'],
      facts: [
        ['Rule', name],
        ['Fired at', time],
        ['Account', event.account],
        ['Region', event.region],
      ],
      links: links(
        consoleLink(
          'Open the rule',
          event.region,
          'events',
          `/eventbus/${encodeURIComponent(bus)}/rules/${encodeURIComponent(name)}`,
        ),
      ),
      key: arn,
    };
  },
};

import type { Severity } from '../alert.ts';
import { consoleLink, links } from './console-links.ts';
import { arrayAt, clip, isRecord, stringAt, textOf } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

const CATEGORY_SEVERITIES: Readonly<Record<string, Severity>> = {
  issue: 'high',
  investigation: 'warning',
  scheduledChange: 'warning',
  accountNotification: 'info',
};

const SHOWN_ENTITIES = 5;
const MAX_DESCRIPTION_LINE = 300;

/** Our severity for a Health event's category; a category Health adds later is a warning until known. */
export function healthSeverity(category: string | undefined): Severity {
  const known =
    category && Object.hasOwn(CATEGORY_SEVERITIES, category) ? CATEGORY_SEVERITIES[category] : undefined;
  return known ?? 'warning';
}

/**
 * An event type code in words: `AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED` with service `EC2`
 * is `EC2 instance store drive performance degraded`. The code's first word is normally its service and
 * keeps its spelling; the rest is lower case. A code that does not start with its service gets the
 * service in front.
 */
export function eventTypeInWords(code: string, service: string | undefined): string {
  const words = code
    .replace(/^AWS_/, '')
    .split('_')
    .filter((word) => word !== '');
  const first = words[0];
  const leads = first !== undefined && (!service || first.toUpperCase() === service.toUpperCase());
  const owner = leads ? words.shift() : service;
  const rest = words.map((word) => word.toLowerCase()).join(' ');
  return (owner ? `${owner} ${rest}` : rest).trim() || code;
}

/** The English description when there is one, else the first; its first non-empty line. */
function firstDescriptionLine(detail: unknown): string | undefined {
  const descriptions = arrayAt(detail, 'eventDescription').filter(isRecord);
  const chosen = descriptions.find((item) => item.language === 'en_US') ?? descriptions[0];
  const line = textOf(chosen?.latestDescription)
    .split('\n')
    .find((text) => text.trim() !== '');
  return line === undefined ? undefined : clip(line.trim(), MAX_DESCRIPTION_LINE);
}

function affectedEntities(detail: unknown): string | undefined {
  const values = arrayAt(detail, 'affectedEntities')
    .map((entity) => stringAt(entity, 'entityValue'))
    .filter((value): value is string => value !== undefined);
  if (values.length === 0) return undefined;
  const shown = values.slice(0, SHOWN_ENTITIES).join(', ');
  return values.length > SHOWN_ENTITIES ? `${shown} and ${values.length - SHOWN_ENTITIES} more` : shown;
}

/**
 * AWS Health events: service issues, scheduled changes and account notifications. Every update of one
 * event threads under its ARN; the update that closes it is the resolved notice in that thread.
 */
export const healthEvent: EventFormatter = {
  name: 'health-event',
  matches: (event) => event.source === 'aws.health' && event['detail-type'] === 'AWS Health Event',
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const arn = stringAt(detail, 'eventArn');
    const code = stringAt(detail, 'eventTypeCode');
    if (!arn || !code) return undefined;
    const service = stringAt(detail, 'service');
    const category = stringAt(detail, 'eventTypeCategory');
    const statusCode = stringAt(detail, 'statusCode');
    const region = stringAt(detail, 'eventRegion') ?? textOf(event.region);
    const closed = statusCode === 'closed';
    return {
      subject: region ? `${eventTypeInWords(code, service)} (${region})` : eventTypeInWords(code, service),
      severity: closed ? 'info' : healthSeverity(category),
      status: closed ? 'resolved' : 'firing',
      summary: [firstDescriptionLine(detail) ?? `${code}${statusCode ? ` (${statusCode})` : ''}`],
      facts: [
        ['Service', service],
        ['Category', category],
        ['Status', statusCode],
        ['Start', stringAt(detail, 'startTime')],
        ['End', stringAt(detail, 'endTime')],
        ['Affected', affectedEntities(detail)],
        ['Region', region],
        ['Account', stringAt(detail, 'affectedAccount') ?? event.account],
        ['Event type', code],
      ],
      links: links(
        // The Health dashboard is global: the envelope's region (a real one, where `eventRegion` may be
        // "global") only picks the console host.
        consoleLink(
          'Open the event in AWS Health',
          event.region,
          'health',
          `/account/event-log?eventID=${encodeURIComponent(arn)}&eventTab=details`,
        ),
      ),
      key: arn,
    };
  },
};

import { SEVERITIES, type Severity } from '../alert.ts';
import { consoleLink, links } from './console-links.ts';
import { arrayAt, at, isRecord, stringAt, textOf } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

// An alarm can choose its own severity in its description: "… (severity: high)".
const SEVERITY_IN_DESCRIPTION = new RegExp(`\\bseverity\\s*[:=]\\s*(${SEVERITIES.join('|')})\\b`, 'i');

/** ALARM is critical unless the alarm's description names another severity; OK resolves. */
export function alarmSeverity(state: string, description: string | undefined): Severity {
  if (state === 'OK') return 'info';
  if (state !== 'ALARM') return 'warning';
  const chosen = description?.match(SEVERITY_IN_DESCRIPTION)?.[1]?.toLowerCase();
  return SEVERITIES.find((level) => level === chosen) ?? 'critical';
}

function dimensionsOf(value: unknown): string {
  if (!isRecord(value)) return '';
  return Object.entries(value)
    .map(([name, item]) => `${name}=${textOf(item)}`)
    .join(', ');
}

/** What the alarm watches: a metric, a metric math or anomaly detection expression, or a composite rule. */
function watched(detail: unknown): [string, string][] {
  const rule = stringAt(detail, 'configuration', 'alarmRule');
  if (rule) return [['Rule', rule]];
  const facts: [string, string][] = [];
  for (const metric of arrayAt(detail, 'configuration', 'metrics').slice(0, 3)) {
    const expression = stringAt(metric, 'expression');
    if (expression) {
      const kind = /ANOMALY_DETECTION_BAND/i.test(expression) ? 'Anomaly band' : 'Expression';
      facts.push([
        kind,
        `${expression}${stringAt(metric, 'label') ? ` (${stringAt(metric, 'label')})` : ''}`,
      ]);
      continue;
    }
    const name = stringAt(metric, 'metricStat', 'metric', 'name');
    if (!name) continue;
    const namespace = stringAt(metric, 'metricStat', 'metric', 'namespace');
    facts.push(['Metric', namespace ? `${namespace} ${name}` : name]);
    const dimensions = dimensionsOf(at(metric, 'metricStat', 'metric', 'dimensions'));
    if (dimensions) facts.push(['Dimensions', dimensions]);
    const stat = stringAt(metric, 'metricStat', 'stat');
    const period = textOf(at(metric, 'metricStat', 'period'));
    if (stat) facts.push(['Statistic', period ? `${stat} over ${period} s` : stat]);
  }
  return facts;
}

/**
 * CloudWatch alarm state changes: metric, metric math, anomaly detection and composite alarms. Every
 * change of one alarm threads under its ARN; OK after ALARM is the resolved notice in that thread.
 */
export const cloudWatchAlarm: EventFormatter = {
  name: 'cloudwatch-alarm',
  matches: (event) =>
    event.source === 'aws.cloudwatch' && event['detail-type'] === 'CloudWatch Alarm State Change',
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const name = stringAt(detail, 'alarmName');
    const state = stringAt(detail, 'state', 'value');
    if (!name || !state) return undefined;
    const previous = stringAt(detail, 'previousState', 'value');
    const reason = stringAt(detail, 'state', 'reason');
    const description = stringAt(detail, 'configuration', 'description');
    const region = textOf(event.region);
    const arn = arrayAt(event, 'resources').find(
      (resource): resource is string => typeof resource === 'string' && resource.includes(':alarm:'),
    );
    const composite = stringAt(detail, 'configuration', 'alarmRule') !== undefined;
    return {
      subject: region ? `${name} (${region})` : name,
      severity: alarmSeverity(state, description),
      status: state === 'OK' ? 'resolved' : 'firing',
      summary: [
        `${state}${previous ? ` (was ${previous})` : ''}${reason ? `: ${reason}` : ''}`,
        description ?? '',
      ],
      facts: [
        [composite ? 'Composite alarm' : 'Alarm', name],
        ['State', previous ? `${state} (was ${previous})` : state],
        ['Since', stringAt(detail, 'state', 'timestamp')],
        ...watched(detail),
        ['Account', event.account],
        ['Region', region],
      ],
      links: links(
        consoleLink(
          'Open the alarm',
          event.region,
          'cloudwatch',
          `alarmsV2:alarm/${encodeURIComponent(name)}`,
        ),
      ),
      key: arn ?? `${textOf(event.account)}:${region}:alarm:${name}`,
    };
  },
};

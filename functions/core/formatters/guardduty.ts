import type { Severity } from '../alert.ts';
import { consoleLink, links } from './console-links.ts';
import { at, numberAt, stringAt, textOf } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

/** GuardDuty's own name for a severity number. */
export type GuardDutyLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/**
 * GuardDuty's bands (LOW 1.0–3.9, MEDIUM 4.0–6.9, HIGH 7.0–8.9, CRITICAL 9.0–10.0) and ours. The
 * bands are read as "below the next band's start", so a value between two bands (3.95) cannot fall through.
 */
export function guardDutyLevel(severity: number): { level: GuardDutyLevel; severity: Severity } {
  if (severity >= 9) return { level: 'CRITICAL', severity: 'critical' };
  if (severity >= 7) return { level: 'HIGH', severity: 'high' };
  if (severity >= 4) return { level: 'MEDIUM', severity: 'warning' };
  return { level: 'LOW', severity: 'info' };
}

// Where each resource type names the thing the finding is about.
const RESOURCE_NAMES: Readonly<Record<string, readonly (string | number)[]>> = {
  Instance: ['instanceDetails', 'instanceId'],
  AccessKey: ['accessKeyDetails', 'accessKeyId'],
  S3Bucket: ['s3BucketDetails', 0, 'name'],
  EKSCluster: ['eksClusterDetails', 'name'],
  ECSCluster: ['ecsClusterDetails', 'name'],
  RDSDBInstance: ['rdsDbInstanceDetails', 'dbInstanceIdentifier'],
  Lambda: ['lambdaDetails', 'functionName'],
  Container: ['containerDetails', 'name'],
};

/** The finding's resource as `<type> <name>` (`Instance i-0abc…`, `AccessKey ASIA… (alice)`). */
function resourceOf(resource: unknown): string | undefined {
  const type = stringAt(resource, 'resourceType');
  if (!type) return undefined;
  const path = Object.hasOwn(RESOURCE_NAMES, type) ? RESOURCE_NAMES[type] : undefined;
  const name = path && stringAt(resource, ...path);
  const user = type === 'AccessKey' ? stringAt(resource, 'accessKeyDetails', 'userName') : undefined;
  if (!name) return type;
  return user ? `${type} ${name} (${user})` : `${type} ${name}`;
}

/**
 * GuardDuty findings. Every update of one finding threads under its id; the severity follows
 * GuardDuty's numeric bands.
 */
export const guardDutyFinding: EventFormatter = {
  name: 'guardduty-finding',
  matches: (event) => event.source === 'aws.guardduty' && event['detail-type'] === 'GuardDuty Finding',
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const id = stringAt(detail, 'id');
    const type = stringAt(detail, 'type');
    const score = numberAt(detail, 'severity');
    const title = stringAt(detail, 'title') ?? type;
    if (!id || !title || score === undefined) return undefined;
    const { level, severity } = guardDutyLevel(score);
    const description = stringAt(detail, 'description');
    const region = stringAt(detail, 'region') ?? textOf(event.region);
    return {
      subject: title,
      severity,
      status: 'firing',
      summary: [`${level} severity ${score}${description ? `: ${description}` : ''}`],
      facts: [
        ['Type', type],
        ['Severity', `${score} (${level})`],
        ['Resource', resourceOf(at(detail, 'resource'))],
        ['Account', stringAt(detail, 'accountId') ?? event.account],
        ['Region', region],
        ['First seen', stringAt(detail, 'service', 'eventFirstSeen')],
        ['Last seen', stringAt(detail, 'service', 'eventLastSeen')],
        ['Count', numberAt(detail, 'service', 'count')],
        ['Finding', id],
      ],
      links: links(
        consoleLink(
          'Open the finding in GuardDuty',
          region,
          'guardduty',
          `/findings?macros=current&fId=${encodeURIComponent(id)}`,
        ),
      ),
      key: id,
    };
  },
};

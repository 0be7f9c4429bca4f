import { createHash } from 'node:crypto';
import type { Severity } from '../alert.ts';
import { consoleLink, links } from './console-links.ts';
import { arrayAt, numberAt, stringAt, textOf } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent, FormattedLink } from './types.ts';

/** Security Hub's severity labels, least severe first. */
export const SECURITY_HUB_LABELS = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type SecurityHubLabel = (typeof SECURITY_HUB_LABELS)[number];

const LABEL_SEVERITIES: Readonly<Record<SecurityHubLabel, Severity>> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'warning',
  LOW: 'info',
  INFORMATIONAL: 'info',
};

const LISTED_FINDINGS = 10;
const LINKED_FINDINGS = 5;

/** Our severity for a Security Hub severity label. */
export const securityHubSeverity = (label: SecurityHubLabel): Severity => LABEL_SEVERITIES[label];

/**
 * A finding's label: `Severity.Label`, or for a finding that only carries `Severity.Normalized`
 * (0–100, the older field), the band the finding format documents for it.
 */
export function securityHubLabel(finding: unknown): SecurityHubLabel {
  const label = stringAt(finding, 'Severity', 'Label')?.toUpperCase();
  const known = SECURITY_HUB_LABELS.find((item) => item === label);
  if (known) return known;
  const normalized = numberAt(finding, 'Severity', 'Normalized') ?? 0;
  if (normalized >= 90) return 'CRITICAL';
  if (normalized >= 70) return 'HIGH';
  if (normalized >= 40) return 'MEDIUM';
  if (normalized >= 1) return 'LOW';
  return 'INFORMATIONAL';
}

interface Finding {
  id: string;
  title: string;
  label: SecurityHubLabel;
  resource: string | undefined;
  resolved: boolean;
  raw: unknown;
}

function findingOf(raw: unknown): Finding | undefined {
  const id = stringAt(raw, 'Id');
  const title = stringAt(raw, 'Title');
  if (!id || !title) return undefined;
  return {
    id,
    title,
    label: securityHubLabel(raw),
    resource: stringAt(raw, 'Resources', 0, 'Id'),
    resolved:
      stringAt(raw, 'Workflow', 'Status') === 'RESOLVED' ||
      stringAt(raw, 'Compliance', 'Status') === 'PASSED',
    raw,
  };
}

// Open findings before resolved ones, then most severe first: the first is the one to look at.
const rank = (finding: Finding) =>
  SECURITY_HUB_LABELS.indexOf(finding.label) + (finding.resolved ? 0 : SECURITY_HUB_LABELS.length);
const distinct = (values: (string | undefined)[]) =>
  [...new Set(values.filter((value): value is string => value !== undefined))].join(', ');

function findingLink(title: string, region: unknown, id: string): FormattedLink | undefined {
  // The console reads its search from the fragment, encoded twice: `Id=\operator\:EQUALS\:<id>`.
  const search = encodeURIComponent(`Id=${encodeURIComponent(`\\operator\\:EQUALS\\:${id}`)}`);
  return consoleLink(title, region, 'securityhub', `/findings?search=${search}`);
}

function singleFacts(finding: Finding): [string, unknown][] {
  const raw = finding.raw;
  const type = stringAt(raw, 'Resources', 0, 'Type');
  return [
    ['Severity', finding.label],
    ['Resource', type && finding.resource ? `${type} ${finding.resource}` : finding.resource],
    ['Product', stringAt(raw, 'ProductName')],
    ['Type', stringAt(raw, 'Types', 0)],
    ['Compliance', stringAt(raw, 'Compliance', 'Status')],
    ['Workflow', stringAt(raw, 'Workflow', 'Status')],
    ['First seen', stringAt(raw, 'FirstObservedAt')],
    ['Last seen', stringAt(raw, 'LastObservedAt')],
    ['Finding', finding.id],
  ];
}

function batchFacts(findings: Finding[]): [string, unknown][] {
  const counts = [...SECURITY_HUB_LABELS]
    .reverse()
    .map((label) => [label, findings.filter((finding) => finding.label === label).length] as const)
    .filter(([, count]) => count > 0)
    .map(([label, count]) => `${count} ${label}`);
  return [
    ['Findings', findings.length],
    ['By severity', counts.join(', ')],
    ['Products', distinct(findings.map((finding) => stringAt(finding.raw, 'ProductName')))],
  ];
}

/**
 * Security Hub findings, one mail per event however many findings it carries, open ones first and most
 * severe first. The mail is as severe as the worst open finding, and resolved when none is open. A
 * single finding threads under its id; a batch under a digest of its sorted ids, so the same batch
 * delivered twice is one thread.
 */
export const securityHubFindings: EventFormatter = {
  name: 'securityhub-findings',
  matches: (event) =>
    event.source === 'aws.securityhub' && event['detail-type'] === 'Security Hub Findings - Imported',
  format(event: AnyEvent): FormattedEvent | undefined {
    const findings = arrayAt(event.detail, 'findings')
      .map(findingOf)
      .filter((finding): finding is Finding => finding !== undefined)
      .sort((a, b) => rank(b) - rank(a));
    const [top] = findings;
    if (!top) return undefined;
    const count = findings.length;
    const resolved = findings.every((finding) => finding.resolved);
    const listed = findings
      .slice(0, LISTED_FINDINGS)
      .map(
        (finding) =>
          `${finding.label}${finding.resolved ? ', resolved' : ''}: ${finding.title}${finding.resource ? ` (${finding.resource})` : ''}`,
      );
    const ids = findings.map((finding) => finding.id).sort();
    const region = textOf(event.region);
    return {
      subject: count === 1 ? top.title : `${count} Security Hub findings: ${top.title} and ${count - 1} more`,
      severity: resolved ? 'info' : securityHubSeverity(top.label),
      status: resolved ? 'resolved' : 'firing',
      summary: [
        ...listed,
        count > LISTED_FINDINGS ? `and ${count - LISTED_FINDINGS} more` : '',
        count === 1 ? (stringAt(top.raw, 'Description') ?? '') : '',
      ],
      facts: [
        ...(count === 1 ? singleFacts(top) : batchFacts(findings)),
        [
          'Account',
          distinct(findings.map((finding) => stringAt(finding.raw, 'AwsAccountId'))) || event.account,
        ],
        ['Region', region],
      ],
      links:
        count === 1
          ? links(findingLink('Open the finding in Security Hub', event.region, top.id))
          : links(
              consoleLink('Open the findings in Security Hub', event.region, 'securityhub', '/findings'),
              ...findings
                .slice(0, LINKED_FINDINGS)
                .map((finding) => findingLink(`Open: ${finding.title}`, event.region, finding.id)),
            ),
      key:
        count === 1
          ? top.id
          : `securityhub:${createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 32)}`,
    };
  },
};

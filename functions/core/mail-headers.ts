import { createHash } from 'node:crypto';
import type { Alert } from './alert.ts';
import type { RenderedAlert } from './render.ts';

/** What the headers depend on besides the alert: the sender, the stack and the operator's own headers. */
export interface MailHeaderOptions {
  /** The sender's address; its domain names the thread and list ids, as Message-IDs do. */
  from: string;
  stackName: string;
  /** Static `X-…` headers from ALERT_HEADERS, checked at cold start. */
  custom: Readonly<Record<string, string>>;
}

// What nodemailer's Mail layer writes for `priority: 'high'`; this sender hands messages to the pool itself.
const PRIORITY_HEADERS: Record<RenderedAlert['priority'], Record<string, string>> = {
  high: { 'X-Priority': '1 (Highest)', 'X-MSMail-Priority': 'High', Importance: 'High' },
  normal: {},
  low: { 'X-Priority': '5 (Lowest)', 'X-MSMail-Priority': 'Low', Importance: 'Low' },
};

/** Header names the product writes itself; ALERT_HEADERS may not set them. */
export const RESERVED_HEADER = /^x-(alert-|priority$|msmail-priority$)/i;

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The stack's name as an RFC 2919 list label: lower-case letters, digits and hyphens. */
const listLabel = (stackName: string) =>
  stackName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'alerts';

/**
 * The id every mail of one key refers to. Gmail puts messages in one conversation when they share a
 * subject and a References id, so this id is derived from the key (and the stack, so that two stacks
 * keep their own threads) and never changes; each mail still has its own Message-ID.
 */
export function threadId(key: string, options: Pick<MailHeaderOptions, 'from' | 'stackName'>): string {
  const digest = createHash('sha256').update(`${options.stackName}\n${key}`).digest('hex').slice(0, 32);
  return `<alert.${digest}@${domainOf(options.from)}>`;
}

/**
 * Every header of an alert mail besides From, To, Subject and Message-ID:
 * - `Auto-Submitted: auto-generated` (RFC 3834), so out-of-office replies leave it alone;
 * - `List-Id` naming the stack, which Gmail filters can match (`list:<id>`);
 * - `X-Alert-Severity`, `-Status`, `-Source`, `-Key`;
 * - `References` and `In-Reply-To` with the key's {@link threadId};
 * - priority headers for critical and high alerts, and the operator's static headers.
 */
export function mailHeaders(
  alert: Pick<Alert, 'severity' | 'status' | 'source' | 'dedupKey'>,
  priority: RenderedAlert['priority'],
  options: MailHeaderOptions,
): Record<string, string> {
  const label = listLabel(options.stackName);
  const headers: Record<string, string> = {
    ...options.custom,
    'Auto-Submitted': 'auto-generated',
    'List-Id': `${label} alerts <${label}.${domainOf(options.from)}>`,
    'X-Alert-Severity': alert.severity,
    'X-Alert-Status': alert.status,
    ...PRIORITY_HEADERS[priority],
  };
  if (alert.source) headers['X-Alert-Source'] = alert.source;
  if (alert.dedupKey) {
    const thread = threadId(alert.dedupKey, options);
    headers['X-Alert-Key'] = alert.dedupKey;
    headers.References = thread;
    headers['In-Reply-To'] = thread;
  }
  return headers;
}

import { type Alert, SEVERITIES, type Severity } from './alert.ts';

/** One alert folded into a digest: what a reader needs to tell it from the others. */
export interface DigestEntry {
  subject: string;
  severity: Severity;
  status: Alert['status'];
  /** When it arrived (ISO 8601, UTC). */
  time: string;
  dedupKey?: string;
  source?: string;
}

/** From this share of GMAIL_DAILY_LIMIT on, new alerts are folded into digests (quota-guard.ts). */
export const DIGEST_FROM_SHARE = 0.8;

/** The source the quota guard's own mails carry. */
export const QUOTA_GUARD_SOURCE = 'gmail-alerts/quota-guard';

/** What an alert contributes to a digest. */
export function digestEntryOf(alert: Alert, time: Date): DigestEntry {
  return {
    subject: alert.subject,
    severity: alert.severity,
    status: alert.status,
    time: time.toISOString(),
    ...(alert.dedupKey ? { dedupKey: alert.dedupKey } : {}),
    ...(alert.source ? { source: alert.source } : {}),
  };
}

const mostSevere = (entries: DigestEntry[]): Severity =>
  SEVERITIES.find((severity) => entries.some((entry) => entry.severity === severity)) ?? 'info';

/**
 * The digest mail: every folded alert on its own line (severity, subject, status, time, key, source),
 * at the severity of the worst of them, as one message to the recipients they share.
 */
export function digestAlert(
  entries: DigestEntry[],
  to: string[],
  usage: { used: number; limit: number },
): Alert {
  const lines = entries.map((entry) =>
    [
      `- [${entry.severity.toUpperCase()}] ${entry.subject}`,
      entry.status === 'resolved' ? ' (resolved)' : '',
      ` at ${entry.time}`,
      entry.dedupKey ? `, key ${entry.dedupKey}` : '',
      entry.source ? `, from ${entry.source}` : '',
    ].join(''),
  );
  return {
    subject: `Digest of ${entries.length} ${entries.length === 1 ? 'alert' : 'alerts'} (Gmail sending quota guard)`,
    text: [
      `${usage.used} of the ${usage.limit} recipients Gmail allows in 24 hours have been used, so alerts are`,
      'collected into one mail every few minutes to keep room for the rest of the day:',
      '',
      ...lines,
    ].join('\n'),
    severity: mostSevere(entries),
    status: 'firing',
    to,
    source: QUOTA_GUARD_SOURCE,
    dedupKey: undefined,
    fields: {},
    links: [],
  };
}

/** The last mail before the limit: from now on alerts wait on the queue until the window has room. */
export function holdingNoticeAlert(to: string[], usage: { used: number; limit: number }): Alert {
  return {
    subject: 'Gmail sending limit reached: alerts are held until the quota has room',
    text: [
      `${usage.used} of the ${usage.limit} recipients Gmail allows in a rolling 24 hours have been used`,
      '(GMAIL_DAILY_LIMIT). To keep Gmail from blocking the account for up to a day, no more alert mail',
      'is sent: new alerts wait on the alerts queue and go out, in order, once the 24-hour window has',
      'room again. Nothing is dropped. Check the alerts queue and the source of the flood.',
    ].join('\n'),
    severity: 'critical',
    status: 'firing',
    to,
    source: QUOTA_GUARD_SOURCE,
    dedupKey: undefined,
    fields: { used: String(usage.used), limit: String(usage.limit) },
    links: [],
  };
}

import type { Alert, Severity } from './alert.ts';
import { DIGEST_FROM_SHARE } from './digest.ts';

/** The e-mail an alert becomes: both parts come from our own template, every value escaped. */
export interface RenderedAlert {
  subject: string;
  text: string;
  html: string;
  priority: 'high' | 'normal' | 'low';
}

const SEVERITY_COLOUR: Record<Severity, string> = {
  critical: '#b71c1c',
  high: '#e65100',
  warning: '#f9a825',
  info: '#1565c0',
};
const RESOLVED_COLOUR = '#2e7d32';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** What a mail stands for besides itself: the repeats of its key counted since the key's last mail. */
export function repeatLine(repeats: { count: number; since: string }): string {
  return `Stands for ${repeats.count} ${repeats.count === 1 ? 'repeat' : 'repeats'} since ${repeats.since}`;
}

/** What a mail tells after a silence: the firing alerts of its key that the silence held back. */
export function hiddenLine(hidden: { count: number; since: string }): string {
  return `${hidden.count} ${hidden.count === 1 ? 'alert was' : 'alerts were'} hidden by a silence since ${hidden.since}`;
}

/** The words of the link that silences a key, in both parts. */
export const SILENCE_LINK_TITLE = 'Silence…';

/** The state in one word, first in every mail: `RESOLVED`, or the severity while the problem goes on. */
export function stateLabel(alert: Pick<Alert, 'severity' | 'status'>): string {
  return alert.status === 'resolved' ? 'RESOLVED' : alert.severity.toUpperCase();
}

/**
 * The subject. An alert with a key keeps its subject as given, so every mail of that key (firing,
 * repeated, resolved) has the same subject and Gmail keeps them in one conversation; the state is in
 * the first line of the body instead. An alert without a key carries its state in the subject.
 */
export function mailSubject(alert: Pick<Alert, 'severity' | 'status' | 'subject' | 'dedupKey'>): string {
  return alert.dedupKey ? alert.subject : `[${stateLabel(alert)}] ${alert.subject}`;
}

/**
 * What the quota guard counts, in the footer: recipients sent in Gmail's rolling 24 h against
 * GMAIL_DAILY_LIMIT, and from 80 % that new alerts are folded into digests.
 */
export function quotaLine(quota: { used: number; limit: number }): string {
  const folding = quota.used >= quota.limit * DIGEST_FROM_SHARE ? ' · folding into digests' : '';
  return `${quota.used} of ${quota.limit} recipients in the last 24 h${folding}`;
}

function metaLines(alert: Alert): string[] {
  return [
    `Severity ${alert.severity} · ${alert.status}${alert.source ? ` · from ${alert.source}` : ''}`,
    alert.dedupKey ? `Key: ${alert.dedupKey}` : '',
    alert.quota ? quotaLine(alert.quota) : '',
  ].filter(Boolean);
}

// Short lines first: on a phone the first line is the notification and Gmail's snippet.
function textPart(alert: Alert): string {
  const lines = [`${stateLabel(alert)}: ${alert.subject}`];
  if (alert.repeats) lines.push(repeatLine(alert.repeats));
  if (alert.hidden) lines.push(hiddenLine(alert.hidden));
  if (alert.text) lines.push(alert.text);
  lines.push('');
  const fields = Object.entries(alert.fields);
  if (fields.length > 0) {
    for (const [key, value] of fields) lines.push(`${key}: ${value}`);
    lines.push('');
  }
  if (alert.links.length > 0) {
    for (const link of alert.links) lines.push(`${link.title}: ${link.url}`);
    lines.push('');
  }
  if (alert.silenceUrl) lines.push(`${SILENCE_LINK_TITLE} ${alert.silenceUrl}`, '');
  lines.push(...metaLines(alert));
  return `${lines.join('\n')}\n`;
}

// ARNs, dotted event paths and long tokens break anywhere rather than widen the mail past a phone's screen.
const WRAP = 'word-break:break-word;overflow-wrap:anywhere';

function htmlPart(alert: Alert, subject: string): string {
  const colour = alert.status === 'resolved' ? RESOLVED_COLOUR : SEVERITY_COLOUR[alert.severity];
  const rows = Object.entries(alert.fields)
    .map(
      ([key, value]) =>
        `<tr><th align="left" style="padding:4px 12px 4px 0;vertical-align:top;width:38%;color:#616161;font-weight:normal;${WRAP}">${escapeHtml(key)}</th><td style="padding:4px 0;white-space:pre-wrap;${WRAP}">${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const links = alert.links
    .map(
      (link) =>
        `<li style="margin:4px 0"><a href="${escapeHtml(link.url)}">${escapeHtml(link.title)}</a></li>`,
    )
    .join('');
  const meta = metaLines(alert)
    .map((line) => escapeHtml(line))
    .join('<br>');
  // Collapsed where the reader supports <details>; a reader that does not shows it open, still wrapped.
  const event = alert.event
    ? `<details style="margin:12px 0"><summary style="color:#455a64;cursor:pointer">Full event (JSON)</summary><pre style="margin:8px 0 0;padding:8px;background:#f5f5f5;font-size:12px;white-space:pre-wrap;${WRAP}">${escapeHtml(alert.event)}</pre></details>`
    : '';
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>',
    escapeHtml(subject),
    '</title><meta name="viewport" content="width=device-width,initial-scale=1"></head>',
    '<body style="font-family:Arial,Helvetica,sans-serif;margin:0;padding:16px;color:#212121">',
    `<div style="border-left:6px solid ${colour};padding:8px 16px;max-width:640px;${WRAP}">`,
    `<p style="margin:0;color:${colour};font-weight:bold;text-transform:uppercase">${escapeHtml(stateLabel(alert))}</p>`,
    `<h1 style="font-size:20px;margin:4px 0 12px">${escapeHtml(alert.subject)}</h1>`,
    alert.repeats
      ? `<p style="margin:0 0 12px;font-weight:bold">${escapeHtml(repeatLine(alert.repeats))}</p>`
      : '',
    alert.hidden
      ? `<p style="margin:0 0 12px;font-weight:bold">${escapeHtml(hiddenLine(alert.hidden))}</p>`
      : '',
    alert.text ? `<p style="white-space:pre-wrap;margin:0 0 12px">${escapeHtml(alert.text)}</p>` : '',
    rows
      ? `<table style="border-collapse:collapse;margin:8px 0;width:100%;table-layout:fixed">${rows}</table>`
      : '',
    links ? `<ul style="padding-left:20px">${links}</ul>` : '',
    event,
    alert.silenceUrl
      ? `<p style="margin:12px 0"><a href="${escapeHtml(alert.silenceUrl)}">${escapeHtml(SILENCE_LINK_TITLE)}</a></p>`
      : '',
    `<p style="color:#757575;font-size:12px">${meta}</p>`,
    '</div></body></html>',
  ].join('');
}

/**
 * Renders an alert into subject, text and HTML (see {@link mailSubject} for the subject); callers never
 * supply raw HTML or headers.
 */
export function renderAlert(alert: Alert): RenderedAlert {
  const subject = mailSubject(alert);
  return {
    subject,
    text: textPart(alert),
    html: htmlPart(alert, subject),
    priority:
      alert.status === 'firing' && (alert.severity === 'critical' || alert.severity === 'high')
        ? 'high'
        : 'normal',
  };
}

import type { Alert, Severity } from './alert.ts';

/** The e-mail an alert becomes: both parts come from our own template, every value escaped. */
export interface RenderedAlert {
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  priority: 'high' | 'normal' | 'low';
}

const SEVERITY_COLOUR: Record<Severity, string> = {
  critical: '#b71c1c',
  high: '#e65100',
  warning: '#f9a825',
  info: '#1565c0',
};

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

function textPart(alert: Alert, subject: string): string {
  const lines = [subject, ''];
  if (alert.text) lines.push(alert.text, '');
  const fields = Object.entries(alert.fields);
  if (fields.length > 0) {
    lines.push('Details:');
    for (const [key, value] of fields) lines.push(`  ${key}: ${value}`);
    lines.push('');
  }
  if (alert.links.length > 0) {
    lines.push('Links:');
    for (const link of alert.links) lines.push(`  ${link.title}: ${link.url}`);
    lines.push('');
  }
  lines.push(`Severity: ${alert.severity}`);
  if (alert.source) lines.push(`Source: ${alert.source}`);
  if (alert.dedupKey) lines.push(`Dedup key: ${alert.dedupKey}`);
  if (alert.repeats) lines.push(repeatLine(alert.repeats));
  return `${lines.join('\n')}\n`;
}

// ARNs, dotted event paths and long tokens break anywhere rather than widen the mail past a phone's screen.
const WRAP = 'word-break:break-word;overflow-wrap:anywhere';

function htmlPart(alert: Alert, subject: string): string {
  const colour = SEVERITY_COLOUR[alert.severity];
  const rows = Object.entries(alert.fields)
    .map(
      ([key, value]) =>
        `<tr><th align="left" style="padding:4px 12px 4px 0;vertical-align:top;width:38%;${WRAP}">${escapeHtml(key)}</th><td style="padding:4px 0;white-space:pre-wrap;${WRAP}">${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const links = alert.links
    .map((link) => `<li><a href="${escapeHtml(link.url)}">${escapeHtml(link.title)}</a></li>`)
    .join('');
  const meta = [
    `Severity: ${alert.severity}`,
    alert.source ? `Source: ${alert.source}` : '',
    alert.dedupKey ? `Dedup key: ${alert.dedupKey}` : '',
    alert.repeats ? repeatLine(alert.repeats) : '',
  ]
    .filter(Boolean)
    .map((line) => escapeHtml(line))
    .join(' &middot; ');
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>',
    escapeHtml(subject),
    '</title><meta name="viewport" content="width=device-width,initial-scale=1"></head>',
    '<body style="font-family:Arial,Helvetica,sans-serif;margin:0;padding:16px;color:#212121">',
    `<div style="border-left:6px solid ${colour};padding:8px 16px;max-width:640px;${WRAP}">`,
    `<p style="margin:0;color:${colour};font-weight:bold;text-transform:uppercase">${escapeHtml(alert.severity)}</p>`,
    `<h1 style="font-size:20px;margin:4px 0 12px">${escapeHtml(alert.subject)}</h1>`,
    alert.text ? `<p style="white-space:pre-wrap">${escapeHtml(alert.text)}</p>` : '',
    rows
      ? `<table style="border-collapse:collapse;margin:8px 0;width:100%;table-layout:fixed">${rows}</table>`
      : '',
    links ? `<ul>${links}</ul>` : '',
    `<p style="color:#757575;font-size:12px">${meta}</p>`,
    '</div></body></html>',
  ].join('');
}

/**
 * Renders an alert into subject, text and HTML. The subject carries the severity (`[CRITICAL] …`);
 * callers never supply raw HTML or headers.
 */
export function renderAlert(alert: Alert): RenderedAlert {
  const subject = `[${alert.severity.toUpperCase()}] ${alert.subject}`;
  const headers: Record<string, string> = { 'X-Alert-Severity': alert.severity };
  if (alert.source) headers['X-Alert-Source'] = alert.source;
  if (alert.dedupKey) headers['X-Alert-Dedup-Key'] = alert.dedupKey;
  return {
    subject,
    text: textPart(alert, subject),
    html: htmlPart(alert, subject),
    headers,
    priority: alert.severity === 'critical' || alert.severity === 'high' ? 'high' : 'normal',
  };
}

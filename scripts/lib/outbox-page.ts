// The outbox pages: people would rather look at an alert than read its MIME. Everything from a message
// is escaped here; the message's own HTML is only ever shown in a sandboxed frame (see local-api.ts).
import { DIGEST_FROM_SHARE } from '../../functions/core/digest.ts';
import { quotaSummary } from '../../functions/core/quota-reading.ts';
import { escapeHtml } from '../../functions/core/render.ts';
import type { OutboxEntry, OutboxMessage } from './outbox.ts';
import type { ActiveSilence, PendingDigest, RepeatWindowView, StateView } from './state-view.ts';

/** A parked alert as the local dead-letter queue holds it. */
export interface DeadLetter {
  body: string;
  attributes: Record<string, string>;
}

const SEVERITY_COLOUR: Record<string, string> = {
  critical: '#b71c1c',
  high: '#e65100',
  warning: '#f9a825',
  info: '#1565c0',
};

const STYLE = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #212121; }
  body { margin: 0; background: #f5f5f5; }
  header { background: #263238; color: #fff; padding: 16px 24px; }
  header h1 { margin: 0 0 4px; font-size: 20px; }
  header p { margin: 0; color: #cfd8dc; font-size: 14px; }
  header a { color: #80cbc4; }
  main { max-width: 980px; margin: 0 auto; padding: 16px 24px 48px; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  ol.mails { list-style: none; margin: 0; padding: 0; }
  .mail { background: #fff; border-radius: 6px; margin: 8px 0; padding: 12px 16px; border-left: 6px solid var(--sev, #90a4ae); box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .mail .subject { font-weight: 600; font-size: 16px; color: inherit; text-decoration: none; }
  .mail .subject:hover { text-decoration: underline; }
  .badge { display: inline-block; min-width: 64px; text-align: center; font-size: 11px; font-weight: 700; text-transform: uppercase; color: #fff; background: var(--sev, #90a4ae); border-radius: 3px; padding: 2px 6px; margin-right: 8px; vertical-align: 2px; }
  .meta { color: #616161; font-size: 13px; margin-top: 4px; }
  .views { font-size: 13px; margin-top: 6px; }
  .views a { margin-right: 12px; }
  .empty { background: #fff; border-radius: 6px; padding: 16px; }
  pre { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font-size: 13px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 0; font-size: 14px; }
  dt { color: #b0bec5; } dd { margin: 0; }
  iframe { width: 100%; height: 420px; border: 1px solid #e0e0e0; border-radius: 6px; background: #fff; }
  .dlq { border-left-color: #6d4c41; }
  .snippet { color: #424242; font-size: 14px; margin-top: 4px; overflow-wrap: anywhere; }
  .count { font-size: 13px; color: #616161; }
  .thread iframe { height: 520px; margin-top: 8px; }
  code { font-size: 90%; }
  .mail .meta, .mail code { overflow-wrap: anywhere; }
  .state .quota .subject { font-weight: 600; }
  ul.entries { list-style: none; margin: 8px 0 0; padding: 0; font-size: 14px; }
  ul.entries li { margin: 6px 0; overflow-wrap: anywhere; }
  ul.entries .badge { min-width: 0; background: var(--sev, #90a4ae); }
  ul.entries .meta { display: inline; }
  @media (max-width: 480px) { header { padding: 12px 16px; } main { padding: 8px 12px 32px; } .mail { padding: 10px 12px; } }
`;

function page(title: string, body: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${head}<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

const time = (date: Date) => `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

const severityStyle = (severity: string | undefined) => {
  const colour = severity ? SEVERITY_COLOUR[severity] : undefined;
  return colour ? ` style="--sev:${colour}"` : '';
};

const RESOLVED_COLOUR = '#2e7d32';

const badgeOf = (entry: Pick<OutboxEntry, 'severity' | 'status'>) =>
  entry.status === 'resolved' ? 'resolved' : (entry.severity ?? 'mail');

const entryStyle = (entry: Pick<OutboxEntry, 'severity' | 'status'>) =>
  entry.status === 'resolved' ? ` style="--sev:${RESOLVED_COLOUR}"` : severityStyle(entry.severity);

/** A conversation: every mail of one alert key, as Gmail would show them; a lone mail is its own. */
interface Conversation {
  latest: OutboxEntry;
  count: number;
}

/** Groups newest-first entries into conversations, newest conversation first. */
function conversationsOf(entries: OutboxEntry[]): Conversation[] {
  const byThread = new Map<string, Conversation>();
  const conversations: Conversation[] = [];
  for (const entry of entries) {
    const known = entry.thread ? byThread.get(entry.thread) : undefined;
    if (known) {
      known.count += 1;
      continue;
    }
    const conversation = { latest: entry, count: 1 };
    if (entry.thread) byThread.set(entry.thread, conversation);
    conversations.push(conversation);
  }
  return conversations;
}

function mailItem({ latest: entry, count }: Conversation, outboxDir: string): string {
  const href = `/messages/${entry.id}`;
  const open = count > 1 && entry.thread ? `/threads/${entry.thread}` : href;
  return `<li class="mail"${entryStyle(entry)} data-id="${entry.id}">
  <a class="subject" href="${open}"><span class="badge">${escapeHtml(badgeOf(entry))}</span>${escapeHtml(entry.subject)}</a>${count > 1 ? ` <a class="count" href="${open}">${count} mails</a>` : ''}
  <div class="snippet">${escapeHtml(entry.headline)}</div>
  <div class="meta">to ${escapeHtml(entry.to.join(', '))} · from ${escapeHtml(entry.from)} · ${time(entry.receivedAt)}</div>
  <div class="views"><a href="${href}">View HTML</a><a href="${href}/text">Text</a><a href="${href}/eml" download="${entry.id}.eml">.eml</a><code>${escapeHtml(outboxDir)}/${entry.id}.eml</code></div>
</li>`;
}

function deadLetterItem(letter: DeadLetter): string {
  const { failureClass = '?', reason = '', advice = '', trigger = '' } = letter.attributes;
  return `<li class="mail dlq"><span class="badge" style="background:#6d4c41">${escapeHtml(failureClass)}</span><strong>${escapeHtml(reason)}</strong>
  <div class="meta">${escapeHtml(advice)}${trigger ? ` · from the ${escapeHtml(trigger)} handler` : ''}</div>
  <pre>${escapeHtml(letter.body)}</pre></li>`;
}

/**
 * The outbox: what the guards are doing (from the local state table), then the newest alert first,
 * each with its HTML view, text and .eml; parked alerts below.
 */
export function outboxPage(input: {
  entries: OutboxEntry[];
  deadLetters: DeadLetter[];
  /** The local state table's view (default none: no state section). */
  state?: StateView;
  outboxDir: string;
  curl: string;
}): string {
  const list =
    input.entries.length > 0
      ? `<ol class="mails">${conversationsOf(input.entries)
          .map((conversation) => mailItem(conversation, input.outboxDir))
          .join('')}</ol>`
      : `<div class="empty"><p>No alerts yet. Send one from a terminal:</p><pre>${escapeHtml(input.curl)}</pre></div>`;
  const parked =
    input.deadLetters.length > 0
      ? `<h2>Dead-letter queue (${input.deadLetters.length})</h2><p>Alerts that can never be delivered as they are, with the reason.</p><ol class="mails">${input.deadLetters.map(deadLetterItem).join('')}</ol>`
      : '';
  return page(
    `Outbox (${input.entries.length}) · gmail-alerts local`,
    `<header><h1>Outbox</h1><p>Alerts the local Gmail-like server received, newest first · files in <code>${escapeHtml(input.outboxDir)}</code> · this page refreshes every 5 s</p></header>
<main>${input.state ? stateSection(input.state) : ''}<h2>${plural(input.entries.length, 'alert')}</h2>${list}${parked}</main>`,
    '<meta http-equiv="refresh" content="5">',
  );
}

const plural = (count: number, one: string) => `${count} ${one}${count === 1 ? '' : 's'}`;

/** A time from the table: epoch ms or ISO text; shown as it is when it is neither. */
const when = (value: number | string) => {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? escapeHtml(String(value)) : time(date);
};

const VERDICT_COLOUR: Record<StateView['quota']['verdict'], string> = {
  send: RESOLVED_COLOUR,
  fold: SEVERITY_COLOUR.warning as string,
  hold: SEVERITY_COLOUR.critical as string,
};

const VERDICT_MEANING: Record<StateView['quota']['verdict'], string> = {
  send: `alerts are mailed; from ${DIGEST_FROM_SHARE * 100} % of the limit they are folded into digests`,
  fold: 'new alerts are folded into one digest per recipient list, listed below',
  hold: 'new alerts wait on the alerts queue until the 24 h window has room',
};

/** The quota count, the pending digests, the repeat windows and the silences, above the mails. */
function stateSection(state: StateView): string {
  const { quota } = state;
  const counter = `<div class="mail quota" data-verdict="${quota.verdict}" style="--sev:${VERDICT_COLOUR[quota.verdict]}"><span class="badge">quota</span><span class="subject quota-summary">${escapeHtml(quotaSummary(quota))}</span><div class="meta">${escapeHtml(VERDICT_MEANING[quota.verdict])}</div></div>`;
  const digests =
    state.digests.length > 0
      ? `<h2>Pending digests (${state.digests.length})</h2><ol class="mails digests">${state.digests.map(digestItem).join('')}</ol>`
      : '';
  const windows =
    state.repeatWindows.length > 0
      ? `<h2>Repeat windows (${state.repeatWindows.length})</h2><ol class="mails windows">${state.repeatWindows.map(windowItem).join('')}</ol>`
      : '';
  const silenced =
    state.silences.length > 0
      ? `<h2>Silenced now (${state.silences.length})</h2><ol class="mails silences">${state.silences.map(silenceItem).join('')}</ol>`
      : '';
  return `<section class="state"><h2>Quota guard</h2>${counter}${digests}${windows}${silenced}</section>`;
}

function digestItem(digest: PendingDigest): string {
  const sending =
    digest.sendsAt === undefined
      ? 'no sending scheduled yet'
      : `sending scheduled at ${when(digest.sendsAt)}`;
  const entries = digest.entries
    .map(
      (entry) =>
        `<li${entryStyle(entry)}><span class="badge">${escapeHtml(badgeOf(entry))}</span>${escapeHtml(entry.subject)} <span class="meta">${when(entry.time)}</span></li>`,
    )
    .join('');
  return `<li class="mail digest"><span class="subject"><span class="folded-count">${plural(digest.entries.length, 'alert')}</span> folded for ${escapeHtml(digest.recipients.join(', '))}</span><div class="meta">${sending}</div><ul class="entries">${entries}</ul></li>`;
}

function windowItem(window: RepeatWindowView): string {
  const counted =
    window.repeats > 0
      ? `${plural(window.repeats, 'repeat')} counted${window.since === undefined ? '' : ` since ${when(window.since)}`}`
      : 'no repeats counted';
  const ends = window.ended
    ? `window ended ${when(window.endsAt)}; the count goes out with the key's next mail`
    : `window ends ${when(window.endsAt)}`;
  return `<li class="mail window"${severityStyle(window.severity)}><span class="subject"><span class="badge">${escapeHtml(window.severity ?? 'key')}</span><code>${escapeHtml(window.key)}</code></span><div class="meta">last mail ${when(window.lastMailAt)} · <span class="repeat-count">${counted}</span> · ${ends}</div></li>`;
}

function silenceItem(silence: ActiveSilence): string {
  const until = silence.untilResolved ? 'until resolved' : `until ${time(new Date(silence.until))}`;
  const hidden = `${plural(silence.hidden, 'alert')} held back`;
  return `<li class="mail silence"><span class="subject">${escapeHtml(silence.subject)}</span><div class="meta">key <code>${escapeHtml(silence.key)}</code> · silenced ${escapeHtml(until)} · <span class="hidden-count">${hidden}</span></div></li>`;
}

/** One message: its headers, its HTML part in a sandboxed frame, and its text part. */
export function messagePage(message: OutboxMessage, outboxDir: string): string {
  const href = `/messages/${message.id}`;
  const html = message.html
    ? // No allow-scripts, no allow-same-origin: the mail cannot run code or reach this page.
      `<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="${href}/html" title="HTML part of the alert" referrerpolicy="no-referrer"></iframe>`
    : '<p>This message has no HTML part.</p>';
  return page(
    `${message.subject} · gmail-alerts local`,
    `<header><p><a href="/">← Outbox</a></p><h1${severityStyle(message.severity)}>${escapeHtml(message.subject)}</h1>
<dl><dt>From</dt><dd>${escapeHtml(message.from)}</dd><dt>To</dt><dd>${escapeHtml(message.to.join(', '))}</dd><dt>Received</dt><dd>${time(message.receivedAt)}</dd><dt>File</dt><dd><code>${escapeHtml(outboxDir)}/${message.id}.eml</code></dd></dl></header>
<main><h2>HTML part</h2>${html}<h2>Text part <a href="${href}/text" style="font-weight:normal;font-size:13px">plain text</a> · <a href="${href}/eml" style="font-weight:normal;font-size:13px" download="${message.id}.eml">.eml</a></h2><pre>${escapeHtml(message.text)}</pre></main>`,
  );
}

/** A conversation, oldest mail first, each with its state line and its HTML part, as Gmail shows a thread. */
export function threadPage(entries: OutboxEntry[]): string {
  const first = entries[0];
  const mails = entries
    .map(
      (entry) => `<li class="mail"${entryStyle(entry)} data-id="${entry.id}">
  <span class="badge">${escapeHtml(badgeOf(entry))}</span><strong>${escapeHtml(entry.headline)}</strong>
  <div class="meta">${time(entry.receivedAt)} · <a href="/messages/${entry.id}">message</a></div>
  <iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="/messages/${entry.id}/html" title="HTML part of ${escapeHtml(entry.headline)}" referrerpolicy="no-referrer"></iframe>
</li>`,
    )
    .join('');
  return page(
    `${first?.subject ?? 'Conversation'} · gmail-alerts local`,
    `<header><p><a href="/">← Outbox</a></p><h1>${escapeHtml(first?.subject ?? '')}</h1><p>${entries.length} mails in this conversation, oldest first</p></header>
<main><ol class="mails thread">${mails}</ol></main>`,
  );
}

/** A small page for 404s in the browser. */
export function notFoundPage(): string {
  return page(
    'Not found · gmail-alerts local',
    '<header><h1>Not found</h1><p><a href="/">← Outbox</a></p></header>',
  );
}

import type { APIGatewayProxyResult } from 'aws-lambda';
import { escapeHtml } from './render.ts';
import type { SilenceTokenProblem } from './silence-token.ts';
import { SILENCE_HOURS, type Silence } from './silences.ts';

/**
 * The pages' headers: no script, no frames, forms only back to this API, nothing cached or passed on
 * as a Referer (the URL is a credential).
 */
export const SILENCE_PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
} as const;

const STYLE = [
  'body{font-family:Arial,Helvetica,sans-serif;margin:0;padding:16px;color:#212121;line-height:1.4}',
  'main{max-width:480px;margin:0 auto;overflow-wrap:anywhere}',
  'h1{font-size:20px;margin:0 0 12px}',
  'p{margin:0 0 12px}',
  '.key{font-family:monospace;background:#f5f5f5;padding:2px 4px}',
  '.state{border-left:4px solid #1565c0;padding:4px 12px}',
  'form{display:flex;flex-wrap:wrap;gap:8px;margin:16px 0}',
  'button{font-size:16px;padding:12px 16px;border:1px solid #1565c0;border-radius:4px;background:#fff;color:#1565c0;flex:1 1 40%;min-height:44px}',
  'button.end{border-color:#b71c1c;color:#b71c1c;flex-basis:100%}',
].join('');

function page(statusCode: number, title: string, body: string): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...SILENCE_PAGE_HEADERS },
    body: [
      '<!doctype html><html lang="en"><head><meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width,initial-scale=1">',
      '<meta name="robots" content="noindex">',
      `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>`,
      `<body><main>${body}</main></body></html>`,
    ].join(''),
  };
}

/** A moment as people read it in a mail: `2026-12-02 07:15 UTC`. */
export function readableTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const hoursLabel = (hours: number) => (hours === 1 ? '1 hour' : `${hours} hours`);

function silenceState(silence: Silence | undefined): string {
  if (!silence) return '<p class="state">Not silenced: every firing alert of this key is mailed.</p>';
  const until = silence.untilResolved
    ? 'until the alert is resolved'
    : `until ${escapeHtml(readableTime(silence.until))}`;
  const hidden =
    silence.hidden > 0
      ? ` ${silence.hidden} ${silence.hidden === 1 ? 'alert has' : 'alerts have'} been held back so far.`
      : '';
  return `<p class="state">Silenced ${until}.${hidden}</p>`;
}

/**
 * The confirmation page a silence link opens. It only shows: a link scanner or preview that fetches
 * it changes nothing; the buttons post the choice back to the same URL.
 */
export function silenceFormPage(
  claims: { key: string; subject: string },
  silence: Silence | undefined,
): APIGatewayProxyResult {
  const buttons = SILENCE_HOURS.map(
    (hours) => `<button type="submit" name="hours" value="${hours}">${hoursLabel(hours)}</button>`,
  );
  buttons.push('<button type="submit" name="hours" value="resolved">Until resolved</button>');
  if (silence)
    buttons.push('<button type="submit" name="end" value="1" class="end">End the silence</button>');
  return page(
    200,
    'Silence an alert',
    [
      `<h1>${escapeHtml(claims.subject)}</h1>`,
      `<p>Key <span class="key">${escapeHtml(claims.key)}</span></p>`,
      silenceState(silence),
      '<p>While a key is silenced its firing alerts are counted, not mailed; its resolved alert is still mailed. The first mail after the silence says how many it held back.</p>',
      `<form method="post">${buttons.join('')}</form>`,
    ].join(''),
  );
}

/** The answer to a choice: until when the key is silenced, or that the silence has ended. */
export function silenceDonePage(
  claims: { key: string; subject: string },
  silence: Silence | undefined,
): APIGatewayProxyResult {
  const heading = silence
    ? silence.untilResolved
      ? 'Silenced until the alert is resolved'
      : `Silenced until ${readableTime(silence.until)}`
    : 'The silence has ended';
  return page(
    200,
    heading,
    [
      `<h1>${escapeHtml(heading)}</h1>`,
      `<p>${escapeHtml(claims.subject)}</p>`,
      `<p>Key <span class="key">${escapeHtml(claims.key)}</span></p>`,
      silence
        ? '<p>Firing alerts of this key are counted, not mailed. Open the link again to change or end the silence.</p>'
        : '<p>Firing alerts of this key are mailed again; the next one says how many were held back.</p>',
    ].join(''),
  );
}

const REFUSALS: Record<SilenceTokenProblem, { status: number; heading: string; text: string }> = {
  malformed: {
    status: 403,
    heading: 'This link is not valid',
    text: 'The link is incomplete or was changed. Open it from the mail again, whole.',
  },
  signature: {
    status: 403,
    heading: 'This link is not valid',
    text: 'The link is incomplete or was changed. Open it from the mail again, whole.',
  },
  scope: {
    status: 403,
    heading: 'This link is not valid here',
    text: 'The link belongs to another alerting deployment.',
  },
  expired: {
    status: 410,
    heading: 'This link has expired',
    text: 'Silence links work for 7 days. Use the link in a newer mail of this alert.',
  },
};

/** Why a link cannot be used, without a word about the key it names. */
export function refusedTokenPage(problem: SilenceTokenProblem): APIGatewayProxyResult {
  const refusal = REFUSALS[problem];
  return page(refusal.status, refusal.heading, `<h1>${refusal.heading}</h1><p>${refusal.text}</p>`);
}

/** A form that does not say what to do (no hours, or hours not offered). */
export function badChoicePage(): APIGatewayProxyResult {
  return page(
    400,
    'Choose how long',
    '<h1>Choose how long</h1><p>Go back and press one of the buttons: 1 hour, 4 hours, 24 hours, until resolved, or end the silence.</p>',
  );
}

/** Silences cannot be kept or read now (no state table, no signing key, or the table failed). */
export function unavailablePage(statusCode: 500 | 503): APIGatewayProxyResult {
  return page(
    statusCode,
    'Silences are unavailable',
    '<h1>Silences are unavailable</h1><p>Nothing was changed. Try again in a minute; if it goes on, the deployment needs attention.</p>',
  );
}

/** A path or method the API does not serve. */
export function notFoundPage(): APIGatewayProxyResult {
  return page(404, 'Not found', '<h1>Not found</h1>');
}

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.ts';
import { renderAlert } from '../../functions/core/render.ts';
import { refusedTokenPage, silenceFormPage } from '../../functions/core/silence-pages.ts';
import { parseSilenceChoice } from '../../functions/core/silence-requests.ts';
import {
  parseSigningKey,
  SigningKeyError,
  SilenceTokenError,
  signSilenceToken,
  verifySilenceToken,
} from '../../functions/core/silence-token.ts';

const KEY = 'unit-signing-key-0123456789abcdefghijklmnopqrstuvwxyz';
const PREVIOUS = 'unit-previous-key-0123456789abcdefghijklmnopqrstuvwxyz';
const NOW = 1_800_000_000;
const claims = { key: 'db-1-disk', subject: 'Disk almost full', scope: 'gmail-alerts', expiresAt: NOW + 60 };

const problemOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof SilenceTokenError ? error.code : `not a token error: ${String(error)}`;
  }
  return 'accepted';
};

describe('signSilenceToken / verifySilenceToken', () => {
  it('returns the signed claims with the current or the previous key', () => {
    const token = signSilenceToken(claims, KEY);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifySilenceToken(token, [KEY], 'gmail-alerts', NOW)).toEqual(claims);
    expect(
      verifySilenceToken(signSilenceToken(claims, PREVIOUS), [KEY, PREVIOUS], 'gmail-alerts', NOW),
    ).toEqual(claims);
  });

  it('refuses a token signed with another key, changed, expired or of another stack', () => {
    const token = signSilenceToken(claims, KEY);
    const [payload = '', signature = ''] = token.split('.');
    const otherPayload = Buffer.from(
      JSON.stringify({ k: 'db-2-disk', s: 's', a: 'gmail-alerts', e: NOW + 60 }),
    ).toString('base64url');
    expect(problemOf(() => verifySilenceToken(token, [PREVIOUS], 'gmail-alerts', NOW))).toBe('signature');
    expect(
      problemOf(() => verifySilenceToken(`${otherPayload}.${signature}`, [KEY], 'gmail-alerts', NOW)),
    ).toBe('signature');
    expect(problemOf(() => verifySilenceToken(`${payload}.${signature}x`, [KEY], 'gmail-alerts', NOW))).toBe(
      'malformed',
    );
    expect(problemOf(() => verifySilenceToken(`${payload}`, [KEY], 'gmail-alerts', NOW))).toBe('malformed');
    expect(problemOf(() => verifySilenceToken(token, [KEY], 'gmail-alerts', NOW + 60))).toBe('expired');
    expect(problemOf(() => verifySilenceToken(token, [KEY], 'other-stack', NOW))).toBe('scope');
    expect(problemOf(() => verifySilenceToken(token, [], 'gmail-alerts', NOW))).toBe('signature');
  });

  it('clips a long subject so the link stays short', () => {
    const token = signSilenceToken({ ...claims, subject: 'x'.repeat(900) }, KEY);
    const { subject } = verifySilenceToken(token, [KEY], 'gmail-alerts', NOW);
    expect(subject).toHaveLength(120);
    expect(subject.endsWith('…')).toBe(true);
  });
});

describe('parseSigningKey', () => {
  it('reads a key of at least 43 characters and never quotes the value when refusing it', () => {
    expect(parseSigningKey(JSON.stringify({ key: KEY }))).toBe(KEY);
    for (const value of ['{"key":"short-secret-value"}', 'not json short-secret-value', '{"other":1}']) {
      expect(() => parseSigningKey(value)).toThrow(SigningKeyError);
      expect(() => parseSigningKey(value)).not.toThrow(/short-secret-value/);
    }
  });
});

describe('the silence pages', () => {
  it('escapes what the token carries and offers the choices', () => {
    const { body, statusCode } = silenceFormPage({ key: '<k>', subject: '<script>x()</script>' }, undefined);
    expect(statusCode).toBe(200);
    expect(body).not.toContain('<script>');
    expect(body).toContain('&lt;script&gt;');
    expect(body).toContain('&lt;k&gt;');
    expect(body).toContain('<form method="post">');
  });

  it('says why a link is refused', () => {
    expect(refusedTokenPage('expired').statusCode).toBe(410);
    expect(refusedTokenPage('signature').statusCode).toBe(403);
  });

  it('reads only the choices the page offers', () => {
    expect(parseSilenceChoice('hours=4')).toEqual({ hours: 4 });
    expect(parseSilenceChoice('hours=resolved')).toEqual({ hours: 'resolved' });
    expect(parseSilenceChoice('end=1')).toEqual({ end: true });
    expect(parseSilenceChoice('hours=5')).toBeUndefined();
    expect(parseSilenceChoice('')).toBeUndefined();
  });
});

describe('the link in a mail', () => {
  const alert = {
    subject: 'Disk',
    text: undefined,
    severity: 'warning' as const,
    status: 'firing' as const,
    to: ['oncall@example.com'],
    source: undefined,
    dedupKey: 'db-1-disk',
    fields: {},
    links: [],
  };

  it('is in both parts when the delivery policy set it, with what a silence hid', () => {
    const url = 'https://alerts.example.com/prod/silences/abc.def';
    const { text, html } = renderAlert({ ...alert, silenceUrl: url, hidden: { count: 2, since: 'then' } });
    expect(text).toContain(`Silence… ${url}`);
    expect(html).toContain(`<a href="${url}">Silence…</a>`);
    expect(text).toContain('2 alerts were hidden by a silence since then');
    expect(renderAlert(alert).text).not.toContain('Silence…');
  });

  it('takes its base URL from ALERT_SILENCE_BASE_URL: https, or http on loopback only', () => {
    const env = { GMAIL_SECRET_ID: 's' };
    expect(loadConfig({ ...env, ALERT_SILENCE_BASE_URL: 'https://a.example.com/prod/' }).silenceBaseUrl).toBe(
      'https://a.example.com/prod',
    );
    expect(loadConfig({ ...env, ALERT_SILENCE_BASE_URL: 'http://127.0.0.1:3000' }).silenceBaseUrl).toBe(
      'http://127.0.0.1:3000',
    );
    expect(() => loadConfig({ ...env, ALERT_SILENCE_BASE_URL: 'http://a.example.com/prod' })).toThrow(
      /ALERT_SILENCE_BASE_URL/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { Alert } from '../../functions/core/alert.ts';
import { mailSubject, renderAlert } from '../../functions/core/render.ts';

const alert: Alert = {
  subject: 'CPU <script>alert(1)</script> high',
  text: 'Load is "high" & rising\nsecond line',
  severity: 'critical',
  status: 'firing',
  to: ['oncall@example.com'],
  source: 'cron/<b>',
  dedupKey: 'cpu-1',
  fields: { '<host>': '<img src=x onerror=alert(1)>' },
  links: [{ title: '<Runbook>', url: 'https://runbooks.example.com/?a=1&b="2"' }],
};

describe('renderAlert', () => {
  it('keeps the subject of an alert with a key as given, so every mail of the key threads in Gmail', () => {
    expect(renderAlert(alert).subject).toBe('CPU <script>alert(1)</script> high');
    expect(renderAlert({ ...alert, status: 'resolved', severity: 'info' }).subject).toBe(
      renderAlert(alert).subject,
    );
  });

  it('prefixes the subject of an alert without a key with its state', () => {
    const once = { ...alert, dedupKey: undefined };
    expect(mailSubject(once)).toBe('[CRITICAL] CPU <script>alert(1)</script> high');
    expect(mailSubject({ ...once, severity: 'info' })).toMatch(/^\[INFO\] /);
    expect(mailSubject({ ...once, status: 'resolved' })).toMatch(/^\[RESOLVED\] /);
  });

  it('puts the state and the subject in the first line of the text part', () => {
    expect(renderAlert(alert).text.split('\n')[0]).toBe('CRITICAL: CPU <script>alert(1)</script> high');
    expect(renderAlert({ ...alert, status: 'resolved' }).text.split('\n')[0]).toBe(
      'RESOLVED: CPU <script>alert(1)</script> high',
    );
  });

  it('escapes every value in the HTML part', () => {
    const { html } = renderAlert({ ...alert, event: '{"detail":"</pre><script>x()</script>"}' });
    expect(html).not.toMatch(/<script>|<img|<b>|<host>|<Runbook>/);
    expect(html).toContain('CPU &lt;script&gt;alert(1)&lt;/script&gt; high');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('href="https://runbooks.example.com/?a=1&amp;b=&quot;2&quot;"');
    expect(html).toContain('Load is &quot;high&quot; &amp; rising');
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;');
  });

  it('writes a short text part with the facts and links, and the event only in the HTML part', () => {
    const { text, html } = renderAlert({ ...alert, event: '{"id":"event-json-only-in-html"}' });
    expect(text).toContain('Load is "high" & rising\nsecond line');
    expect(text).toContain('\n<host>: <img src=x onerror=alert(1)>\n');
    expect(text).toContain('\n<Runbook>: https://runbooks.example.com/?a=1&b="2"\n');
    expect(text).toContain('Key: cpu-1');
    expect(text).not.toContain('event-json-only-in-html');
    expect(html).toMatch(
      /<details[^>]*><summary[^>]*>Full event \(JSON\)<\/summary><pre[^>]*>\{&quot;id&quot;:&quot;event-json-only-in-html/,
    );
  });

  it('says how many repeats of its key a mail stands for, and since when, in both parts', () => {
    const repeated = renderAlert({ ...alert, repeats: { count: 12, since: '2026-12-01T08:00:00.000Z' } });
    expect(repeated.text.split('\n')[1]).toBe('Stands for 12 repeats since 2026-12-01T08:00:00.000Z');
    expect(repeated.html).toContain('Stands for 12 repeats since 2026-12-01T08:00:00.000Z');
    expect(
      renderAlert({ ...alert, repeats: { count: 1, since: '2026-12-01T08:00:00.000Z' } }).text,
    ).toContain('Stands for 1 repeat since');
    expect(renderAlert(alert).text).not.toContain('Stands for');
  });

  it('raises the priority of firing critical and high alerts only', () => {
    expect(renderAlert(alert).priority).toBe('high');
    expect(renderAlert({ ...alert, severity: 'high' }).priority).toBe('high');
    expect(renderAlert({ ...alert, severity: 'warning' }).priority).toBe('normal');
    expect(renderAlert({ ...alert, status: 'resolved' }).priority).toBe('normal');
  });
});

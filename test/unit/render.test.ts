import { describe, expect, it } from 'vitest';
import type { Alert } from '../../functions/core/alert.ts';
import { renderAlert } from '../../functions/core/render.ts';

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
  it('prefixes the subject with the severity', () => {
    expect(renderAlert(alert).subject).toBe('[CRITICAL] CPU <script>alert(1)</script> high');
    expect(renderAlert({ ...alert, severity: 'info' }).subject).toMatch(/^\[INFO\] /);
  });

  it('escapes every value in the HTML part', () => {
    const { html } = renderAlert(alert);
    expect(html).not.toMatch(/<script>|<img|<b>|<host>|<Runbook>/);
    expect(html).toContain('CPU &lt;script&gt;alert(1)&lt;/script&gt; high');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('href="https://runbooks.example.com/?a=1&amp;b=&quot;2&quot;"');
    expect(html).toContain('Load is &quot;high&quot; &amp; rising');
  });

  it('writes a readable text part with details and links', () => {
    const { text } = renderAlert(alert);
    expect(text).toContain('Load is "high" & rising\nsecond line');
    expect(text).toContain('  <host>: <img src=x onerror=alert(1)>');
    expect(text).toContain('  <Runbook>: https://runbooks.example.com/?a=1&b="2"');
    expect(text).toContain('Dedup key: cpu-1');
  });

  it('says how many repeats of its key a mail stands for, and since when, in both parts', () => {
    const repeated = renderAlert({ ...alert, repeats: { count: 12, since: '2026-12-01T08:00:00.000Z' } });
    expect(repeated.text).toContain('Stands for 12 repeats since 2026-12-01T08:00:00.000Z');
    expect(repeated.html).toContain('Stands for 12 repeats since 2026-12-01T08:00:00.000Z');
    expect(
      renderAlert({ ...alert, repeats: { count: 1, since: '2026-12-01T08:00:00.000Z' } }).text,
    ).toContain('Stands for 1 repeat since');
    expect(renderAlert(alert).text).not.toContain('Stands for');
  });

  it('carries severity, source and dedup key as headers and raises the priority of urgent alerts', () => {
    const rendered = renderAlert(alert);
    expect(rendered.headers).toEqual({
      'X-Alert-Severity': 'critical',
      'X-Alert-Source': 'cron/<b>',
      'X-Alert-Dedup-Key': 'cpu-1',
    });
    expect(rendered.priority).toBe('high');
    expect(renderAlert({ ...alert, severity: 'warning' }).priority).toBe('normal');
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_ALERT_BYTES, parseAlert, parseJsonBody } from '../../functions/core/alert.ts';
import { AlertTooLargeError, AlertValidationError } from '../../functions/core/errors.ts';

const config = {
  alertTo: ['oncall@example.com'],
  allowedRecipients: {
    addresses: new Set(['oncall@example.com', 'cto@example.org']),
    domains: new Set(['ops.example.com']),
  },
};

function issuesOf(input: unknown): { field: string; message: string }[] {
  try {
    parseAlert(input, config);
  } catch (error) {
    if (error instanceof AlertValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parseAlert', () => {
  it('applies defaults: severity info and the configured recipients', () => {
    const alert = parseAlert({ subject: 'Disk full' }, config);
    expect(alert).toMatchObject({
      subject: 'Disk full',
      severity: 'info',
      to: ['oncall@example.com'],
      links: [],
      fields: {},
    });
  });

  it('accepts allowed recipients by exact address or exact domain, normalised to lower case', () => {
    const alert = parseAlert(
      { subject: 's', to: ['CTO@Example.org', 'anyone@ops.example.com', 'cto@example.org'] },
      config,
    );
    expect(alert.to).toEqual(['cto@example.org', 'anyone@ops.example.com']);
  });

  it.each([
    ['outside the allow-list', 'mallory@evil.example', 'not on the allowed recipients list'],
    ['a subdomain of an allowed domain', 'x@sub.ops.example.com', 'not on the allowed recipients list'],
    ['a display name', 'Ops <oncall@example.com>', 'bare ASCII address'],
    ['a quoted local part', '"oncall@example.com x"@evil.example', 'bare ASCII address'],
    ['a comment', 'oncall(comment)@example.com', 'local part'],
    ['a group', 'team:oncall@example.com;', 'local part'],
    ['two addresses in one', 'oncall@example.com,mallory@evil.example', 'single address'],
    ['a zero-width space', 'oncall\u200b@example.com', 'bare ASCII address'],
    ['a Cyrillic look-alike', 'оncall@example.com', 'bare ASCII address'],
    ['a CRLF', 'oncall@example.com\r\nBcc: mallory@evil.example', 'bare ASCII address'],
  ])('refuses a recipient with %s', (_name, recipient, message) => {
    const issues = issuesOf({ subject: 's', to: [recipient] });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.field).toBe('to[0]');
    expect(issues[0]?.message).toContain(message);
  });

  it('refuses more than 100 recipients', () => {
    const to = Array.from({ length: 101 }, (_, i) => `u${i}@ops.example.com`);
    expect(issuesOf({ subject: 's', to })).toEqual([
      { field: 'to', message: 'must name at most 100 recipients' },
    ]);
  });

  it.each([
    [{}, 'subject'],
    [{ subject: '' }, 'subject'],
    [{ subject: 'a\r\nBcc: x@evil.example' }, 'subject'],
    [{ subject: 'x'.repeat(201) }, 'subject'],
    [{ subject: 's', severity: 'urgent' }, 'severity'],
    [{ subject: 's', links: [{ title: 't', url: 'javascript:alert(1)' }] }, 'links[0].url'],
    [{ subject: 's', links: [{ title: 't', url: 'http://example.com' }] }, 'links[0].url'],
    [{ subject: 's', fields: { nested: { a: 1 } } }, 'fields.nested'],
    [{ subject: 's', source: 'x\ny' }, 'source'],
    [{ subject: 's', attachments: [{ path: '/etc/passwd' }] }, 'attachments'],
    [{ subject: 's', html: '<b>x</b>' }, 'html'],
    [{ subject: 42 }, 'subject'],
    [[], 'body'],
    ['just text', 'body'],
  ])('names the field that is wrong in %j', (input, field) => {
    expect(issuesOf(input).map((issue) => issue.field)).toContain(field);
  });

  it('reports a missing recipient list when neither "to" nor ALERT_TO gives one', () => {
    expect(() => parseAlert({ subject: 's' }, { ...config, alertTo: [] })).toThrow(/to: no recipients/);
  });
});

describe('parseJsonBody', () => {
  it('refuses a body that is not JSON, naming the body', () => {
    expect(() => parseJsonBody('{"subject":')).toThrow(AlertValidationError);
    expect(() => parseJsonBody('{"subject":')).toThrow('body: is not valid JSON');
  });

  it('refuses a body above the size limit before parsing it', () => {
    const body = JSON.stringify({ subject: 's', text: 'x'.repeat(MAX_ALERT_BYTES) });
    expect(() => parseJsonBody(body)).toThrow(AlertTooLargeError);
  });
});

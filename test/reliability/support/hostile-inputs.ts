/** A hostile or malformed alert, and the field the answer must name. */
export interface HostileInput {
  name: string;
  /** The raw body as a caller sends it (HTTP body, SQS message body). */
  body: string;
  /** 400 for invalid input, 413 for too large. */
  status: 400 | 413;
  /** The field the answer must name (`body` for the body as a whole). */
  field: string;
  /** Also sent as an EventBridge custom event (detail = the parsed body), where that is meaningful. */
  eventBridge?: boolean;
}

const alert = (fields: Record<string, unknown>) => JSON.stringify({ subject: 'Disk full', ...fields });
const withTo = (...to: unknown[]) => alert({ to });
const invalid = (name: string, body: string, field: string): HostileInput => ({
  name,
  body,
  status: 400,
  field,
  eventBridge: isObjectWithSubject(body),
});

/** Whether a raw body parses to an object with a string `subject`: what could pass for an alert. */
export function isObjectWithSubject(body: string): boolean {
  try {
    const value = JSON.parse(body) as unknown;
    return (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { subject?: unknown }).subject === 'string'
    );
  } catch {
    return false;
  }
}

/** Header injection: CR, LF and other line breaks in every value that reaches a header. */
export const headerInjection: HostileInput[] = [
  invalid(
    'CRLF and a Bcc header in the subject',
    alert({ subject: 'Disk full\r\nBcc: mallory@evil.example' }),
    'subject',
  ),
  invalid('a bare LF in the subject', alert({ subject: 'Disk full\nX-Injected: 1' }), 'subject'),
  invalid('a bare CR in the subject', alert({ subject: 'Disk full\rX-Injected: 1' }), 'subject'),
  invalid('NUL in the subject', alert({ subject: 'Disk\u0000full' }), 'subject'),
  invalid('a tab in the subject', alert({ subject: 'Disk\tfull' }), 'subject'),
  invalid(
    'U+2028 line separator in the subject',
    alert({ subject: 'Disk full\u2028Bcc: x@evil.example' }),
    'subject',
  ),
  invalid(
    'U+0085 next line in the subject',
    alert({ subject: 'Disk full\u0085Bcc: x@evil.example' }),
    'subject',
  ),
  invalid('an empty subject', alert({ subject: '   ' }), 'subject'),
  invalid('a subject of 201 characters', alert({ subject: 's'.repeat(201) }), 'subject'),
  invalid('CRLF in the source', alert({ source: 'cron\r\nBcc: mallory@evil.example' }), 'source'),
  invalid('CRLF in the dedupKey', alert({ dedupKey: 'k\r\nBcc: mallory@evil.example' }), 'dedupKey'),
  invalid(
    'CRLF in a field name',
    alert({ fields: { 'host\r\nBcc: x@evil.example': 'db-1' } }),
    'fields.host\r\nBcc: x@evil.example',
  ),
  invalid(
    'CRLF in a link title',
    alert({ links: [{ title: 'Runbook\r\nBcc: x', url: 'https://example.com' }] }),
    'links[0].title',
  ),
];

/** Encoded words a mail reader would decode into a line break, and characters that disguise what is shown. */
export const disguises: HostileInput[] = [
  invalid(
    'an RFC 2047 encoded word hiding CR LF and a Bcc in the subject',
    alert({ subject: 'Disk full =?utf-8?b?DQpCY2M6IG1hbGxvcnlAZXZpbC5leGFtcGxl?=' }),
    'subject',
  ),
  invalid(
    'a Q-encoded word in the subject',
    alert({ subject: '=?iso-8859-1?q?Disk_full=0D=0ABcc:_mallory@evil.example?=' }),
    'subject',
  ),
  invalid('an encoded word in the source', alert({ source: 'cron=?utf-8?b?DQo=?=' }), 'source'),
  invalid('an encoded word in the dedupKey', alert({ dedupKey: '=?UTF-8?B?DQo=?=' }), 'dedupKey'),
  invalid(
    'a right-to-left override in the subject',
    alert({ subject: 'Invoice paid \u202egpj.exe' }),
    'subject',
  ),
  invalid('a zero-width space in the subject', alert({ subject: 'Disk\u200b full' }), 'subject'),
  invalid('a byte-order mark in the source', alert({ source: '\ufeffcron' }), 'source'),
  invalid(
    'a right-to-left isolate in a link title',
    alert({ links: [{ title: 'Runbook \u2067moc.live\u2069', url: 'https://example.com' }] }),
    'links[0].title',
  ),
];

/** Recipients: display names, quoting, comments, groups, IDN and look-alikes, lists, limits. */
export const recipientTricks: HostileInput[] = [
  invalid(
    'a quoted local part hiding an allowed address',
    withTo('"oncall@example.com x"@evil.example'),
    'to[0]',
  ),
  invalid('a display name', withTo('Oncall <oncall@example.com>'), 'to[0]'),
  invalid(
    'an allowed address as display name of another',
    withTo('oncall@example.com <mallory@evil.example>'),
    'to[0]',
  ),
  invalid('a comment in the local part', withTo('oncall(comment)@example.com'), 'to[0]'),
  invalid(
    'a trailing comment naming another address',
    withTo('oncall@example.com(mallory@evil.example)'),
    'to[0]',
  ),
  invalid(
    'a comment joining an allowed domain to another',
    withTo('oncall@example.com(x)evil.example'),
    'to[0]',
  ),
  invalid(
    'ESMTP parameters smuggled in a quoted local part',
    withTo('"oncall@example.com> ORCPT=rfc822;mallory@evil.example"@example.com'),
    'to[0]',
  ),
  invalid(
    'ESMTP parameters after an address',
    withTo('oncall@example.com> NOTIFY=SUCCESS ORCPT=rfc822;x@evil.example'),
    'to[0]',
  ),
  invalid('a group', withTo('team: oncall@example.com, mallory@evil.example;'), 'to[0]'),
  invalid('two addresses with a comma', withTo('oncall@example.com,mallory@evil.example'), 'to[0]'),
  invalid('two addresses with a semicolon', withTo('oncall@example.com;mallory@evil.example'), 'to[0]'),
  invalid('CRLF and a Bcc in an address', withTo('oncall@example.com\r\nBcc: mallory@evil.example'), 'to[0]'),
  invalid('a Cyrillic look-alike in the domain', withTo('oncall@\u0435xample.com'), 'to[0]'),
  invalid('the punycode form of the look-alike', withTo('oncall@xn--xample-2of.com'), 'to[0]'),
  invalid('a zero-width space in the domain', withTo('oncall@exa\u200bmple.com'), 'to[0]'),
  invalid('a fullwidth letter in the local part', withTo('\uff4fncall@example.com'), 'to[0]'),
  invalid('a trailing dot on the domain', withTo('oncall@example.com.'), 'to[0]'),
  invalid('an allowed domain as a prefix', withTo('oncall@example.com.evil.example'), 'to[0]'),
  invalid('a subdomain of an allowed domain', withTo('x@sub.ops.example.com'), 'to[0]'),
  invalid('two at-signs', withTo('oncall@example.com@evil.example'), 'to[0]'),
  invalid('a source route', withTo('@evil.example:oncall@example.com'), 'to[0]'),
  invalid('an IP literal', withTo('oncall@[127.0.0.1]'), 'to[0]'),
  invalid(
    'an address outside the allow-list, second in the list',
    withTo('oncall@example.com', 'mallory@evil.example'),
    'to[1]',
  ),
  invalid(
    'more than 100 recipients',
    withTo(...Array.from({ length: 101 }, (_, i) => `r${i}@ops.example.com`)),
    'to',
  ),
  invalid('an empty recipient list', withTo(), 'to'),
  invalid('recipients as a string, not a list', alert({ to: 'oncall@example.com' }), 'to'),
  invalid('a recipient that is an object', withTo({ address: 'mallory@evil.example', name: 'x' }), 'to[0]'),
];

/** Shape: not JSON, wrong types, extra fields, links, attachments, size. */
export const malformed: HostileInput[] = [
  invalid('a body that is not JSON', 'subject=Disk full&to=mallory@evil.example', 'body'),
  invalid('an empty body', '', 'body'),
  invalid('a JSON array', '[{"subject":"Disk full"}]', 'body'),
  invalid('JSON null', 'null', 'body'),
  invalid('a JSON string', '"Disk full"', 'body'),
  invalid('a number as subject', JSON.stringify({ subject: 42 }), 'subject'),
  invalid('an unknown severity', alert({ severity: 'urgent' }), 'severity'),
  invalid('a nested object as a field value', alert({ fields: { host: { name: 'db-1' } } }), 'fields.host'),
  invalid(
    'more than 50 fields',
    alert({ fields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }),
    'fields',
  ),
  invalid('an extra bcc field', alert({ bcc: ['mallory@evil.example'] }), 'bcc'),
  invalid('an extra cc field', alert({ cc: 'mallory@evil.example' }), 'cc'),
  invalid('an extra from field', alert({ from: 'ceo@example.com' }), 'from'),
  invalid('an extra replyTo field', alert({ replyTo: 'mallory@evil.example' }), 'replyTo'),
  invalid('raw headers', alert({ headers: { Bcc: 'mallory@evil.example' } }), 'headers'),
  invalid('raw HTML', alert({ html: '<script>alert(1)</script>' }), 'html'),
  invalid('an attachment by file path', alert({ attachments: [{ path: '/etc/passwd' }] }), 'attachments'),
  invalid(
    'an attachment by URL',
    alert({ attachments: [{ href: 'http://169.254.169.254/latest/meta-data/' }] }),
    'attachments',
  ),
  invalid(
    'a __proto__ key',
    '{"subject":"Disk full","__proto__":{"to":["mallory@evil.example"]}}',
    '__proto__',
  ),
  invalid(
    'a javascript: link',
    alert({ links: [{ title: 'x', url: 'javascript:alert(document.cookie)' }] }),
    'links[0].url',
  ),
  invalid(
    'a javascript: link hidden by case and a tab',
    alert({ links: [{ title: 'x', url: ' JavaScript\t:alert(1)' }] }),
    'links[0].url',
  ),
  invalid(
    'an http: link',
    alert({ links: [{ title: 'x', url: 'http://example.com/runbook' }] }),
    'links[0].url',
  ),
  invalid(
    'a data: link',
    alert({ links: [{ title: 'x', url: 'data:text/html,<script>alert(1)</script>' }] }),
    'links[0].url',
  ),
  invalid('a file: link', alert({ links: [{ title: 'x', url: 'file:///etc/passwd' }] }), 'links[0].url'),
  invalid(
    'an extra field in a link',
    alert({ links: [{ title: 'x', url: 'https://example.com', target: '_blank' }] }),
    'links[0].target',
  ),
  invalid('a text of more than 65,536 characters', alert({ text: 'x'.repeat(65_537) }), 'text'),
  invalid(
    'a text of 32,769 characters that is more than 64 KiB in UTF-8',
    alert({ text: '\u00e9'.repeat(32_769) }),
    'text',
  ),
  invalid(
    'a __proto__ field holding an object',
    '{"subject":"Disk full","fields":{"host":"db-1","__proto__":{"to":["mallory@evil.example"]}}}',
    'fields.__proto__',
  ),
  invalid(
    'a __proto__ field holding a string',
    '{"subject":"Disk full","fields":{"__proto__":"x"}}',
    'fields.__proto__',
  ),
  invalid(
    'a link whose user-info looks like the host',
    alert({ links: [{ title: 'Runbook', url: 'https://runbooks.example.com@evil.example/x' }] }),
    'links[0].url',
  ),
  invalid(
    'a link with a user and password',
    alert({ links: [{ title: 'Runbook', url: 'https://admin:secret@runbooks.example.com/x' }] }),
    'links[0].url',
  ),
  invalid(
    'a link with CR LF in it',
    alert({ links: [{ title: 'Runbook', url: 'https://example.com/x\r\nBcc: mallory@evil.example' }] }),
    'links[0].url',
  ),
  invalid(
    'a link with a space in it',
    alert({ links: [{ title: 'Runbook', url: 'https://example.com/x" onclick="alert(1)' }] }),
    'links[0].url',
  ),
  invalid(
    'a link with a backslash in it',
    alert({ links: [{ title: 'Runbook', url: 'https://example.com\\@evil.example/' }] }),
    'links[0].url',
  ),
  { name: 'a body over 256 KB', body: alert({ text: 'x'.repeat(300_000) }), status: 413, field: 'body' },
];

export const hostileInputs: HostileInput[] = [
  ...headerInjection,
  ...disguises,
  ...recipientTricks,
  ...malformed,
];

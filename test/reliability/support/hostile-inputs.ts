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

/** Where a caller's value can stand in an alert. */
export type Placement = 'subject' | 'source' | 'dedupKey' | 'fieldKey' | 'linkTitle' | 'to';

/** An alert with `value` in the named place, and the field an answer must name for it. */
export function placeValue(
  where: Placement,
  value: string,
): { alert: Record<string, unknown>; field: string } {
  const alert: Record<string, unknown> = { subject: 'Disk full' };
  switch (where) {
    case 'fieldKey':
      alert.fields = { [value]: 'x' };
      return { alert, field: `fields.${value}` };
    case 'linkTitle':
      alert.links = [{ title: value, url: 'https://example.com/runbook' }];
      return { alert, field: 'links[0].title' };
    case 'to':
      alert.to = [value];
      return { alert, field: 'to[0]' };
    default:
      alert[where] = value;
      return { alert, field: where };
  }
}

/** Refused for `value` in one place, naming that place's field. */
const placed = (name: string, where: Placement, value: string): HostileInput => {
  const { alert, field } = placeValue(where, value);
  return invalid(name, JSON.stringify(alert), field);
};

/** Refused for the URL of an alert's one link (titled `title`), naming `links[0].url`. */
const refusedLink = (name: string, title: string, url: string): HostileInput =>
  invalid(name, alert({ links: [{ title, url }] }), 'links[0].url');

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
  placed('CRLF and a Bcc header in the subject', 'subject', 'Disk full\r\nBcc: mallory@evil.example'),
  placed('a bare LF in the subject', 'subject', 'Disk full\nX-Injected: 1'),
  placed('a bare CR in the subject', 'subject', 'Disk full\rX-Injected: 1'),
  placed('NUL in the subject', 'subject', 'Disk\u0000full'),
  placed('a tab in the subject', 'subject', 'Disk\tfull'),
  placed('U+2028 line separator in the subject', 'subject', 'Disk full\u2028Bcc: x@evil.example'),
  placed('U+0085 next line in the subject', 'subject', 'Disk full\u0085Bcc: x@evil.example'),
  placed('an empty subject', 'subject', '   '),
  placed('a subject of 201 characters', 'subject', 's'.repeat(201)),
  placed('CRLF in the source', 'source', 'cron\r\nBcc: mallory@evil.example'),
  placed('CRLF in the dedupKey', 'dedupKey', 'k\r\nBcc: mallory@evil.example'),
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
  placed(
    'an RFC 2047 encoded word hiding CR LF and a Bcc in the subject',
    'subject',
    'Disk full =?utf-8?b?DQpCY2M6IG1hbGxvcnlAZXZpbC5leGFtcGxl?=',
  ),
  placed(
    'a Q-encoded word in the subject',
    'subject',
    '=?iso-8859-1?q?Disk_full=0D=0ABcc:_mallory@evil.example?=',
  ),
  placed('an encoded word in the source', 'source', 'cron=?utf-8?b?DQo=?='),
  placed('an encoded word in the dedupKey', 'dedupKey', '=?UTF-8?B?DQo=?='),
  placed('a right-to-left override in the subject', 'subject', 'Invoice paid \u202egpj.exe'),
  placed('a zero-width space in the subject', 'subject', 'Disk\u200b full'),
  placed('a byte-order mark in the source', 'source', '\ufeffcron'),
  invalid(
    'a right-to-left isolate in a link title',
    alert({ links: [{ title: 'Runbook \u2067moc.live\u2069', url: 'https://example.com' }] }),
    'links[0].title',
  ),
];

/** Recipients: display names, quoting, comments, groups, IDN and look-alikes, lists, limits. */
export const recipientTricks: HostileInput[] = [
  placed('a quoted local part hiding an allowed address', 'to', '"oncall@example.com x"@evil.example'),
  placed('a display name', 'to', 'Oncall <oncall@example.com>'),
  placed('an allowed address as display name of another', 'to', 'oncall@example.com <mallory@evil.example>'),
  placed('a comment in the local part', 'to', 'oncall(comment)@example.com'),
  placed('a trailing comment naming another address', 'to', 'oncall@example.com(mallory@evil.example)'),
  placed('a comment joining an allowed domain to another', 'to', 'oncall@example.com(x)evil.example'),
  placed(
    'ESMTP parameters smuggled in a quoted local part',
    'to',
    '"oncall@example.com> ORCPT=rfc822;mallory@evil.example"@example.com',
  ),
  placed(
    'ESMTP parameters after an address',
    'to',
    'oncall@example.com> NOTIFY=SUCCESS ORCPT=rfc822;x@evil.example',
  ),
  placed('a group', 'to', 'team: oncall@example.com, mallory@evil.example;'),
  placed('two addresses with a comma', 'to', 'oncall@example.com,mallory@evil.example'),
  placed('two addresses with a semicolon', 'to', 'oncall@example.com;mallory@evil.example'),
  placed('CRLF and a Bcc in an address', 'to', 'oncall@example.com\r\nBcc: mallory@evil.example'),
  placed('a Cyrillic look-alike in the domain', 'to', 'oncall@\u0435xample.com'),
  placed('the punycode form of the look-alike', 'to', 'oncall@xn--xample-2of.com'),
  placed('a zero-width space in the domain', 'to', 'oncall@exa\u200bmple.com'),
  placed('a fullwidth letter in the local part', 'to', '\uff4fncall@example.com'),
  placed('a trailing dot on the domain', 'to', 'oncall@example.com.'),
  placed('an allowed domain as a prefix', 'to', 'oncall@example.com.evil.example'),
  placed('a subdomain of an allowed domain', 'to', 'x@sub.ops.example.com'),
  placed('two at-signs', 'to', 'oncall@example.com@evil.example'),
  placed('a source route', 'to', '@evil.example:oncall@example.com'),
  placed('an IP literal', 'to', 'oncall@[127.0.0.1]'),
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
  refusedLink('a javascript: link', 'x', 'javascript:alert(document.cookie)'),
  refusedLink('a javascript: link hidden by case and a tab', 'x', ' JavaScript\t:alert(1)'),
  refusedLink('an http: link', 'x', 'http://example.com/runbook'),
  refusedLink('a data: link', 'x', 'data:text/html,<script>alert(1)</script>'),
  refusedLink('a file: link', 'x', 'file:///etc/passwd'),
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
  refusedLink(
    'a link whose user-info looks like the host',
    'Runbook',
    'https://runbooks.example.com@evil.example/x',
  ),
  refusedLink('a link with a user and password', 'Runbook', 'https://admin:secret@runbooks.example.com/x'),
  refusedLink('a link with CR LF in it', 'Runbook', 'https://example.com/x\r\nBcc: mallory@evil.example'),
  refusedLink('a link with a space in it', 'Runbook', 'https://example.com/x" onclick="alert(1)'),
  refusedLink('a link with a backslash in it', 'Runbook', 'https://example.com\\@evil.example/'),
  { name: 'a body over 256 KB', body: alert({ text: 'x'.repeat(300_000) }), status: 413, field: 'body' },
];

export const hostileInputs: HostileInput[] = [
  ...headerInjection,
  ...disguises,
  ...recipientTricks,
  ...malformed,
];

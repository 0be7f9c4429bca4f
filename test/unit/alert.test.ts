import { describe, expect, it } from 'vitest';
import { MAX_ALERT_BYTES, parseAlert, parseJsonBody } from '../../functions/core/alert.ts';
import { AlertTooLargeError, AlertValidationError } from '../../functions/core/errors.ts';
import { findTooDeep, truncateDepth } from '../../functions/core/json-depth.ts';

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

/** Rows of [case, input, message] from cases grouped under the message they are refused with. */
function byMessage(groups: Record<string, Record<string, string>>): [string, string, string][] {
  return Object.entries(groups).flatMap(([message, cases]) =>
    Object.entries(cases).map(([name, input]): [string, string, string] => [name, input, message]),
  );
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

  it.each(
    byMessage({
      'not on the allowed recipients list': {
        'outside the allow-list': 'mallory@evil.example',
        'a subdomain of an allowed domain': 'x@sub.ops.example.com',
      },
      'bare ASCII address': {
        'a display name': 'Ops <oncall@example.com>',
        'a quoted local part': '"oncall@example.com x"@evil.example',
        'a zero-width space': 'oncall\u200b@example.com',
        'a Cyrillic look-alike': 'оncall@example.com',
        'a CRLF': 'oncall@example.com\r\nBcc: mallory@evil.example',
      },
      'local part': {
        'a comment': 'oncall(comment)@example.com',
        'a group': 'team:oncall@example.com;',
      },
      'single address': {
        'two addresses in one': 'oncall@example.com,mallory@evil.example',
      },
    }),
  )('refuses a recipient with %s', (_name, recipient, message) => {
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

  it.each([
    ['subject', { subject: 'Disk =?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?= full' }],
    ['subject', { subject: '=?ISO-8859-1?Q?=0D=0ABcc:_x@evil.example?=' }],
    ['subject', { subject: 'lenient =? readers ?= too' }],
    ['source', { subject: 's', source: '=?utf-8?B?Y3Jvbg0K?=' }],
    ['dedupKey', { subject: 's', dedupKey: 'k=?utf-8?q?=0A?=' }],
  ])('refuses an RFC 2047 encoded word in %s', (field, input) => {
    expect(issuesOf(input)).toContainEqual({
      field,
      message: 'must not contain an RFC 2047 encoded word ("=?…?=")',
    });
  });

  it('accepts "=?" and "?=" apart from an encoded word, and encoded words outside headers', () => {
    const alert = parseAlert(
      {
        subject: 'Is a=? Ask ops',
        text: '=?utf-8?b?DQo=?=',
        fields: { '=?utf-8?b?DQo=?=': '=?utf-8?b?DQo=?=' },
        links: [{ title: '=?utf-8?b?DQo=?=', url: 'https://example.com/?q==?x?=' }],
      },
      config,
    );
    expect(alert.subject).toBe('Is a=? Ask ops');
  });

  const disguises = [
    ['U+202E right-to-left override', '\u202e'],
    ['U+202A left-to-right embedding', '\u202a'],
    ['U+2066 left-to-right isolate', '\u2066'],
    ['U+2069 pop directional isolate', '\u2069'],
    ['U+200F right-to-left mark', '\u200f'],
    ['U+061C Arabic letter mark', '\u061c'],
    ['U+200B zero-width space', '\u200b'],
    ['U+2060 word joiner', '\u2060'],
    ['U+FEFF zero-width no-break space', '\ufeff'],
    ['U+00AD soft hyphen', '\u00ad'],
  ] as const;
  it.each(
    disguises.flatMap(([name, char]) => [
      [name, 'subject', { subject: `invoice${char}fdp.exe` }],
      [name, 'source', { subject: 's', source: `cron${char}` }],
      [name, 'dedupKey', { subject: 's', dedupKey: `${char}k` }],
      [name, 'links[0].title', { subject: 's', links: [{ title: `${char}Runbook`, url: 'https://e.com' }] }],
      [name, `fields.h${char}ost`, { subject: 's', fields: { [`h${char}ost`]: 'db-1' } }],
    ]),
  )('refuses %s in %s', (_name, field, input) => {
    expect(issuesOf(input)).toContainEqual({
      field,
      message: 'must not contain bidirectional controls or invisible characters (U+202E, U+200B, …)',
    });
  });

  it('keeps zero-width joiners, which emoji and several scripts need', () => {
    const family = '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}';
    expect(parseAlert({ subject: `Team ${family} میخواهم` }, config).subject).toBe(`Team ${family} میخواهم`);
  });

  it('limits text in bytes of UTF-8, not characters', () => {
    expect(parseAlert({ subject: 's', text: 'x'.repeat(65_536) }, config).text).toHaveLength(65_536);
    expect(parseAlert({ subject: 's', text: '\u00e9'.repeat(32_768) }, config).text).toHaveLength(32_768);
    const message = 'must be at most 65536 bytes (64 KiB) in UTF-8';
    expect(issuesOf({ subject: 's', text: '\u00e9'.repeat(32_769) })).toEqual([{ field: 'text', message }]);
    expect(issuesOf({ subject: 's', text: '\u{1f525}'.repeat(16_385) })).toEqual([
      { field: 'text', message },
    ]);
  });

  it.each([
    ['a string', '"x"'],
    ['an object', '{"to":["mallory@evil.example"]}'],
    ['null', 'null'],
  ])('refuses fields.__proto__ holding %s instead of dropping it', (_name, value) => {
    const input = JSON.parse(`{"subject":"s","fields":{"host":"db-1","__proto__":${value}}}`);
    expect(issuesOf(input)).toEqual([{ field: 'fields.__proto__', message: 'is not an allowed field name' }]);
  });

  it('names what a field value must be', () => {
    expect(issuesOf({ subject: 's', fields: { host: ['db-1'] } })).toEqual([
      { field: 'fields.host', message: 'must be a string, number or boolean' },
    ]);
    expect(issuesOf({ subject: 's', fields: { host: 'x'.repeat(2001) } })).toEqual([
      { field: 'fields.host', message: 'must be at most 2000 characters' },
    ]);
  });

  it.each(
    byMessage({
      'user information': {
        'user-info before a look-alike host': 'https://runbooks.example.com@evil.example/x',
        'a user and password': 'https://admin:secret@runbooks.example.com/x',
        'a user only': 'https://admin@runbooks.example.com/',
        'an encoded at-sign that the parser still reads as user-info': 'https://a%40b@evil.example/',
      },
      'whitespace or control characters': {
        'a CR LF': 'https://example.com/a\r\nBcc: x@evil.example',
        'a space': 'https://example.com/a b',
        'a leading space': ' https://example.com/',
        'a tab inside the host': 'https://exa\tmple.com/',
        'a NUL': 'https://example.com/\u0000',
      },
      backslash: {
        'a backslash that turns into a path': 'https://example.com\\@evil.example/',
        'backslashes for slashes': 'https:\\\\evil.example\\x',
      },
    }),
  )('refuses a link with %s', (_name, url, message) => {
    const issues = issuesOf({ subject: 's', links: [{ title: 'Runbook', url }] });
    expect(issues.map((issue) => issue.field)).toEqual(issues.map(() => 'links[0].url'));
    expect(issues.map((issue) => issue.message).join('; ')).toContain(message);
  });

  it('keeps a link only as the URL parser serialises it', () => {
    const alert = parseAlert(
      {
        subject: 's',
        links: [
          { title: 'Runbook', url: 'HTTPS://Runbooks.EXAMPLE.com:443/a/../disk?x="<1>"#top' },
          { title: 'Wiki', url: 'https://b\u00fccher.example/\u00fc' },
        ],
      },
      config,
    );
    expect(alert.links).toEqual([
      { title: 'Runbook', url: 'https://runbooks.example.com/disk?x=%22%3C1%3E%22#top' },
      { title: 'Wiki', url: 'https://xn--bcher-kva.example/%C3%BC' },
    ]);
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

  it.each([
    ['the body itself', '[[[1]]]', 'body'],
    ['a member of the body', '{"subject":"s","fields":{"a":[1]}}', 'fields'],
  ])('refuses %s nested one level past the limit, naming it', (_name, shape, field) => {
    // The shape is 3 levels deep and the limit 32: 30 more levels are one too many, 29 are not.
    const body = shape.replace('1', `${'['.repeat(30)}1${']'.repeat(30)}`);
    expect(() => parseJsonBody(body)).toThrow(`${field}: is nested more than 32 levels deep`);
    const atLimit = shape.replace('1', `${'['.repeat(29)}1${']'.repeat(29)}`);
    expect(parseJsonBody(atLimit)).toBeTypeOf('object');
  });

  it('refuses a body nested 100,000 levels deep with a validation error, not a RangeError', () => {
    const body = `{"subject":"s","text":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(() => parseJsonBody(body)).toThrow(AlertValidationError);
    expect(() => parseJsonBody(body)).toThrow('text: is nested more than 32 levels deep');
  });

  it('refuses a body above the size limit before parsing it', () => {
    const body = JSON.stringify({ subject: 's', text: 'x'.repeat(MAX_ALERT_BYTES) });
    expect(() => parseJsonBody(body)).toThrow(AlertTooLargeError);
  });
});

describe('findTooDeep and truncateDepth', () => {
  const deep = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

  it('counts the value itself as level 1 and ignores scalars', () => {
    expect(findTooDeep('text', 0)).toBeUndefined();
    expect(findTooDeep({}, 1)).toBeUndefined();
    expect(findTooDeep({ a: {} }, 1)).toEqual({ member: 'a' });
    expect(findTooDeep([[]], 1)).toEqual({ member: '' });
    expect(findTooDeep(deep(50_000), 32)).toEqual({ member: 'a' });
  });

  it('replaces what lies deeper than the limit with a marker, keeping __proto__ an own key', () => {
    const value = JSON.parse('{"__proto__":{"x":[[1]]},"b":2}');
    const copy = truncateDepth(value, 'cut', 3);
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"x":["cut"]},"b":2}');
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(JSON.stringify(truncateDepth(deep(50_000), 'cut', 2))).toBe('{"a":{"a":"cut"}}');
  });
});

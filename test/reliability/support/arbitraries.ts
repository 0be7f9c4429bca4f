import fc from 'fast-check';

/** Line breaks and other control characters that must never reach a header. */
export const lineBreakers = fc.constantFrom(
  '\r',
  '\n',
  '\r\n',
  '\u0000',
  '\t',
  '\u000b',
  '\u000c',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u2029',
);

/** Bidi controls, marks and invisible characters that change what a one-line value appears to say. */
export const disguisingCharacters = fc.constantFrom(
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200e',
  '\u200f',
  '\u061c',
  '\u200b',
  '\u2060',
  '\ufeff',
  '\u00ad',
);

/** RFC 2047 encoded words as readers decode them: any charset, B or Q, any case, any payload. */
export const encodedWord = fc
  .tuple(
    fc.constantFrom('utf-8', 'UTF-8', 'iso-8859-1', 'us-ascii', 'x', ''),
    fc.constantFrom('b', 'B', 'q', 'Q'),
    fc.oneof(
      fc.constantFrom('DQpCY2M6IG1hbGxvcnlAZXZpbC5leGFtcGxl', '=0D=0ABcc:_x@evil.example', 'DQo='),
      fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).filter((text) => !/[\r\n]/.test(text)),
    ),
  )
  .map(([charset, encoding, payload]) => `=?${charset}?${encoding}?${payload}?=`);

/** Text with anything in it: printable graphemes from all scripts, markup, quotes. */
export const anyText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc.constantFrom(
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    '</title><script>fetch("//evil.example")</script>',
    '<a href="javascript:alert(1)">x</a>',
    '&lt;already escaped&gt; & "quotes" \'single\'',
    '<!-- comment --><style>*{display:none}</style>',
    '<iframe srcdoc="<script>alert(1)</script>">',
  ),
);

// Characters that look like, or fold to, the ASCII in an allowed address.
const lookAlikes: Record<string, string[]> = {
  a: ['\u0430', '\u0251', '\uff41'],
  c: ['\u0441', '\u217d'],
  e: ['\u0435', '\uff45'],
  l: ['\u04cf', '\u217c', '\u0131'],
  m: ['\u217f'],
  n: ['\u0578'],
  o: ['\u043e', '\u03bf', '\u0ce6', '\uff4f'],
  p: ['\u0440'],
  x: ['\u0445'],
};
const invisible = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u00a0', '\u202e'];

/** An address on the allow-list (`oncall@example.com`, `@ops.example.com`), in any letter case. */
export const allowedAddress = fc.oneof(
  fc.mixedCase(fc.constant('oncall@example.com')),
  fc.stringMatching(/^[a-z0-9]{1,12}(\.[a-z0-9+_-]{1,8})?$/).map((local) => `${local}@ops.example.com`),
);

const evilAddress = fc.oneof(
  fc.constant('mallory@evil.example'),
  fc.emailAddress().filter((address) => !/@(example\.com|ops\.example\.com)$/i.test(address)),
);

/**
 * Ways to smuggle an address outside the allow-list past a check that looks at an allowed one:
 * display names, quoting, comments, groups, lists, line breaks, look-alikes, invisible characters,
 * IDN, suffixes and prefixes, source routes, IP literals.
 */
export const addressTrick = fc.oneof(
  fc
    .tuple(allowedAddress, evilAddress)
    .chain(([good, bad]) =>
      fc.constantFrom(
        `${good} <${bad}>`,
        `"${good}" <${bad}>`,
        `<${good}> <${bad}>`,
        `"${good} x"@evil.example`,
        `"${good}"@evil.example`,
        `${good}(${bad})`,
        `${good}(x)${bad.split('@')[1]}`,
        `"${good}> ORCPT=rfc822;${bad}"@${good.split('@')[1]}`,
        `${good}> NOTIFY=SUCCESS ORCPT=rfc822;${bad}`,
        `(${good})${bad}`,
        `${bad}(${good})`,
        `team: ${good}, ${bad};`,
        `${good},${bad}`,
        `${good};${bad}`,
        `${good} ${bad}`,
        `${good}\r\nBcc: ${bad}`,
        `${good}\nTo: ${bad}`,
        `${good}@evil.example`,
        `${good}.evil.example`,
        `@evil.example:${good}`,
        `${bad.split('@')[0]}%${good}`,
        `${good.split('@')[0]}@[127.0.0.1]`,
        `${good}.`,
        `${good.split('@')[0]}@sub.${good.split('@')[1]}`,
        `${good.split('@')[0]}@${good.split('@')[1]}\u3002evil.example`,
      ),
    ),
  fc.tuple(allowedAddress, fc.nat(), fc.nat()).map(([good, at, pick]) => {
    const positions = [...good].flatMap((char, index) => (lookAlikes[char.toLowerCase()] ? [index] : []));
    const index = positions[at % Math.max(positions.length, 1)] ?? 0;
    const chars = [...good];
    const options = lookAlikes[chars[index]?.toLowerCase() ?? ''] ?? invisible;
    chars[index] = options[pick % options.length] ?? '\u200b';
    return chars.join('');
  }),
  fc.tuple(allowedAddress, fc.constantFrom(...invisible), fc.nat()).map(([good, char, at]) => {
    const index = at % (good.length + 1);
    return `${good.slice(0, index)}${char}${good.slice(index)}`;
  }),
  fc.constantFrom(
    'oncall@xn--xample-2of.com',
    'oncall@xn--exmple-cua.com',
    'xn--ncall-8ve@example.com',
    'oncall@EXAMPLE.COM.',
    '"oncall"@example.com',
    'oncall@example.com ',
    ' oncall@example.com',
    'oncall@@example.com',
    'oncall@example..com',
    'oncall.@example.com',
    '.oncall@example.com',
    'oncall@-example.com',
    'oncall@example.com\u0000',
  ),
  evilAddress,
);

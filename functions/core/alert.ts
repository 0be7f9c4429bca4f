// zod/mini: the same validation core as `zod`, but tree-shakeable (≈15 KB in the bundle instead of ≈450 KB,
// tens of ms of cold start). It ships no default locale, so English messages are registered as `zod` does.
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import type { AlertConfig } from './config.ts';
import { AlertTooLargeError, AlertValidationError, type FieldIssue } from './errors.ts';
import { findTooDeep, MAX_JSON_DEPTH } from './json-depth.ts';
import { isAllowedRecipient, normaliseAddress } from './recipients.ts';

z.config(en());

/** Largest alert body accepted, in bytes of JSON. */
export const MAX_ALERT_BYTES = 256 * 1024;
/** Gmail accepts at most 100 recipients per message over SMTP. */
export const MAX_RECIPIENTS = 100;

export const SEVERITIES = ['critical', 'high', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Whether the problem is going on or is over, as Alertmanager names it. */
export const STATUSES = ['firing', 'resolved'] as const;
export type AlertStatus = (typeof STATUSES)[number];

// One printable line: no CR, LF or other control characters, so nothing can reach a header as a new line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Characters that change how the text around them is shown without being seen themselves: bidi
 * embeddings, overrides, isolates and marks (U+202E turns `exe.txt` into `txt.exe`), and invisible
 * spaces and joiners. Zero-width (non-)joiners (U+200C, U+200D) are left alone: emoji sequences and
 * several scripts need them.
 */
export const DISGUISING_CHARACTERS =
  /[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * An RFC 2047 encoded word (`=?charset?B?…?=`). Mail readers decode it in a header, so an ASCII value
 * that nodemailer sends verbatim could decode into a CR LF. Any `=?` followed by `?=` counts, since
 * readers are lenient about the form.
 */
export const ENCODED_WORD = /=\?.*\?=/s;

const TEXT_MAX_BYTES = 64 * 1024;
/** The longest link URL an alert accepts. */
export const LINK_URL_MAX = 2000;

const oneLine = (max: number) =>
  z.string().check(
    z.maxLength(max, `must be at most ${max} characters`),
    z.refine(
      (value) => !CONTROL_CHARACTERS.test(value),
      'must be one line without control characters (CR, LF, tab)',
    ),
    z.refine(
      (value) => !DISGUISING_CHARACTERS.test(value),
      'must not contain bidirectional controls or invisible characters (U+202E, U+200B, …)',
    ),
  );

/** A one-line value that becomes (part of) a mail header. */
const headerLine = (max: number) =>
  oneLine(max).check(
    z.refine((value) => !ENCODED_WORD.test(value), 'must not contain an RFC 2047 encoded word ("=?…?=")'),
  );

const parsedUrl = (value: string): URL | undefined => (URL.canParse(value) ? new URL(value) : undefined);

// The URL is checked as the WHATWG parser reads it, and only its serialisation is ever emitted: a raw
// string could carry whitespace, a backslash or user-info that one reader resolves differently from another.
const linkUrl = z.string().check(
  z.maxLength(LINK_URL_MAX, `must be at most ${LINK_URL_MAX} characters`),
  z.refine((value) => parsedUrl(value)?.protocol === 'https:', 'must be an https:// URL'),
  z.refine(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    (value) => !/[\s\u0000-\u001f\u007f-\u009f]/.test(value),
    'must not contain whitespace or control characters',
  ),
  z.refine((value) => !value.includes('\\'), 'must not contain a backslash'),
  z.refine((value) => {
    const url = parsedUrl(value);
    return !url || (url.username === '' && url.password === '');
  }, 'must not contain user information ("user:password@" before the host)'),
);

/** What a caller may send. Unknown fields are refused rather than ignored, so typos surface. */
export const alertInputSchema = z.strictObject({
  subject: headerLine(200).check(z.refine((value) => value.trim().length > 0, 'must not be empty')),
  text: z.optional(
    z
      .string()
      .check(
        z.refine(
          (value) => Buffer.byteLength(value, 'utf8') <= TEXT_MAX_BYTES,
          `must be at most ${TEXT_MAX_BYTES} bytes (64 KiB) in UTF-8`,
        ),
      ),
  ),
  severity: z._default(z.enum(SEVERITIES, `must be one of ${SEVERITIES.join(', ')}`), 'info'),
  status: z._default(z.enum(STATUSES, `must be one of ${STATUSES.join(', ')}`), 'firing'),
  to: z.optional(
    z
      .array(z.string().check(z.maxLength(254, 'must be at most 254 characters')))
      .check(
        z.minLength(1, 'must name at least one recipient when given'),
        z.maxLength(MAX_RECIPIENTS, `must name at most ${MAX_RECIPIENTS} recipients`),
      ),
  ),
  source: z.optional(headerLine(200)),
  dedupKey: z.optional(headerLine(200)),
  fields: z.optional(
    z
      .record(
        oneLine(100),
        z.union(
          [z.string().check(z.maxLength(2000, 'must be at most 2000 characters')), z.number(), z.boolean()],
          'must be a string, number or boolean',
        ),
      )
      .check(z.refine((value) => Object.keys(value).length <= 50, 'must have at most 50 entries')),
  ),
  links: z.optional(
    z
      .array(z.strictObject({ title: oneLine(200), url: linkUrl }))
      .check(z.maxLength(10, 'must have at most 10 entries')),
  ),
});

/** A validated alert, ready to render: recipients resolved and normalised. */
export interface Alert {
  subject: string;
  text: string | undefined;
  severity: Severity;
  status: AlertStatus;
  to: string[];
  source: string | undefined;
  dedupKey: string | undefined;
  fields: Record<string, string>;
  links: { title: string; url: string }[];
  /** The event an alert was made from, as indented JSON: shown collapsed in the HTML part only. */
  event?: string;
  /**
   * Set by the delivery policy, never by a caller: the firing alerts of this key that were counted
   * instead of mailed since its last mail (see repeat-window.ts).
   */
  repeats?: { count: number; since: string };
  /** Set by the delivery policy: the firing alerts of this key that a silence held back (see silences.ts). */
  hidden?: { count: number; since: string };
  /** Set by the delivery policy: the signed link that silences this alert's key (see signing-keys.ts). */
  silenceUrl?: string;
  /**
   * Set by the delivery policy: what the quota guard counted in the rolling 24 h when it let this
   * mail through (see quota-guard.ts), shown in the footer.
   */
  quota?: { used: number; limit: number };
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, part) => {
    if (typeof part === 'number') return `${name}[${part}]`;
    return name ? `${name}.${String(part)}` : String(part);
  }, '');
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// zod's record leaves a `__proto__` key out of its output without an issue (assigning it would replace
// a prototype), so a caller would never learn it was dropped: it is refused here like any unknown shape.
function prototypeKeyIssues(input: unknown): FieldIssue[] {
  const fields = isObject(input) ? input.fields : undefined;
  return isObject(fields) && Object.hasOwn(fields, '__proto__')
    ? [{ field: 'fields.__proto__', message: 'is not an allowed field name' }]
    : [];
}

function schemaIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return {
        field: issue.keys.map((key) => fieldName([...issue.path, key])).join(', '),
        message: 'is not a known field',
      };
    }
    if (issue.code === 'invalid_type' && issue.path.length === 0) {
      return { field: 'body', message: 'must be a JSON object' };
    }
    // A record key that fails its own checks: say which check, not just "Invalid key in record".
    if (issue.code === 'invalid_key') {
      return issue.issues.map((inner) => ({ field: fieldName(issue.path), message: inner.message }));
    }
    return { field: fieldName(issue.path) || 'body', message: issue.message };
  });
}

/**
 * Validates an alert object and resolves its recipients against the allow-list.
 * Throws {@link AlertValidationError} listing every field that is wrong.
 */
export function parseAlert(
  input: unknown,
  config: Pick<AlertConfig, 'alertTo' | 'allowedRecipients'>,
): Alert {
  const result = alertInputSchema.safeParse(input);
  const keyIssues = prototypeKeyIssues(input);
  if (!result.success || keyIssues.length > 0) {
    throw new AlertValidationError([
      ...keyIssues,
      ...(result.success ? [] : schemaIssues(result.error.issues)),
    ]);
  }
  const value = result.data;
  const issues: FieldIssue[] = [];
  const to: string[] = [];
  for (const [index, raw] of (value.to ?? []).entries()) {
    const checked = normaliseAddress(raw);
    if ('problem' in checked) issues.push({ field: `to[${index}]`, message: checked.problem });
    else if (!isAllowedRecipient(checked.address, config.allowedRecipients)) {
      issues.push({
        field: `to[${index}]`,
        message: 'is not on the allowed recipients list (ALERT_ALLOWED_RECIPIENTS)',
      });
    } else if (!to.includes(checked.address)) to.push(checked.address);
  }
  if (value.to === undefined) to.push(...config.alertTo);
  if (to.length === 0 && issues.length === 0) {
    issues.push({ field: 'to', message: 'no recipients: pass "to" or configure ALERT_TO' });
  }
  if (issues.length > 0) throw new AlertValidationError(issues);
  return {
    subject: value.subject.trim(),
    text: value.text,
    severity: value.severity,
    status: value.status,
    to,
    source: value.source,
    dedupKey: value.dedupKey,
    fields: Object.fromEntries(Object.entries(value.fields ?? {}).map(([key, item]) => [key, String(item)])),
    // Only the URL as parsed and serialised is ever emitted (checked as parseable by the schema).
    links: (value.links ?? []).map((link) => ({ title: link.title, url: new URL(link.url).href })),
  };
}

/**
 * Checks the size of a raw JSON body (413-class), parses it and checks its nesting depth (400-class),
 * so nothing downstream can overflow the stack on it.
 */
export function parseJsonBody(body: string): unknown {
  const size = Buffer.byteLength(body, 'utf8');
  if (size > MAX_ALERT_BYTES) throw new AlertTooLargeError(size, MAX_ALERT_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new AlertValidationError([{ field: 'body', message: 'is not valid JSON' }]);
  }
  const tooDeep = findTooDeep(value, MAX_JSON_DEPTH);
  if (tooDeep) {
    throw new AlertValidationError([
      { field: tooDeep.member || 'body', message: `is nested more than ${MAX_JSON_DEPTH} levels deep` },
    ]);
  }
  return value;
}

import { inspect } from 'node:util';
import type { Observation } from './fault-scenarios.ts';

/**
 * Every form in which the App Password could escape: as stored (with spaces), as used (without),
 * URL-encoded, and base64 as it travels in AUTH PLAIN (`\0user\0pass`) and AUTH LOGIN (the password
 * alone). For base64, each of the three byte alignments is searched, so the password is found even
 * inside a longer base64 string.
 */
export function secretForms(user: string, password: string, spaced: string): Map<string, string> {
  const forms = new Map<string, string>([
    ['plain password', password],
    ['password with spaces', spaced],
    ['URL-encoded password', encodeURIComponent(spaced)],
  ]);
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  for (const secret of [password, spaced]) {
    forms.set(
      `AUTH PLAIN token (${secret === password ? 'without' : 'with'} spaces)`,
      base64(`\u0000${user}\u0000${secret}`),
    );
    forms.set(`AUTH LOGIN password (${secret === password ? 'without' : 'with'} spaces)`, base64(secret));
    for (const offset of [0, 1, 2]) {
      forms.set(
        `base64 of the ${secret === password ? 'password' : 'spaced password'} at alignment ${offset}`,
        base64Core(secret, offset),
      );
    }
  }
  return forms;
}

/**
 * Every form in which one OAuth secret (a client secret, a refresh token, an access token, a private
 * key) could escape: plain, URL-encoded (`+`-for-space form too), JSON-escaped, and base64 at each of
 * the three byte alignments (inside the XOAUTH2 SASL string, or any longer base64). A private key is
 * also searched line by line, so a key printed with its line breaks changed is found too.
 */
export function oauthSecretForms(values: Record<string, string>): Map<string, string> {
  const forms = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) {
    forms.set(`${name}`, value);
    forms.set(`URL-encoded ${name}`, encodeURIComponent(value));
    forms.set(`form-encoded ${name}`, new URLSearchParams({ v: value }).toString().slice(2));
    forms.set(`JSON-escaped ${name}`, JSON.stringify(value).slice(1, -1));
    for (const offset of [0, 1, 2])
      forms.set(`base64 of ${name} at alignment ${offset}`, base64Core(value, offset));
    if (value.includes('PRIVATE KEY')) {
      const body = value.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----'));
      for (const [index, line] of body.entries()) forms.set(`line ${index + 1} of ${name}`, line);
    }
  }
  return forms;
}

/**
 * Every form in which the key that signs silence links could escape: as stored, URL- and
 * JSON-escaped, base64 at each alignment, and as the HMAC key's raw bytes would print in base64url.
 */
export function signingKeyForms(key: string): Map<string, string> {
  const forms = oauthSecretForms({ 'signing key': key });
  forms.set('signing key as base64url', Buffer.from(key, 'utf8').toString('base64url').slice(0, -2));
  return forms;
}

/** The XOAUTH2 initial response for `user` and `accessToken`, as it travels after `AUTH XOAUTH2`. */
export function xoauth2Response(user: string, accessToken: string): string {
  return Buffer.from(`user=${user}\u0001auth=Bearer ${accessToken}\u0001\u0001`, 'utf8').toString('base64');
}

/** The part of base64(anything + secret + anything) that depends on the secret alone, for `offset` bytes before it. */
function base64Core(secret: string, offset: number): string {
  const bytes = Buffer.concat([Buffer.alloc(offset), Buffer.from(secret, 'utf8')]);
  const encoded = bytes.toString('base64');
  const start = offset === 0 ? 0 : 4;
  const whole = Math.floor(bytes.length / 3) * 4;
  return encoded.slice(start, whole);
}

/** The names of the forms found in `text`. */
export function findSecret(text: string, forms: Map<string, string>): string[] {
  return [...forms].filter(([, form]) => text.includes(form)).map(([name]) => name);
}

/** One place a person could read: a response, an error, a queue entry, the logs. */
export interface Artifact {
  where: string;
  text: string;
}

/** An error as a person could see it: the Lambda runtime's report, a console.error, a JSON log. */
export function describeThrown(thrown: unknown): string {
  if (thrown === undefined) return '';
  const error = thrown as Error;
  return [
    String(thrown),
    error.stack ?? '',
    JSON.stringify({ errorType: error.name, errorMessage: error.message }),
    JSON.stringify(thrown, Object.getOwnPropertyNames(thrown)),
    inspect(thrown, { depth: 8, showHidden: true }),
  ].join('\n');
}

/** Where a leak could show in what one invocation produced. */
export function artifactsOf(observation: Observation): Artifact[] {
  const where = `${observation.scenario.name} via ${observation.trigger}`;
  return [
    { where: `${where}: HTTP response`, text: JSON.stringify(observation.response ?? null) },
    { where: `${where}: SQS batch response`, text: JSON.stringify(observation.batch ?? null) },
    { where: `${where}: EventBridge result`, text: JSON.stringify(observation.returned ?? null) },
    { where: `${where}: thrown error`, text: describeThrown(observation.thrown) },
    { where: `${where}: DLQ entries`, text: JSON.stringify(observation.deadLetters) },
    { where: `${where}: queued messages`, text: JSON.stringify(observation.queued) },
  ];
}

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

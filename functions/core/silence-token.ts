import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a silence link carries, signed: enough to show its page without looking anything up. */
export interface SilenceClaims {
  /** The alert's key (dedupKey, or the key its formatter chose). */
  key: string;
  /** The alert's subject, clipped to {@link SUBJECT_MAX}. */
  subject: string;
  /** The stack (and account, when known) the link belongs to: a link of another stack is refused. */
  scope: string;
  /** When the link stops working (epoch seconds). */
  expiresAt: number;
}

/** How long a silence link works after its mail went out. */
export const TOKEN_LIFETIME_SECONDS = 7 * 24 * 60 * 60;
/** Longest subject a link carries; the page shows it, the mail has the rest. */
export const SUBJECT_MAX = 120;
/** Shortest signing key accepted: 43 base64 characters hold 32 random bytes. */
export const SIGNING_KEY_MIN_LENGTH = 43;
// A whole token stays well inside a URL path segment that every mail reader and API Gateway keep.
const TOKEN_MAX_LENGTH = 2048;

/** Why a token is refused; the page says so in plain words, never whether the key exists. */
export type SilenceTokenProblem = 'malformed' | 'signature' | 'expired' | 'scope';

/** A silence link that cannot be used. */
export class SilenceTokenError extends Error {
  readonly code: SilenceTokenProblem;

  constructor(code: SilenceTokenProblem, options?: ErrorOptions) {
    super(`The silence link is not valid (${code})`, options);
    this.name = 'SilenceTokenError';
    this.code = code;
  }
}

/** The signing secret's value is not `{"key": "<at least 43 characters>"}`; the value is never quoted. */
export class SigningKeyError extends Error {
  constructor(problem: string, options?: ErrorOptions) {
    super(
      `The signing secret's value ${problem}; expected JSON {"key": "<at least ${SIGNING_KEY_MIN_LENGTH} characters>"}`,
      options,
    );
    this.name = 'SigningKeyError';
  }
}

/**
 * Reads the signing key out of the secret's value. Any string of at least 43 characters counts: the
 * stack generates 64 letters and digits (≈380 bits); `openssl rand -base64 32` gives 44 characters.
 */
export function parseSigningKey(value: unknown): string {
  let json: unknown = value;
  if (typeof value === 'string') {
    try {
      json = JSON.parse(value);
    } catch {
      throw new SigningKeyError('is not JSON');
    }
  }
  const key = (json as { key?: unknown } | null)?.key;
  if (typeof key !== 'string') throw new SigningKeyError('has no "key" string');
  if (key.length < SIGNING_KEY_MIN_LENGTH) throw new SigningKeyError('has a key that is too short');
  return key;
}

const mac = (payload: string, key: string) => createHmac('sha256', key).update(payload).digest();

/** Clips a subject to {@link SUBJECT_MAX} characters without splitting a surrogate pair. */
export function clipSubject(subject: string): string {
  const characters = [...subject];
  return characters.length <= SUBJECT_MAX ? subject : `${characters.slice(0, SUBJECT_MAX - 1).join('')}…`;
}

/**
 * Signs a silence link's claims with `key`: base64url(JSON) "." base64url(HMAC-SHA256 of that text).
 *
 * @example
 * const token = signSilenceToken({ key: 'db-1-disk', subject: 'Disk', scope: 'gmail-alerts', expiresAt }, signingKey);
 */
export function signSilenceToken(claims: SilenceClaims, key: string): string {
  const payload = Buffer.from(
    JSON.stringify({ k: claims.key, s: clipSubject(claims.subject), a: claims.scope, e: claims.expiresAt }),
    'utf8',
  ).toString('base64url');
  return `${payload}.${mac(payload, key).toString('base64url')}`;
}

/**
 * Checks a token against every key that may have signed it (the current one, and the previous one
 * until the tokens it signed expire) and returns its claims. Throws {@link SilenceTokenError}.
 */
export function verifySilenceToken(
  token: string,
  keys: readonly string[],
  scope: string,
  nowSeconds: number = Date.now() / 1000,
): SilenceClaims {
  const parts = token.split('.');
  const [payload, signature] = parts;
  if (
    token.length > TOKEN_MAX_LENGTH ||
    parts.length !== 2 ||
    !payload ||
    !signature ||
    !/^[A-Za-z0-9_-]+$/.test(payload) ||
    !/^[A-Za-z0-9_-]{43}$/.test(signature)
  ) {
    throw new SilenceTokenError('malformed');
  }
  const given = Buffer.from(signature, 'base64url');
  // Every key is tried, so the time taken does not tell which one matched.
  let valid = false;
  for (const key of keys) {
    const expected = mac(payload, key);
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
  }
  if (!valid) throw new SilenceTokenError('signature');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch (error) {
    throw new SilenceTokenError('malformed', { cause: error });
  }
  const { k, s, a, e } = (decoded ?? {}) as Record<string, unknown>;
  if (typeof k !== 'string' || k.length === 0 || typeof s !== 'string' || typeof a !== 'string') {
    throw new SilenceTokenError('malformed');
  }
  if (typeof e !== 'number' || !Number.isFinite(e)) throw new SilenceTokenError('malformed');
  if (a !== scope) throw new SilenceTokenError('scope');
  if (e <= nowSeconds) throw new SilenceTokenError('expired');
  return { key: k, subject: s, scope: a, expiresAt: e };
}

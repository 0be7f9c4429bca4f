import { createSign } from 'node:crypto';
import { TokenRequestError } from './errors.ts';
import { credentialsFingerprint, credentialsKind, type OAuthCredentials } from './gmail-credentials.ts';
import { causeAndAdvice, GMAIL_SMTP_SCOPE, lookupOAuthReply, type OAuthKind } from './gmail-replies.ts';

/** An access token and when it stops being used (before Google's expiry, see {@link EXPIRY_MARGIN_MS}). */
interface CachedToken {
  fingerprint: string;
  accessToken: string;
  usableUntil: number;
}

export interface AccessTokenOptions {
  /** Google's token endpoint (GOOGLE_OAUTH_TOKEN_URL). */
  tokenUrl: string;
  /** Bound for one token request. */
  timeoutMs: number;
}

// A token is replaced this long before Google's expiry (or halfway through a shorter life), so it never
// runs out between fetch and AUTH, nor while a thawed container's clock catches up.
const EXPIRY_MARGIN_MS = 60_000;
// The longest lifetime Google grants a JWT assertion.
const ASSERTION_LIFETIME_S = 3600;
// An RFC 6749 error code: nothing else from the answer is ever repeated.
const ERROR_CODE = /^[a-z_]{1,64}$/;

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * The RS256-signed JWT a service account presents for a delegated token (RFC 7523): issued by the
 * service account, for the user it acts as, for Gmail's SMTP scope, to the token endpoint, valid one hour.
 */
export function serviceAccountAssertion(
  credentials: { username: string; serviceClient: string; privateKey: string },
  tokenUrl: string,
  nowMs: number = Date.now(),
): string {
  const issuedAt = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(
    JSON.stringify({
      iss: credentials.serviceClient,
      sub: credentials.username,
      scope: GMAIL_SMTP_SCOPE,
      aud: tokenUrl,
      iat: issuedAt,
      exp: issuedAt + ASSERTION_LIFETIME_S,
    }),
  );
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(credentials.privateKey);
  return `${header}.${claims}.${base64url(signature)}`;
}

/** The form a token request sends: a refresh-token grant, or a JWT-bearer grant for a service account. */
function grantFor(credentials: OAuthCredentials, tokenUrl: string): URLSearchParams {
  if ('refreshToken' in credentials) {
    return new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
      refresh_token: credentials.refreshToken,
    });
  }
  let assertion: string;
  try {
    assertion = serviceAccountAssertion(credentials, tokenUrl);
  } catch (error) {
    // The key did not sign: its PEM is damaged. Named without a byte of it.
    throw tokenError('service-account', 'invalid_client', undefined, 'the private key could not sign', error);
  }
  return new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
}

function tokenError(
  kind: OAuthKind,
  reply: string | number,
  status: number | undefined,
  what: string,
  cause?: unknown,
): TokenRequestError {
  const meaning = lookupOAuthReply(kind, reply, status);
  const oauthError = typeof reply === 'string' && reply !== 'unreachable' ? reply : undefined;
  return new TokenRequestError(
    `OAuth token request failed (${meaning.failureClass}, ${what})`,
    meaning.failureClass,
    causeAndAdvice(meaning),
    { oauthError, status },
    cause === undefined ? undefined : { cause },
  );
}

/** Reads a token answer: the access token and its lifetime, or a classified refusal. */
async function readAnswer(
  response: Response,
  kind: OAuthKind,
): Promise<{ accessToken: string; expiresInS: number }> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // A proxy's error page or a cut answer: judged by the status alone.
  }
  if (!response.ok) {
    const error = typeof body.error === 'string' && ERROR_CODE.test(body.error) ? body.error : undefined;
    const what = `HTTP ${response.status}${error ? ` ${error}` : ''}`;
    throw tokenError(kind, error ?? response.status, response.status, what);
  }
  const accessToken = typeof body.access_token === 'string' ? body.access_token : '';
  const expiresInS = Number(body.expires_in ?? 3600);
  if (!accessToken || !Number.isFinite(expiresInS)) {
    throw tokenError(kind, 'unreachable', response.status, 'the answer held no access token');
  }
  return { accessToken, expiresInS };
}

/**
 * The access tokens of an OAuth secret: fetched from Google's token endpoint once per container and
 * reused until shortly before they expire. Concurrent callers share one request. `fresh` replaces
 * the cached token (after Gmail refused it); a change of credentials (rotation) never reuses a token
 * of the old ones.
 *
 * @example
 * const tokens = new GoogleAccessTokens({ tokenUrl: 'https://oauth2.googleapis.com/token', timeoutMs: 8000 });
 * const accessToken = await tokens.get(credentials);
 */
export class GoogleAccessTokens {
  readonly #options: AccessTokenOptions;
  #cached: CachedToken | undefined;
  #inFlight: { fingerprint: string; token: Promise<string> } | undefined;

  constructor(options: AccessTokenOptions) {
    this.#options = options;
  }

  /** An access token for `credentials`: the cached one while it is usable, unless `fresh`. */
  get(credentials: OAuthCredentials, options: { fresh?: boolean } = {}): Promise<string> {
    const fingerprint = credentialsFingerprint(credentials);
    const cached = this.#cached;
    if (!options.fresh && cached?.fingerprint === fingerprint && cached.usableUntil > Date.now()) {
      return Promise.resolve(cached.accessToken);
    }
    if (this.#inFlight?.fingerprint === fingerprint) return this.#inFlight.token;
    if (options.fresh && cached?.fingerprint === fingerprint) this.#cached = undefined;
    const token = this.#request(credentials, fingerprint);
    const inFlight = { fingerprint, token };
    this.#inFlight = inFlight;
    const clear = () => {
      if (this.#inFlight === inFlight) this.#inFlight = undefined;
    };
    token.then(clear, clear);
    return token;
  }

  async #request(credentials: OAuthCredentials, fingerprint: string): Promise<string> {
    const kind = credentialsKind(credentials) as OAuthKind;
    const { tokenUrl, timeoutMs } = this.#options;
    const form = grantFor(credentials, tokenUrl);
    let response: Response;
    try {
      response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      const code = (error as { cause?: { code?: unknown } }).cause?.code ?? (error as Error).name;
      throw tokenError(
        kind,
        'unreachable',
        undefined,
        `no answer from the token endpoint: ${String(code)}`,
        error,
      );
    }
    const { accessToken, expiresInS } = await readAnswer(response, kind);
    this.#cached = {
      fingerprint,
      accessToken,
      usableUntil: Date.now() + expiresInS * 1000 - Math.min(EXPIRY_MARGIN_MS, (expiresInS * 1000) / 2),
    };
    return accessToken;
  }
}

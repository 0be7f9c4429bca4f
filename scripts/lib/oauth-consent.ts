// The OAuth 2.0 consent of a desktop tool (RFC 8252): a one-off HTTP listener on 127.0.0.1 as the
// redirect URI, PKCE (RFC 7636) so the authorization code is useless to anyone who sees it, and the
// consent URL printed for the user to open. Ends with a refresh token for Gmail's SMTP scope.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { GMAIL_SMTP_SCOPE, lookupOAuthReply } from '../../functions/core/gmail-replies.ts';
import { CommandFailedError } from './cli.ts';

/** Google's consent page for installed applications. */
export const GOOGLE_AUTHORIZATION_URL = 'https://accounts.google.com/o/oauth2/v2/auth';

export interface ConsentRequest {
  clientId: string;
  clientSecret: string;
  /** The account to consent as: Google preselects it (`login_hint`). */
  username: string;
  authorizationUrl: string;
  tokenUrl: string;
  /** How long to wait for the browser to come back. */
  timeoutMs: number;
  /** Shows the consent URL to the user. */
  showConsentUrl: (url: string) => void;
}

const base64url = (bytes: Buffer) => bytes.toString('base64url');

const PAGE = (text: string) =>
  `<!doctype html><meta charset="utf-8"><title>gmail-alerts</title><p>${text}</p>`;

/** What the browser brought back to the redirect URI: an authorization code, or Google's refusal. */
interface ConsentAnswer {
  code?: string;
  error?: string;
}

/**
 * Listens on 127.0.0.1 (any free port) for the one redirect that carries `state`, answering the
 * browser with a page that says what happened. Other requests (a favicon) get 404.
 */
async function awaitRedirect(state: string, timeoutMs: number) {
  let settle: (answer: ConsentAnswer) => void = () => {};
  const answered = new Promise<ConsentAnswer>((resolve) => {
    settle = resolve;
  });
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/' || url.searchParams.get('state') !== state) {
      response.writeHead(404).end();
      return;
    }
    const error = url.searchParams.get('error') ?? undefined;
    const code = url.searchParams.get('code') ?? undefined;
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(PAGE(code ? 'Consent received: you may close this tab.' : 'Consent was not given.'));
    settle({ code, error });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CommandFailedError(
            `No consent arrived within ${Math.round(timeoutMs / 1000)} s.\n    fix: open the URL above in a browser on this machine and approve; or pass a longer --consent-timeout.`,
          ),
        ),
      timeoutMs,
    );
  });
  return {
    redirectUri: `http://127.0.0.1:${port}/`,
    answer: () => Promise.race([answered, timeout]),
    close() {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Exchanges the authorization code for tokens; a refusal is explained by the OAuth reply table. */
async function exchangeCode(
  request: ConsentRequest,
  code: string,
  redirectUri: string,
  verifier: string,
): Promise<{ refreshToken: string; scope: string }> {
  let response: Response;
  try {
    response = await fetch(request.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: request.clientId,
        client_secret: request.clientSecret,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    const meaning = lookupOAuthReply('oauth-client', 'unreachable');
    throw new CommandFailedError(`${meaning.cause} (${request.tokenUrl}).\n    fix: ${meaning.advice}`);
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const error =
      typeof body.error === 'string' && /^[a-z_]{1,64}$/.test(body.error) ? body.error : undefined;
    const meaning = lookupOAuthReply('oauth-client', error ?? response.status, response.status);
    throw new CommandFailedError(
      `${meaning.cause} (HTTP ${response.status}${error ? ` ${error}` : ''}).\n    fix: ${meaning.advice}`,
    );
  }
  const refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : '';
  const scope = typeof body.scope === 'string' ? body.scope : '';
  if (!refreshToken) {
    throw new CommandFailedError(
      'Google issued no refresh token.\n    fix: remove the app under Google Account → Security → Third-party access, then run this again.',
    );
  }
  return { refreshToken, scope };
}

/**
 * Asks the user's consent in a browser and returns the refresh token it yields: the consent URL
 * (with PKCE and a random state) is shown, the browser comes back to a listener on 127.0.0.1, and
 * the code is exchanged at the token endpoint. Fails when the consent leaves out Gmail's scope.
 */
export async function obtainRefreshToken(request: ConsentRequest): Promise<string> {
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  const state = base64url(randomBytes(16));
  const listener = await awaitRedirect(state, request.timeoutMs);
  try {
    const consentUrl = new URL(request.authorizationUrl);
    for (const [key, value] of Object.entries({
      client_id: request.clientId,
      redirect_uri: listener.redirectUri,
      response_type: 'code',
      scope: GMAIL_SMTP_SCOPE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      // A refresh token, issued again on every consent (without it Google sends one only the first time).
      access_type: 'offline',
      prompt: 'consent',
      login_hint: request.username,
    })) {
      consentUrl.searchParams.set(key, value);
    }
    request.showConsentUrl(consentUrl.href);
    const answer = await listener.answer();
    if (!answer.code) {
      const meaning = lookupOAuthReply('oauth-client', answer.error ?? 'access_denied');
      throw new CommandFailedError(
        `Consent was not given (${answer.error ?? 'no code'}).\n    fix: ${meaning.advice}`,
      );
    }
    const { refreshToken, scope } = await exchangeCode(request, answer.code, listener.redirectUri, verifier);
    if (!scope.split(' ').includes(GMAIL_SMTP_SCOPE)) {
      const meaning = lookupOAuthReply('oauth-client', 'invalid_scope');
      throw new CommandFailedError(`${meaning.cause}.\n    fix: ${meaning.advice}`);
    }
    return refreshToken;
  } finally {
    listener.close();
  }
}

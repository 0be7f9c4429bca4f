// A loopback stand-in for Google's OAuth 2.0 endpoints: the token endpoint (refresh-token, JWT-bearer
// and authorization-code grants) and a consent page that approves at once, so the functions, the
// Gmail-like server's XOAUTH2 and `npm run secret:set -- --oauth` can be run without Google.
import { createHash, createVerify, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { GMAIL_SMTP_SCOPE } from '../functions/core/gmail-replies.ts';

/** An OAuth client as Google Cloud console creates one (type "Desktop app"). */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

/** The client the local cloud registers unless told otherwise. */
export const testOAuthClient: OAuthClient = {
  clientId: '1234567890-localtest.apps.googleusercontent.com',
  clientSecret: 'GOCSPX-localOnlyClientSecretXyZ',
};

export type TokenFault = 'throttle' | 'unavailable';

export interface OAuthEndpointOptions {
  /** Seconds an access token is valid (Google: 3599). */
  accessTokenLifetimeS?: number;
}

export interface OAuthEndpoint {
  /** Google's https://oauth2.googleapis.com/token: GOOGLE_OAUTH_TOKEN_URL. */
  readonly tokenUrl: string;
  /** Google's https://accounts.google.com/o/oauth2/v2/auth: the consent page, which approves at once. */
  readonly authorizationUrl: string;
  /** Token requests answered, refusals and faults included. */
  readonly tokenRequests: number;
  /** The grant type of every token request, in order. */
  readonly grants: string[];
  /** Every access token issued, in order (what a leak search looks for). */
  readonly issuedAccessTokens: string[];
  /** Seconds the next access tokens are valid. */
  accessTokenLifetimeS: number;
  registerClient(client: OAuthClient): void;
  /** A refresh token for `user` granted to `client` for `scope` (default Gmail's SMTP scope). */
  issueRefreshToken(client: OAuthClient, user: string, scope?: string): string;
  /**
   * Withdraws the consent behind a refresh token (every one when none is named), as Google's revoke
   * endpoint does: its next use gets `invalid_grant`, and the access tokens it gave stop working.
   */
  revoke(refreshToken?: string): void;
  /** Lets a service account (its client e-mail and public key) act for the domain's users (domain-wide delegation). */
  delegate(serviceClient: string, publicKeyPem: string): void;
  /** Ends every access token issued so far, as Google may before their expiry: Gmail refuses them. */
  expireAccessTokens(): void;
  /** The user an access token signs in as while it is valid, else undefined (what the Gmail-like server asks). */
  userOf(accessToken: string): string | undefined;
  /** The account the consent page approves as (default: the `login_hint` of the request). */
  consentAs: string | undefined;
  failNext(fault: TokenFault, times?: number): void;
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  user: string;
  scope: string;
}

const readForm = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
};

const token = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

/** An OAuth error answer as Google words it (RFC 6749 section 5.2). */
class OAuthAnswerError extends Error {
  readonly status: number;
  readonly error: string;

  constructor(status: number, error: string, description: string) {
    super(description);
    this.name = 'OAuthAnswerError';
    this.status = status;
    this.error = error;
  }
}

const refuse = (status: number, error: string, description: string) =>
  new OAuthAnswerError(status, error, description);

/**
 * Starts the token endpoint and consent page on loopback (port 0). Access tokens it issues are
 * checked by the Gmail-like server through {@link OAuthEndpoint.userOf}.
 */
export async function startOAuthEndpoint(options: OAuthEndpointOptions = {}): Promise<OAuthEndpoint> {
  const clients = new Map<string, string>();
  const refreshTokens = new Map<string, Grant>();
  const codes = new Map<string, Grant & { redirectUri: string; challenge: string }>();
  const accessTokens = new Map<string, { user: string; expiresAt: number }>();
  const serviceAccounts = new Map<string, string>();
  const faults: TokenFault[] = [];
  const grants: string[] = [];
  const issuedAccessTokens: string[] = [];
  let tokenRequests = 0;
  let tokenUrl = '';

  const issueAccessToken = (user: string) => {
    const accessToken = token('ya29.local-');
    issuedAccessTokens.push(accessToken);
    accessTokens.set(accessToken, { user, expiresAt: Date.now() + endpoint.accessTokenLifetimeS * 1000 });
    return { access_token: accessToken, expires_in: endpoint.accessTokenLifetimeS, token_type: 'Bearer' };
  };

  const checkClient = (form: URLSearchParams) => {
    const clientId = form.get('client_id') ?? '';
    if (!clients.has(clientId) || clients.get(clientId) !== form.get('client_secret')) {
      throw refuse(401, 'invalid_client', 'Unauthorized');
    }
    return clientId;
  };

  const verifyAssertion = (assertion: string) => {
    const [header = '', claims = '', signature = ''] = assertion.split('.');
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    let payload: Record<string, unknown>;
    try {
      if (decode(header).alg !== 'RS256') throw new Error('alg');
      payload = decode(claims);
    } catch {
      throw refuse(400, 'invalid_grant', 'Invalid JWT.');
    }
    const publicKey = serviceAccounts.get(String(payload.iss ?? ''));
    if (!publicKey) throw refuse(401, 'invalid_client', 'The OAuth client was not found.');
    const signed = createVerify('RSA-SHA256')
      .update(`${header}.${claims}`)
      .verify(publicKey, Buffer.from(signature, 'base64url'));
    if (!signed) throw refuse(400, 'invalid_grant', 'Invalid JWT Signature.');
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(payload.iat);
    const exp = Number(payload.exp);
    if (payload.aud !== tokenUrl)
      throw refuse(400, 'invalid_grant', 'Invalid JWT: aud is not the token URL.');
    if (!(exp > now && exp - iat <= 3600))
      throw refuse(400, 'invalid_grant', 'Invalid JWT: expired or too long.');
    if (payload.scope !== GMAIL_SMTP_SCOPE) throw refuse(400, 'invalid_scope', 'Invalid OAuth scope.');
    const user = typeof payload.sub === 'string' ? payload.sub : '';
    if (!user.includes('@')) {
      throw refuse(401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens.');
    }
    return user;
  };

  const grant = (form: URLSearchParams): object => {
    const type = form.get('grant_type') ?? '';
    grants.push(type);
    if (type === 'refresh_token') {
      const clientId = checkClient(form);
      const granted = refreshTokens.get(form.get('refresh_token') ?? '');
      if (!granted || granted.clientId !== clientId) {
        throw refuse(400, 'invalid_grant', 'Token has been expired or revoked.');
      }
      if (granted.scope !== GMAIL_SMTP_SCOPE) throw refuse(400, 'invalid_scope', 'Bad Request');
      return { ...issueAccessToken(granted.user), scope: granted.scope };
    }
    if (type === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return issueAccessToken(verifyAssertion(form.get('assertion') ?? ''));
    }
    if (type === 'authorization_code') {
      const clientId = checkClient(form);
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (
        !code ||
        code.clientId !== clientId ||
        code.redirectUri !== form.get('redirect_uri') ||
        code.challenge !== challenge
      ) {
        throw refuse(400, 'invalid_grant', 'Malformed auth code.');
      }
      const refreshToken = token('1//local-');
      refreshTokens.set(refreshToken, { clientId, user: code.user, scope: code.scope });
      return { ...issueAccessToken(code.user), refresh_token: refreshToken, scope: code.scope };
    }
    throw refuse(400, 'unsupported_grant_type', 'Invalid grant_type.');
  };

  const answerToken = async (request: IncomingMessage, response: ServerResponse) => {
    tokenRequests += 1;
    const form = await readForm(request);
    const fault = faults.shift();
    const json = { 'content-type': 'application/json; charset=utf-8' };
    if (fault === 'throttle') {
      response.writeHead(429, json).end(JSON.stringify({ error: 'rate_limit_exceeded' }));
      return;
    }
    if (fault === 'unavailable') {
      response.writeHead(503, json).end(JSON.stringify({ error: 'backend_error' }));
      return;
    }
    try {
      const answer = JSON.stringify(grant(form));
      response.writeHead(200, json).end(answer);
    } catch (error) {
      if (!(error instanceof OAuthAnswerError)) throw error;
      response
        .writeHead(error.status, json)
        .end(JSON.stringify({ error: error.error, error_description: error.message }));
    }
  };

  // The consent page: Google would sign the user in and ask; this one approves and redirects at once.
  const answerConsent = (url: URL, response: ServerResponse) => {
    const query = url.searchParams;
    const redirectUri = query.get('redirect_uri') ?? '';
    const clientId = query.get('client_id') ?? '';
    const redirect = URL.canParse(redirectUri) ? new URL(redirectUri) : undefined;
    const loopback = redirect?.protocol === 'http:' && redirect.hostname === '127.0.0.1';
    if (!redirect || !clients.has(clientId) || !loopback || query.get('code_challenge_method') !== 'S256') {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('Error 400: invalid_request');
      return;
    }
    const code = token('4/local-');
    codes.set(code, {
      clientId,
      user: endpoint.consentAs ?? query.get('login_hint') ?? 'alerts@example.com',
      scope: query.get('scope') ?? '',
      redirectUri,
      challenge: query.get('code_challenge') ?? '',
    });
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('scope', query.get('scope') ?? '');
    if (query.has('state')) redirect.searchParams.set('state', query.get('state') ?? '');
    response.writeHead(302, { location: redirect.href }).end();
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method === 'POST' && url.pathname === '/token') {
      answerToken(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
      return;
    }
    if (request.method === 'GET' && url.pathname === '/o/oauth2/v2/auth') {
      answerConsent(url, response);
      return;
    }
    response.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('OAuth endpoint has no TCP address');
  const base = `http://127.0.0.1:${address.port}`;
  tokenUrl = `${base}/token`;

  const endpoint: OAuthEndpoint = {
    tokenUrl,
    authorizationUrl: `${base}/o/oauth2/v2/auth`,
    get tokenRequests() {
      return tokenRequests;
    },
    grants,
    issuedAccessTokens,
    accessTokenLifetimeS: options.accessTokenLifetimeS ?? 3599,
    consentAs: undefined,
    registerClient(client) {
      clients.set(client.clientId, client.clientSecret);
    },
    issueRefreshToken(client, user, scope = GMAIL_SMTP_SCOPE) {
      const refreshToken = token('1//local-');
      refreshTokens.set(refreshToken, { clientId: client.clientId, user, scope });
      return refreshToken;
    },
    revoke(refreshToken) {
      const grant = refreshToken === undefined ? undefined : refreshTokens.get(refreshToken);
      if (refreshToken === undefined) refreshTokens.clear();
      else refreshTokens.delete(refreshToken);
      for (const [accessToken, issued] of accessTokens) {
        if (!grant || issued.user === grant.user) accessTokens.delete(accessToken);
      }
    },
    delegate(serviceClient, publicKeyPem) {
      serviceAccounts.set(serviceClient, publicKeyPem);
    },
    expireAccessTokens() {
      accessTokens.clear();
    },
    userOf(accessToken) {
      const issued = accessTokens.get(accessToken);
      return issued && issued.expiresAt > Date.now() ? issued.user : undefined;
    },
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i += 1) faults.push(fault);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return endpoint;
}

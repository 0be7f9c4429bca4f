import { createVerify, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TokenRequestError } from '../../functions/core/errors.ts';
import { GMAIL_SMTP_SCOPE } from '../../functions/core/gmail-replies.ts';
import { GoogleAccessTokens, serviceAccountAssertion } from '../../functions/core/google-oauth.ts';
import { type OAuthEndpoint, startOAuthEndpoint, testOAuthClient } from '../../local/oauth-endpoint.ts';

let endpoint: OAuthEndpoint;
const user = 'alerts@example.com';

beforeAll(async () => {
  endpoint = await startOAuthEndpoint();
  endpoint.registerClient(testOAuthClient);
});
afterAll(async () => {
  await endpoint.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const oauthClient = () => ({
  username: user,
  ...testOAuthClient,
  refreshToken: endpoint.issueRefreshToken(testOAuthClient, user),
});
const tokensFor = (tokenUrl = endpoint.tokenUrl) => new GoogleAccessTokens({ tokenUrl, timeoutMs: 2_000 });

/** A token URL nothing listens on: a port this test bound and closed again, whatever else the machine runs. */
async function deadTokenUrl(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/token`;
}

async function refusal(promise: Promise<unknown>): Promise<TokenRequestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TokenRequestError);
  return error as TokenRequestError;
}

describe('GoogleAccessTokens', () => {
  it('asks once for concurrent and later callers, and again when told the token was refused', async () => {
    const credentials = oauthClient();
    const tokens = tokensFor();
    const before = endpoint.tokenRequests;

    const [first, second] = await Promise.all([tokens.get(credentials), tokens.get(credentials)]);
    const later = await tokens.get(credentials);
    const fresh = await tokens.get(credentials, { fresh: true });

    expect(second).toBe(first);
    expect(later).toBe(first);
    expect(fresh).not.toBe(first);
    expect(endpoint.userOf(fresh)).toBe(user);
    expect(endpoint.tokenRequests - before).toBe(2);
  });

  it('replaces a token a minute before it expires, and not before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const credentials = oauthClient();
    const tokens = tokensFor();
    const before = endpoint.tokenRequests;

    const first = await tokens.get(credentials);
    vi.setSystemTime(Date.now() + 3599_000 - 61_000);
    const stillValid = await tokens.get(credentials);
    vi.setSystemTime(Date.now() + 2_000);
    const replaced = await tokens.get(credentials);

    expect(stillValid).toBe(first);
    expect(replaced).not.toBe(first);
    expect(endpoint.tokenRequests - before).toBe(2);
  });

  it('never reuses the token of credentials that were rotated', async () => {
    const tokens = tokensFor();
    const first = await tokens.get(oauthClient());
    const rotated = await tokens.get(oauthClient());

    expect(rotated).not.toBe(first);
  });

  it('reads invalid_grant as a revoked refresh token (auth, with the consent advice)', async () => {
    const credentials = oauthClient();
    endpoint.revoke(credentials.refreshToken);

    const error = await refusal(tokensFor().get(credentials));

    expect(error.failureClass).toBe('auth');
    expect(error.oauthError).toBe('invalid_grant');
    expect(error.status).toBe(400);
    expect(error.advice).toContain('npm run secret:set -- --oauth');
    expect(error.advice).toContain('"Testing"');
    expect(error.message).not.toContain(credentials.refreshToken);
  });

  it('reads a wrong or rotated client secret as invalid_client (auth, with the console advice)', async () => {
    const credentials = { ...oauthClient(), clientSecret: 'GOCSPX-rotatedAway' };

    const error = await refusal(tokensFor().get(credentials));

    expect(error).toMatchObject({ failureClass: 'auth', oauthError: 'invalid_client', status: 401 });
    expect(error.advice).toContain('client secret');
    expect(`${error.message} ${error.advice}`).not.toContain('GOCSPX-rotatedAway');
  });

  it('reads a throttling, failing or unreachable token endpoint as transient', async () => {
    endpoint.failNext('throttle');
    endpoint.failNext('unavailable');
    const credentials = oauthClient();

    const throttled = await refusal(tokensFor().get(credentials));
    const failing = await refusal(tokensFor().get(credentials));
    const unreachable = await refusal(tokensFor(await deadTokenUrl()).get(credentials));

    expect([throttled.status, failing.status, unreachable.status]).toEqual([429, 503, undefined]);
    for (const error of [throttled, failing, unreachable]) expect(error.failureClass).toBe('transient');
  });
});

describe('serviceAccountAssertion', () => {
  it('signs an RS256 JWT: the service account as iss, the user as sub, the mail scope, the token URL as aud, one hour', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const now = Date.UTC(2026, 11, 2, 3, 0, 0);

    const jwt = serviceAccountAssertion(
      { username: user, serviceClient: 'svc@project.iam.gserviceaccount.com', privateKey: pem },
      'https://oauth2.googleapis.com/token',
      now,
    );
    const [header = '', claims = '', signature = ''] = jwt.split('.');
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

    expect(decode(header)).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(decode(claims)).toEqual({
      iss: 'svc@project.iam.gserviceaccount.com',
      sub: user,
      scope: GMAIL_SMTP_SCOPE,
      aud: 'https://oauth2.googleapis.com/token',
      iat: now / 1000,
      exp: now / 1000 + 3600,
    });
    const verified = createVerify('RSA-SHA256')
      .update(`${header}.${claims}`)
      .verify(publicKey, Buffer.from(signature, 'base64url'));
    expect(verified).toBe(true);
  });
});

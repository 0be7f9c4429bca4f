import { describe, expect, it } from 'vitest';
import { GMAIL_SMTP_SCOPE } from '../../functions/core/gmail-replies.ts';
import { account, alertEvent, type Deployment, deploy, sqsRecord } from './support/deployment.ts';
import {
  type Artifact,
  describeThrown,
  findSecret,
  oauthSecretForms,
  xoauth2Response,
} from './support/leak-search.ts';
import { captureFileOutput } from './support/output-capture.ts';

const output = captureFileOutput();

const alert = (subject: string) => JSON.stringify({ subject, text: 'Signed in with OAuth 2.0.' });
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Everything any invocation below produced, searched for the OAuth secrets at the end. */
const artifacts: Artifact[] = [];
/** Every OAuth secret the deployments below held or issued: client secrets, refresh tokens, keys, access tokens. */
const secrets: Record<string, string> = {};
let deployments = 0;

/** A deployment whose secret signs in with OAuth; its secrets are remembered for the leak search. */
async function deployOAuth(signIn: 'oauth-client' | 'service-account'): Promise<Deployment> {
  const deployment = await deploy({ signIn, env: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } });
  deployments += 1;
  const value = JSON.parse(deployment.secretValue ?? '{}') as Record<string, string>;
  for (const field of ['clientSecret', 'refreshToken', 'privateKey'] as const) {
    if (value[field]) secrets[`${field} of deployment ${deployments}`] = value[field];
  }
  return deployment;
}

/** Closes a deployment after noting the access tokens it issued and its queues. */
async function finish(deployment: Deployment, where: string): Promise<void> {
  deployment.oauth.issuedAccessTokens.forEach((token, index) => {
    secrets[`access token ${index + 1} of ${where}`] = token;
    secrets[`XOAUTH2 response ${index + 1} of ${where}`] = xoauth2Response(account.user, token);
  });
  artifacts.push(
    { where: `${where}: DLQ entries`, text: JSON.stringify(deployment.deadLetters()) },
    { where: `${where}: queued messages`, text: JSON.stringify(deployment.queued()) },
  );
  await deployment.close();
}

/** Runs one invocation, keeping what it answered (or threw) for the leak search. */
async function observed<T>(where: string, invoke: () => Promise<T>): Promise<T> {
  try {
    const result = await invoke();
    artifacts.push({ where, text: JSON.stringify(result) });
    return result;
  } catch (thrown) {
    artifacts.push({ where: `${where}: thrown`, text: describeThrown(thrown) });
    throw thrown;
  }
}

describe('an OAuth client secret', () => {
  it('sends through AUTH XOAUTH2 with one token request across several invocations', async () => {
    const deployment = await deployOAuth('oauth-client');
    try {
      const http = await deployment.http();
      for (const subject of ['First', 'Second', 'Third']) {
        const response = await observed(`send ${subject} via http`, () => http(alert(subject)));
        expect(response.statusCode).toBe(200);
      }
      const messages = await deployment.gmail.waitForMessages(3);

      expect(messages.map((message) => message.user)).toEqual([account.user, account.user, account.user]);
      expect(messages.map((message) => message.envelope.from)).toEqual([
        account.user,
        account.user,
        account.user,
      ]);
      expect(deployment.oauth.tokenRequests).toBe(1);
      expect(deployment.oauth.grants).toEqual(['refresh_token']);
      expect(deployment.gmail.stats.oauthLogins).toBe(deployment.gmail.stats.authSuccesses);
      expect(deployment.gmail.stats.oauthLogins).toBeGreaterThan(0);
    } finally {
      await finish(deployment, 'several invocations');
    }
  });

  it('asks for one fresh token when Gmail refuses the cached one, and sends', async () => {
    const deployment = await deployOAuth('oauth-client');
    try {
      const http = await deployment.http();
      expect((await observed('before expiry via http', () => http(alert('Before')))).statusCode).toBe(200);
      // Google ends the token early, and the warm connection is gone: the next AUTH uses the cached token.
      deployment.oauth.expireAccessTokens();
      deployment.gmail.dropConnections('fin');
      const attemptsBefore = deployment.gmail.stats.authAttempts;

      const response = await observed('after expiry via http', () => http(alert('After')));

      expect(response.statusCode).toBe(200);
      await deployment.gmail.waitForMessages(2);
      expect(deployment.oauth.tokenRequests).toBe(2);
      // The refused token, then the fresh one: one refusal, no login loop.
      expect(deployment.gmail.stats.authAttempts - attemptsBefore).toBe(2);
    } finally {
      await finish(deployment, 'expired token');
    }
  });

  it('fails as auth with the consent advice when the refresh token is revoked, on every trigger', async () => {
    const deployment = await deployOAuth('oauth-client');
    try {
      const http = await deployment.http();
      const sqs = await deployment.sqsHandler();
      const eventBridge = await deployment.eventBridge();
      deployment.oauth.revoke();

      const response = await observed('revoked via http', () => http(alert('Revoked')));
      const batch = await observed('revoked via sqs', () => sqs([sqsRecord(alert('Revoked'))]));
      await observed('revoked via eventbridge', () => eventBridge(alertEvent({ subject: 'Revoked' })));

      expect(response.statusCode).toBe(502);
      const error = JSON.parse(response.body).error;
      expect(error.class).toBe('auth');
      expect(error.advice).toContain('npm run secret:set -- --oauth');
      expect(error.advice).toContain('"Testing"');
      expect(error.advice).not.toContain('App Password');
      expect(batch.batchItemFailures).toEqual([]);
      const parked = deployment.deadLetters();
      expect(parked).toHaveLength(2);
      for (const entry of parked) {
        expect(entry.MessageAttributes.failureClass?.StringValue).toBe('auth');
        expect(entry.MessageAttributes.advice?.StringValue).toContain('npm run secret:set -- --oauth');
      }
      // Each container tried its cached token at most once, then the token endpoint refused the grant.
      expect(deployment.gmail.stats.authAttempts).toBeLessThanOrEqual(3);
      expect(deployment.gmail.stats.authSuccesses).toBe(0);
      expect(deployment.gmail.messages).toEqual([]);
      expect(deployment.oauth.grants.every((grant) => grant === 'refresh_token')).toBe(true);
    } finally {
      await finish(deployment, 'revoked refresh token');
    }
  });

  it('is transient when the token endpoint is down or throttling: queued, retried, never parked', async () => {
    const deployment = await deployOAuth('oauth-client');
    try {
      deployment.oauth.failNext('unavailable', 2);
      deployment.oauth.failNext('throttle', 2);
      const http = await deployment.http();
      const sqs = await deployment.sqsHandler();

      const response = await observed('token endpoint down via http', () => http(alert('Down')));
      const record = sqsRecord(alert('Throttled'));
      const batch = await observed('token endpoint throttling via sqs', () => sqs([record]));

      expect(response.statusCode).toBe(202);
      expect(JSON.parse(response.body).reason.class).toBe('transient');
      expect(batch.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(deployment.deadLetters()).toEqual([]);
    } finally {
      await finish(deployment, 'token endpoint down');
    }
  });
});

describe('a service account secret with domain-wide delegation', () => {
  it('signs a JWT grant for the user at the token endpoint and sends as that user', async () => {
    const deployment = await deployOAuth('service-account');
    try {
      const http = await deployment.http();
      const first = await observed('service account 1 via http', () => http(alert('Delegated')));
      const second = await observed('service account 2 via http', () => http(alert('Delegated again')));

      expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
      const [message] = await deployment.gmail.waitForMessages(2);
      expect(message?.user).toBe(account.user);
      // The endpoint checked the RS256 signature, iss, sub, aud, the scope and a lifetime of at most an hour.
      expect(deployment.oauth.grants).toEqual([JWT_BEARER]);
      expect(deployment.gmail.stats.oauthLogins).toBeGreaterThan(0);
    } finally {
      await finish(deployment, 'service account');
    }
  });
});

describe('never leaked', () => {
  it('finds every OAuth secret form it searches for, so a leak could not go unnoticed', () => {
    const forms = oauthSecretForms({
      'refresh token': '1//local-abc/def+ghi',
      'access token': 'ya29.a0-xyzXYZ',
    });
    const sasl = xoauth2Response(account.user, 'ya29.a0-xyzXYZ');

    expect(findSecret(`refresh_token=${encodeURIComponent('1//local-abc/def+ghi')}`, forms)).toContain(
      'URL-encoded refresh token',
    );
    expect(findSecret(`C: AUTH XOAUTH2 ${sasl}`, forms).length).toBeGreaterThan(0);
    expect(findSecret('"token":"ya29.a0-xyzXYZ"', forms)).toContain('access token');
    expect(findSecret(GMAIL_SMTP_SCOPE, forms)).toEqual([]);
  });

  // Runs last in this file: every invocation above, at log level DEBUG, searched for every secret they held.
  it('shows no client secret, refresh token, private key or access token in any output', () => {
    artifacts.push({ where: 'captured stdout, stderr and console', text: output.text() });
    const forms = oauthSecretForms(secrets);

    // The secrets were really in play, and the bundles' logs really were captured.
    expect(Object.keys(secrets).filter((name) => name.startsWith('access token')).length).toBeGreaterThan(3);
    expect(Object.keys(secrets).filter((name) => name.startsWith('privateKey'))).toHaveLength(1);
    expect(output.logLines().map((line) => line.message)).toContain('Alert delivered');
    expect(output.logLines().map((line) => line.message)).toContain('Alert parked in the dead-letter queue');
    const leaks = artifacts.flatMap((artifact) =>
      findSecret(artifact.text, forms).map((form) => `${form} in ${artifact.where}`),
    );
    expect(leaks).toEqual([]);
  });
});

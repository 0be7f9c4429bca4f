import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAlert } from '../../functions/core/alert.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { DeliveryError } from '../../functions/core/errors.ts';
import type { GmailCredentials } from '../../functions/core/gmail-credentials.ts';
import { GmailSender } from '../../functions/core/gmail-sender.ts';
import { type GmailServer, startGmailServer, testGmailAccount } from '../../local/gmail-server.ts';
import { startOAuthEndpoint, testOAuthClient } from '../../local/oauth-endpoint.ts';

let gmail: GmailServer;

beforeAll(async () => {
  gmail = await startGmailServer();
});
afterAll(async () => {
  await gmail.close();
});

function configFor(env: Record<string, string> = {}) {
  return loadConfig({
    GMAIL_SECRET_ID: 'unused',
    SMTP_HOST: 'localhost',
    SMTP_PORT: String(gmail.port),
    ALERT_TO: 'oncall@example.com',
    ...env,
  });
}

/** A secret that arrives only when the test says so. */
function gatedCredentials() {
  let release: (credentials: GmailCredentials) => void = () => {};
  const arrived = new Promise<GmailCredentials>((resolve) => {
    release = resolve;
  });
  return {
    load: () => arrived,
    release: () => release({ username: testGmailAccount.user, password: testGmailAccount.pass }),
  };
}

describe('GmailSender on a cold start without ALERT_FROM', () => {
  it('connects and upgrades to TLS while the secret is still on its way, then sends from its username', async () => {
    const config = configFor();
    const secret = gatedCredentials();
    const sender = new GmailSender(config, secret.load);
    const before = { ...gmail.stats };
    try {
      const sending = sender.send(parseAlert({ subject: 'Cold start' }, config), { deadlineMs: 10_000 });

      // The handshake completes although nobody knows the sender yet: the message waits for AUTH, not the socket.
      await vi.waitFor(() => expect(gmail.stats.tlsHandshakes).toBe(before.tlsHandshakes + 1), {
        timeout: 8_000,
      });
      expect(gmail.stats.authAttempts).toBe(before.authAttempts);

      secret.release();
      const receipt = await sending;
      expect(receipt).toMatchObject({ accepted: ['oncall@example.com'], failed: [] });
      const [mail] = await gmail.waitForMessages(1);
      expect(mail?.envelope.from).toBe(testGmailAccount.user);
      expect(mail?.parsed.from?.value).toEqual([{ name: 'Alerts', address: testGmailAccount.user }]);
      expect(receipt.messageId).toBe(mail?.parsed.messageId);
    } finally {
      sender.close();
    }
  });

  it('raises the priority headers of an urgent alert, as Outlook and Apple Mail read them', async () => {
    gmail.messages.length = 0;
    const config = configFor({ ALERT_FROM: 'alerts@example.com' });
    const sender = new GmailSender(config, async () => ({
      username: testGmailAccount.user,
      password: testGmailAccount.pass,
    }));
    try {
      await sender.send(parseAlert({ subject: 'Urgent', severity: 'critical' }, config), {
        deadlineMs: 10_000,
      });
      await sender.send(parseAlert({ subject: 'Routine', severity: 'info' }, config), { deadlineMs: 10_000 });
      const [urgent, routine] = await gmail.waitForMessages(2);
      expect(urgent?.raw.toString()).toMatch(/^X-Priority: 1 \(Highest\)\r$/m);
      expect(urgent?.raw.toString()).toMatch(/^Importance: High\r$/m);
      expect(routine?.raw.toString()).not.toMatch(/^X-Priority:/m);
    } finally {
      sender.close();
    }
  });

  it('sends the same mail whether it was composed during AUTH on a new connection or on demand on a warm one', async () => {
    gmail.messages.length = 0;
    const config = configFor();
    const sender = new GmailSender(config, async () => ({
      username: testGmailAccount.user,
      password: testGmailAccount.pass,
    }));
    const alert = parseAlert(
      { subject: 'Twice', text: 'Line one\n.dot line', dedupKey: 'k-1', fields: { queue: 'orders' } },
      config,
    );
    const before = { ...gmail.stats };
    try {
      await sender.send(alert, { deadlineMs: 10_000 });
      await sender.send(alert, { deadlineMs: 10_000 });
      expect(gmail.stats.connections).toBe(before.connections + 1);
      const [cold, warm] = await gmail.waitForMessages(2);
      const shape = (mail: typeof cold) => ({
        headers: [...(mail?.parsed.headers.keys() ?? [])],
        references: mail?.parsed.references,
        subject: mail?.parsed.subject,
        text: mail?.parsed.text,
        html: mail?.parsed.html,
      });
      expect(shape(cold)).toEqual(shape(warm));
      expect(cold?.parsed.text).toContain('.dot line');
    } finally {
      sender.close();
    }
  });
});

describe('GmailSender with an OAuth client secret whose tokens Gmail refuses', () => {
  it('tries the cached token and one fresh token, then reports auth with OAuth advice and stops logging in', async () => {
    const oauth = await startOAuthEndpoint();
    // This server knows no OAuth tokens: every XOAUTH2 login is refused as Gmail refuses a bad token.
    const refusing = await startGmailServer();
    oauth.registerClient(testOAuthClient);
    const credentials = {
      username: testGmailAccount.user,
      ...testOAuthClient,
      refreshToken: oauth.issueRefreshToken(testOAuthClient, testGmailAccount.user),
    };
    const config = loadConfig({
      GMAIL_SECRET_ID: 'unused',
      SMTP_HOST: 'localhost',
      SMTP_PORT: String(refusing.port),
      ALERT_TO: 'oncall@example.com',
      GOOGLE_OAUTH_TOKEN_URL: oauth.tokenUrl,
    });
    const sender = new GmailSender(config, async () => credentials);
    const send = () =>
      sender.send(parseAlert({ subject: 'Refused' }, config), { deadlineMs: 10_000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
    try {
      const first = await send();
      const attemptsAfterFirst = refusing.stats.authAttempts;
      const requestsAfterFirst = oauth.tokenRequests;
      const second = await send();

      expect(first).toBeInstanceOf(DeliveryError);
      expect(first).toMatchObject({ failureClass: 'auth', responseCode: 535 });
      expect((first as DeliveryError).advice).toContain('npm run secret:set -- --oauth');
      expect((first as DeliveryError).advice).not.toContain('App Password');
      expect(attemptsAfterFirst).toBe(2);
      expect(requestsAfterFirst).toBe(2);
      // Remembered for SECRET_CACHE_SECONDS: no login loop towards Gmail's "too many login attempts".
      expect(second).toMatchObject({ failureClass: 'auth' });
      expect(refusing.stats.authAttempts).toBe(attemptsAfterFirst);
      expect(oauth.tokenRequests).toBe(requestsAfterFirst);
      expect(refusing.messages).toEqual([]);
    } finally {
      sender.close();
      await refusing.close();
      await oauth.close();
    }
  });
});

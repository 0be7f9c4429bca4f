import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Alert, parseAlert } from '../../functions/core/alert.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { DeliveryError } from '../../functions/core/errors.ts';
import type { GmailCredentials } from '../../functions/core/gmail-credentials.ts';
import { GmailSender } from '../../functions/core/gmail-sender.ts';
import { gmailReplies } from '../../local/gmail-replies.ts';
import { type GmailServer, startGmailServer, testGmailAccount } from '../../local/gmail-server.ts';
import { startOAuthEndpoint, testOAuthClient } from '../../local/oauth-endpoint.ts';
import { startTcpProxy, type TcpProxy } from '../../local/tcp-proxy.ts';

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

describe('GmailSender sending the first message of a new connection behind AUTH PLAIN', () => {
  let proxy: TcpProxy;

  beforeAll(async () => {
    // Far enough apart that what goes in one flight and what waits for a reply cannot be confused.
    proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: gmail.port }, oneWayDelayMs: 15 });
  });
  afterAll(async () => {
    await proxy.close();
  });

  const proxied = () => configFor({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(proxy.port) });
  const appPassword =
    (pass: string = testGmailAccount.pass) =>
    async () => ({ username: testGmailAccount.user, password: pass });
  /** SMTP round trips of `work`, counted from and to a moment with no connection open. */
  const roundTripsOf = async (work: () => Promise<void>) => {
    await vi.waitFor(() => expect(proxy.openConnections).toBe(0));
    const start = proxy.roundTrips;
    await work();
    await vi.waitFor(() => expect(proxy.openConnections).toBe(0));
    return proxy.roundTrips - start;
  };
  /** Sends `alert` with a new sender, then closes it. */
  const sendOnce = async (sender: GmailSender, alert: Alert, options: { ahead?: boolean } = {}) => {
    try {
      if (options.ahead) expect(await sender.connectAhead()).toBeUndefined();
      const receipt = await sender.send(alert, { deadlineMs: 10_000 });
      expect(receipt).toMatchObject({ accepted: ['oncall@example.com'], failed: [] });
    } finally {
      sender.close();
    }
  };
  /** An empty mailbox, and a new sender through the proxy with the server's counts before it. */
  const freshSender = (pass?: string) => {
    gmail.messages.length = 0;
    const config = proxied();
    return { config, sender: new GmailSender(config, appPassword(pass)), before: { ...gmail.stats } };
  };
  const outcome = (sending: Promise<unknown>) =>
    sending.then(
      () => undefined,
      (error: unknown) => error,
    );

  it('puts its envelope in the same flight as AUTH: one round trip fewer than AUTH first, then the message', async () => {
    gmail.messages.length = 0;
    const config = proxied();
    const alert = parseAlert({ subject: 'Behind AUTH' }, config);

    const before = { ...gmail.stats };
    // AUTH with no message waiting (a connection opened ahead), then the message on that connection.
    const separate = await roundTripsOf(() =>
      sendOnce(new GmailSender(config, appPassword()), alert, { ahead: true }),
    );
    // The message waiting when AUTH is due.
    const together = await roundTripsOf(() => sendOnce(new GmailSender(config, appPassword()), alert));
    expect(together).toBe(separate - 1);
    // SMTP_PIPELINE_AUTH=false: AUTH's reply first, then the message, as AUTH first above.
    const switchedOff = configFor({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(proxy.port),
      SMTP_PIPELINE_AUTH: 'false',
    });
    expect(await roundTripsOf(() => sendOnce(new GmailSender(switchedOff, appPassword()), alert))).toBe(
      separate,
    );
    expect(gmail.stats.authSuccesses).toBe(before.authSuccesses + 3);
    const mails = await gmail.waitForMessages(3);
    expect(mails.map((mail) => mail.user)).toEqual(Array(3).fill(testGmailAccount.user));
  });

  it('sends a message handed over while AUTH is on its way behind AUTH as well', async () => {
    gmail.messages.length = 0;
    const config = proxied();
    const alert = parseAlert({ subject: 'Decided during AUTH' }, config);
    // A round trip long enough that "after AUTH went out, before its reply" is a wide window.
    proxy.oneWayDelayMs = 50;
    try {
      const together = await roundTripsOf(() => sendOnce(new GmailSender(config, appPassword()), alert));
      const late = await roundTripsOf(async () => {
        let asked = () => {};
        const askedForSecret = new Promise<void>((resolve) => {
          asked = resolve;
        });
        const secret = gatedCredentials();
        const sender = new GmailSender(config, () => {
          asked();
          return secret.load();
        });
        try {
          // A connection opened ahead, as the functions open it while the state table decides.
          const ahead = sender.connectAhead();
          await askedForSecret;
          secret.release();
          await new Promise((resolve) => setTimeout(resolve, 10));
          const receipt = await sender.send(alert, { deadlineMs: 10_000 });
          expect(receipt).toMatchObject({ accepted: ['oncall@example.com'], failed: [] });
          expect(await ahead).toBeUndefined();
        } finally {
          sender.close();
        }
      });
      expect(late).toBe(together);
      expect(await gmail.waitForMessages(2)).toHaveLength(2);
    } finally {
      proxy.oneWayDelayMs = 15;
    }
  });

  it("fails the message behind a refused App Password with Gmail's 535, and sends nothing more on that connection", async () => {
    const { config, sender, before } = freshSender('wrong password');
    try {
      const error = await outcome(
        sender.send(parseAlert({ subject: 'Refused' }, config), { deadlineMs: 10_000 }),
      );
      expect(error).toBeInstanceOf(DeliveryError);
      expect(error).toMatchObject({ failureClass: 'auth', responseCode: 535, command: 'AUTH PLAIN' });
      expect((error as DeliveryError).advice).toContain('App Password');
      expect(gmail.stats.authAttempts).toBe(before.authAttempts + 1);
      await vi.waitFor(() => expect(proxy.openConnections).toBe(0));
      expect(gmail.messages).toEqual([]);
    } finally {
      sender.close();
    }
  });

  it('after a 454 at AUTH, opens a new connection for the next alert instead of reusing the unauthenticated one', async () => {
    const { config, sender, before } = freshSender();
    gmail.failNext({ at: 'auth', code: 454 });
    try {
      const error = await outcome(
        sender.send(parseAlert({ subject: 'Not now' }, config), { deadlineMs: 10_000 }),
      );
      expect(error).toMatchObject({ failureClass: 'transient', responseCode: 454 });
      const receipt = await sender.send(parseAlert({ subject: 'Now' }, config), { deadlineMs: 10_000 });
      expect(receipt).toMatchObject({ accepted: ['oncall@example.com'], failed: [] });
      expect(gmail.stats.connections).toBe(before.connections + 2);
      expect(gmail.stats.authSuccesses).toBe(before.authSuccesses + 1);
      const [mail] = await gmail.waitForMessages(1);
      expect(mail?.parsed.subject).toContain('Now');
    } finally {
      sender.close();
    }
  });

  it("after Gmail's 421 to AUTH, sends the message behind it again on a new connection, once", async () => {
    const { config, sender, before } = freshSender();
    gmail.failNext({ at: 'auth', ...gmailReplies.tryAgainLater });
    try {
      const receipt = await sender.send(parseAlert({ subject: 'Closed at AUTH' }, config), {
        deadlineMs: 10_000,
      });
      expect(receipt).toMatchObject({ accepted: ['oncall@example.com'], failed: [] });
      expect(gmail.stats.connections).toBe(before.connections + 2);
      expect(gmail.stats.authAttempts).toBe(before.authAttempts + 2);
      expect(await gmail.waitForMessages(1)).toHaveLength(1);

      // Once: a second 421 in a row is the alert's failure, retried by its trigger.
      sender.close();
      gmail.failNext({ at: 'auth', ...gmailReplies.tryAgainLater, times: 2 });
      const error = await outcome(
        sender.send(parseAlert({ subject: 'Closed twice' }, config), { deadlineMs: 10_000 }),
      );
      expect(error).toMatchObject({ failureClass: 'transient', responseCode: 421 });
      expect(gmail.messages).toHaveLength(1);
    } finally {
      sender.close();
    }
  });

  it('when a server says nothing after accepting AUTH, sends the message again after SMTP_TIMEOUT_MS and stops pipelining AUTH', async () => {
    gmail.messages.length = 0;
    const config = configFor({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(proxy.port),
      SMTP_TIMEOUT_MS: '1000',
    });
    const sender = new GmailSender(config, appPassword());
    const alert = parseAlert({ subject: 'Dropped behind AUTH' }, config);
    const before = { ...gmail.stats };
    // A server that drops what a client pipelined behind AUTH: AUTH's 235, then silence.
    gmail.answerNothing('mail');
    try {
      const receipt = await sender.send(alert, { deadlineMs: 10_000 });
      expect(receipt).toMatchObject({ accepted: ['oncall@example.com'], failed: [] });
      expect(gmail.stats.connections).toBe(before.connections + 2);
      expect(gmail.stats.authSuccesses).toBe(before.authSuccesses + 2);
      expect(await gmail.waitForMessages(1)).toHaveLength(1);

      sender.close();
      const after = await roundTripsOf(() => sendOnce(sender, alert));
      const fresh = await roundTripsOf(() => sendOnce(new GmailSender(config, appPassword()), alert));
      expect(after).toBe(fresh + 1);
    } finally {
      sender.close();
    }
  });

  it('does not send a message again when AUTH itself goes unanswered (a dead path, not a dropped envelope)', async () => {
    const config = configFor({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(proxy.port),
      SMTP_TIMEOUT_MS: '1000',
    });
    const sender = new GmailSender(config, appPassword());
    const before = { ...gmail.stats };
    gmail.answerNothing('auth');
    try {
      const error = await outcome(
        sender.send(parseAlert({ subject: 'Silent AUTH' }, config), { deadlineMs: 10_000 }),
      );
      expect(error).toMatchObject({ failureClass: 'transient' });
      expect(gmail.stats.connections).toBe(before.connections + 1);
    } finally {
      sender.close();
    }
  });

  it('when a server reads the envelope before it has finished AUTH, sends the message again and stops pipelining AUTH', async () => {
    const { config, sender } = freshSender();
    const alert = parseAlert({ subject: 'Too early' }, config);
    // What a server says to an envelope it takes for unauthenticated, though AUTH then succeeds.
    const { code, message } = gmailReplies.authenticationRequired;
    gmail.failNext({ at: 'mail', code, message });
    try {
      const receipt = await sender.send(alert, { deadlineMs: 10_000 });
      expect(receipt).toMatchObject({ accepted: ['oncall@example.com'], failed: [] });
      expect(await gmail.waitForMessages(1)).toHaveLength(1);

      // From now on, AUTH and the message go one after the other: a new connection's AUTH costs its round trip again.
      sender.close();
      const after = await roundTripsOf(() => sendOnce(sender, alert));
      const fresh = await roundTripsOf(() => sendOnce(new GmailSender(config, appPassword()), alert));
      expect(after).toBe(fresh + 1);
      expect(gmail.messages).toHaveLength(3);
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

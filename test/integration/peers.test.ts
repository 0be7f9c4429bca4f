import { once } from 'node:events';
import { createServer as createTcpServer, connect as tcpConnect } from 'node:net';
import { createServer as createTlsServer, type TlsOptions, connect as tlsConnect } from 'node:tls';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { gmailReplies } from '../../local/gmail-replies.ts';
import {
  type GmailServer,
  type SmtpStage,
  startGmailServer,
  testGmailAccount,
} from '../../local/gmail-server.ts';
import { createLambdaContext } from '../../local/lambda-context.ts';
import { startOAuthEndpoint, testOAuthClient } from '../../local/oauth-endpoint.ts';
import { loadEvent } from '../../local/sample-events.ts';
import { startSecretsEndpoint } from '../../local/secrets-endpoint.ts';
import { md5OfMessageAttributes, startSqsEndpoint } from '../../local/sqs-endpoint.ts';
import { startTcpProxy } from '../../local/tcp-proxy.ts';
import { createUntrustedCertificate, loadTestServerTls } from '../../local/tls.ts';

const alert = {
  from: testGmailAccount.user,
  to: 'oncall@example.com',
  subject: 'Disk full',
  text: 'db-1 at 97%',
};

/** A Gmail-style client: STARTTLS required, certificate verified, short timeouts. */
function gmailTransport(server: { port: number }, options: SMTPTransport.Options = {}) {
  return createTransport({
    host: '127.0.0.1',
    port: server.port,
    secure: false,
    requireTLS: true,
    auth: { ...testGmailAccount },
    connectionTimeout: 2_000,
    greetingTimeout: 2_000,
    socketTimeout: 5_000,
    ...options,
  });
}

async function listenTls(options: TlsOptions) {
  const server = createTlsServer(options, (socket) => socket.end('hello'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

describe('test PKI', () => {
  it('is trusted by a worker through NODE_EXTRA_CA_CERTS, with verification on', async () => {
    const { server, port } = await listenTls(loadTestServerTls());

    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost' });
    await once(socket, 'secureConnect');

    expect(process.env.NODE_EXTRA_CA_CERTS).toBe(process.env.TEST_TLS_CA);
    expect(socket.authorized).toBe(true);
    socket.destroy();
    server.close();
  });

  it('refuses a self-signed certificate that the test CA did not sign', async () => {
    const untrusted = await createUntrustedCertificate();
    const { server, port } = await listenTls({ cert: untrusted.certPem, key: untrusted.keyPem });

    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost' });
    const [error] = await once(socket, 'error').catch((err: unknown) => [err]);

    expect(error).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    server.close();
  });
});

describe('Gmail-like SMTP server', () => {
  let server: GmailServer;
  afterEach(() => server.close());

  it("takes nodemailer's own XOAUTH2 with a token from the local endpoint, and refuses another as Gmail does", async () => {
    const oauth = await startOAuthEndpoint();
    try {
      oauth.registerClient(testOAuthClient);
      server = await startGmailServer({ oauth });
      const grant = await fetch(oauth.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: testOAuthClient.clientId,
          client_secret: testOAuthClient.clientSecret,
          refresh_token: oauth.issueRefreshToken(testOAuthClient, testGmailAccount.user),
        }),
      });
      const { access_token: accessToken } = (await grant.json()) as { access_token: string };
      const oauth2 = (token: string) =>
        gmailTransport(server, { auth: { type: 'OAuth2', user: testGmailAccount.user, accessToken: token } });

      await oauth2(accessToken).sendMail(alert);
      const refused = await oauth2('ya29.not-issued')
        .sendMail(alert)
        .catch((error: unknown) => error);

      expect(server.stats.oauthLogins).toBe(1);
      expect(server.messages.map((message) => message.user)).toEqual([testGmailAccount.user]);
      expect(refused).toMatchObject({ code: 'EAUTH', responseCode: 535 });
      expect(String((refused as { response?: string }).response)).toMatch(
        /^535-5\.7\.8 Username and Password not accepted/,
      );
    } finally {
      await oauth.close();
    }
  });

  it('delivers over STARTTLS with the App Password and keeps the parsed message', async () => {
    const handed: string[] = [];
    server = await startGmailServer({ onMessage: (received) => void handed.push(received.raw.toString()) });

    const info = await gmailTransport(server).sendMail(alert);
    const [message] = await server.waitForMessages(1);

    expect(info.response).toMatch(/^250 2\.0\.0 OK/);
    expect(message?.envelope).toEqual({ from: alert.from, to: [alert.to] });
    expect(message?.user).toBe(testGmailAccount.user);
    expect(message?.parsed.subject).toBe('Disk full');
    expect(message?.parsed.text?.trim()).toBe('db-1 at 97%');
    expect(server.stats).toEqual({
      connections: 1,
      tlsHandshakes: 1,
      authAttempts: 1,
      authSuccesses: 1,
      oauthLogins: 0,
      messages: 1,
    });
    expect(handed).toEqual([message?.raw.toString()]);
  });

  it('accepts implicit TLS from the first byte, as on port 465', async () => {
    server = await startGmailServer({ secure: true });

    await gmailTransport(server, { secure: true, requireTLS: false }).sendMail(alert);

    expect(server.url).toMatch(/^smtps:\/\//);
    expect(server.stats).toMatchObject({ tlsHandshakes: 1, messages: 1 });
  });

  it('answers MAIL before STARTTLS with 530 5.7.0 and does not advertise AUTH', async () => {
    server = await startGmailServer();

    const sending = gmailTransport(server, { requireTLS: false, ignoreTLS: true }).sendMail(alert);

    await expect(sending).rejects.toMatchObject({
      responseCode: 530,
      command: 'MAIL FROM',
      response: '530 5.7.0 Must issue a STARTTLS command first.',
    });
    expect(server.stats.authAttempts).toBe(0);
  });

  it('answers AUTH before STARTTLS with 530 5.7.0', async () => {
    server = await startGmailServer();

    const sending = gmailTransport(server, { requireTLS: false, ignoreTLS: true, forceAuth: true }).sendMail(
      alert,
    );

    await expect(sending).rejects.toMatchObject({ code: 'EAUTH', responseCode: 530 });
    expect(server.stats.authAttempts).toBe(0);
  });

  it('answers MAIL after STARTTLS but without AUTH with the multi-line 530 5.7.0', async () => {
    server = await startGmailServer();

    const sending = gmailTransport(server, { auth: undefined }).sendMail(alert);

    await expect(sending).rejects.toMatchObject({
      responseCode: 530,
      response: expect.stringMatching(/^530-5\.7\.0 Authentication Required.*\n530 5\.7\.0 {2}https:/),
    });
  });

  it('answers a message over the advertised SIZE with 552 5.3.4', async () => {
    server = await startGmailServer({ size: 1_024 });

    const sending = gmailTransport(server).sendMail({ ...alert, text: 'x'.repeat(4_096) });

    await expect(sending).rejects.toMatchObject({
      responseCode: 552,
      response: expect.stringMatching(/^552-5\.3\.4 /),
    });
    expect(server.stats.messages).toBe(0);
  });

  it('answers a wrong App Password with the multi-line 535 5.7.8', async () => {
    server = await startGmailServer();

    const sending = gmailTransport(server, { auth: { user: testGmailAccount.user, pass: 'wrong' } }).sendMail(
      alert,
    );

    await expect(sending).rejects.toMatchObject({
      code: 'EAUTH',
      responseCode: 535,
      response: expect.stringMatching(
        /^535-5\.7\.8 Username and Password not accepted.*\n535 5\.7\.8 {2}https:/,
      ),
    });
    expect(server.stats).toMatchObject({ authAttempts: 1, authSuccesses: 0, messages: 0 });
  });

  it('makes a STARTTLS-requiring client fail with ETLS, before AUTH, when STARTTLS is not offered', async () => {
    server = await startGmailServer({ offerStartTls: false });

    const sending = gmailTransport(server).sendMail(alert);

    await expect(sending).rejects.toMatchObject({ code: 'ETLS' });
    expect(server.stats).toMatchObject({ tlsHandshakes: 0, authAttempts: 0 });
  });

  // The code nodemailer gives a refusal at each stage of the session.
  const nodemailerCodeAt: Record<SmtpStage, string> = {
    greeting: 'EPROTOCOL',
    auth: 'EAUTH',
    mail: 'EENVELOPE',
    rcpt: 'EENVELOPE',
    data: 'EMESSAGE',
  };
  it.each<[SmtpStage, keyof typeof gmailReplies]>([
    ['greeting', 'tryAgainLater'],
    ['auth', 'tooManyLoginAttempts'],
    ['auth', 'applicationSpecificPasswordRequired'],
    ['mail', 'dailyLimitExceeded'],
    ['rcpt', 'noSuchUser'],
    ['data', 'messageTooBig'],
  ])('injects a %s fault (%s) once, then behaves again', async (at, reply) => {
    server = await startGmailServer();
    server.failNext({ at, ...gmailReplies[reply] });
    const transport = gmailTransport(server);

    const failed = transport.sendMail(alert);

    await expect(failed).rejects.toMatchObject({
      code: nodemailerCodeAt[at],
      responseCode: gmailReplies[reply].code,
    });
    await expect(transport.sendMail(alert)).resolves.toMatchObject({ accepted: [alert.to] });
    expect(server.stats.messages).toBe(1);
  });

  it('refuses recipients beyond maxRecipients with 452 4.5.3', async () => {
    server = await startGmailServer({ maxRecipients: 2 });
    const to = ['a@example.com', 'b@example.com', 'c@example.com'];

    const info = await gmailTransport(server).sendMail({ ...alert, to });

    expect(info.rejected).toEqual(['c@example.com']);
    expect(info.rejectedErrors?.[0]).toMatchObject({ responseCode: 452 });
    expect(server.messages[0]?.envelope.to).toEqual(['a@example.com', 'b@example.com']);
  });

  it.each([
    ['550 5.1.1', gmailReplies.noSuchUser],
    ['450 4.2.1', gmailReplies.recipientRateLimited],
    ['450 4.2.1 (relay)', gmailReplies.peakRelayLimitExceeded],
  ] as const)('refuses one named recipient with %s and accepts the others', async (_name, reply) => {
    server = await startGmailServer();
    server.failRecipient('Gone@Example.com', reply);
    const to = ['a@example.com', 'gone@example.com', 'b@example.com'];

    const info = await gmailTransport(server).sendMail({ ...alert, to });

    expect(info.rejected).toEqual(['gone@example.com']);
    expect(info.rejectedErrors?.[0]).toMatchObject({ responseCode: reply.code });
    expect(info.rejectedErrors?.[0]?.response).toContain(reply.message.split('\n')[0]);
    expect(server.messages[0]?.envelope.to).toEqual(['a@example.com', 'b@example.com']);
  });

  it('refuses a named recipient only the given number of times', async () => {
    server = await startGmailServer();
    server.failRecipient('gone@example.com', gmailReplies.recipientRateLimited, 1);
    const transport = gmailTransport(server);

    const first = await transport.sendMail({ ...alert, to: ['a@example.com', 'gone@example.com'] });
    const second = await transport.sendMail({ ...alert, to: ['a@example.com', 'gone@example.com'] });

    expect(first.rejected).toEqual(['gone@example.com']);
    expect(second.rejected).toEqual([]);
    expect(server.messages.map((message) => message.envelope.to)).toEqual([
      ['a@example.com'],
      ['a@example.com', 'gone@example.com'],
    ]);
  });

  it.each(['fin', 'rst'] as const)('drops idle pooled connections with %s', async (mode) => {
    server = await startGmailServer();
    const transport = gmailTransport(server, { pool: true });
    transport.on('error', () => {});
    await transport.sendMail(alert);
    expect(server.openConnections).toBe(1);

    server.dropConnections(mode);

    await vi.waitFor(() => expect(server.openConnections).toBe(0));
    await transport.sendMail(alert);
    expect(server.stats).toMatchObject({ connections: 2, messages: 2 });
    transport.close();
  });
});

/**
 * Starts a loopback endpoint for the enclosing describe block and gives each test a real SDK client
 * that finds it through `endpointVariable`, as a function's client finds AWS, with throwaway credentials.
 */
function sdkWithEndpoint<
  Endpoint extends { url: string; close(): Promise<void> },
  Client extends { destroy(): void },
>(
  endpointVariable: string,
  startEndpoint: () => Promise<Endpoint>,
  createClient: () => Client,
): { endpoint: Endpoint; client: Client } {
  const aws = {} as { endpoint: Endpoint; client: Client };
  beforeAll(async () => {
    aws.endpoint = await startEndpoint();
  });
  beforeEach(() => {
    vi.stubEnv(endpointVariable, aws.endpoint.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    aws.client = createClient();
  });
  afterEach(() => {
    aws.client.destroy();
    vi.unstubAllEnvs();
  });
  afterAll(() => aws.endpoint.close());
  return aws;
}

describe('Secrets Manager endpoint', () => {
  const aws = sdkWithEndpoint(
    'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    () => startSecretsEndpoint({ secrets: { 'gmail-alerts/smtp': '{"password":"abcdefghijklmnop"}' } }),
    () => new SecretsManagerClient({}),
  );

  it('answers GetSecretValue by name and by ARN for the real SDK client', async () => {
    const calls = aws.endpoint.calls;
    const byName = await aws.client.send(new GetSecretValueCommand({ SecretId: 'gmail-alerts/smtp' }));
    const byArn = await aws.client.send(
      new GetSecretValueCommand({ SecretId: aws.endpoint.arnOf('gmail-alerts/smtp') }),
    );

    expect(byName).toMatchObject({
      Name: 'gmail-alerts/smtp',
      SecretString: '{"password":"abcdefghijklmnop"}',
    });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect(byArn.ARN).toBe(byName.ARN);
    expect(aws.endpoint.calls - calls).toBe(2);
    expect(aws.endpoint.callsFor('gmail-alerts/smtp')).toBeGreaterThanOrEqual(1);
  });

  it('reports an unknown secret as ResourceNotFoundException', async () => {
    const sending = aws.client.send(new GetSecretValueCommand({ SecretId: 'missing' }));

    await expect(sending).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('serves a rotated value with a new VersionId', async () => {
    const before = await aws.client.send(new GetSecretValueCommand({ SecretId: 'gmail-alerts/smtp' }));
    aws.endpoint.setSecret('gmail-alerts/smtp', '{"password":"ponmlkjihgfedcba"}');

    const after = await aws.client.send(new GetSecretValueCommand({ SecretId: 'gmail-alerts/smtp' }));

    expect(after.SecretString).toBe('{"password":"ponmlkjihgfedcba"}');
    expect(after.VersionId).not.toBe(before.VersionId);
  });

  it('injects throttling, which the SDK retries, and internal errors, which exhaust its attempts', async () => {
    aws.endpoint.failNext('throttle');
    const calls = aws.endpoint.calls;
    await aws.client.send(new GetSecretValueCommand({ SecretId: 'gmail-alerts/smtp' }));
    expect(aws.endpoint.calls - calls).toBe(2);

    aws.endpoint.failNext('internal', 2);
    const once = new SecretsManagerClient({ maxAttempts: 2 });
    await expect(
      once.send(new GetSecretValueCommand({ SecretId: 'gmail-alerts/smtp' })),
    ).rejects.toMatchObject({
      name: 'InternalServiceError',
      $metadata: { httpStatusCode: 500, attempts: 2 },
    });
    once.destroy();
  });
});

describe('SQS endpoint', () => {
  const aws = sdkWithEndpoint(
    'AWS_ENDPOINT_URL_SQS',
    () => startSqsEndpoint(),
    () => new SQSClient({}),
  );

  it('stores SendMessage with attributes and delay, answering the MD5s the SDK checks', async () => {
    const QueueUrl = aws.endpoint.queueUrl('alerts');
    const MessageAttributes = {
      severity: { DataType: 'String', StringValue: 'critical' },
      attempt: { DataType: 'Number', StringValue: '2' },
      blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
    };

    const output = await aws.client.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: '{"subject":"Disk full"}',
        DelaySeconds: 5,
        MessageAttributes,
      }),
    );

    const [stored] = aws.endpoint.messages(QueueUrl);
    expect(stored).toMatchObject({
      MessageId: output.MessageId,
      Body: '{"subject":"Disk full"}',
      DelaySeconds: 5,
    });
    expect(stored?.MessageAttributes.blob).toEqual({ DataType: 'Binary', BinaryValue: 'AQID' });
    expect(output.MD5OfMessageAttributes).toBe(md5OfMessageAttributes(stored?.MessageAttributes ?? {}));
  });

  it('stores SendMessageBatch entries in order and retries an injected failure', async () => {
    const QueueUrl = aws.endpoint.queueUrl('batch');
    aws.endpoint.failNext(1);
    const calls = aws.endpoint.calls;

    const output = await aws.client.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'first' },
          { Id: 'b', MessageBody: 'second', DelaySeconds: 10 },
        ],
      }),
    );

    expect(output.Successful?.map((entry) => entry.Id)).toEqual(['a', 'b']);
    expect(aws.endpoint.messages(QueueUrl).map((message) => message.Body)).toEqual(['first', 'second']);
    expect(aws.endpoint.calls - calls).toBe(2);
  });
});

describe('TCP proxy', () => {
  /** An echo server behind a proxy, and a client connected through the proxy that keeps what comes back. */
  async function echoThroughProxy(options: { oneWayDelayMs?: number } = {}) {
    // resetAll() resets the upstream side too, so the echo socket must expect ECONNRESET.
    const echo = createTcpServer((socket) => socket.on('error', () => {}).pipe(socket));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const port = (echo.address() as { port: number }).port;
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port }, ...options });
    const socket = tcpConnect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    const close = async () => {
      socket.destroy();
      await proxy.close();
      echo.close();
    };
    return { proxy, socket, received: () => received, close };
  }

  it('adds the one-way delay in each direction and keeps byte order', async () => {
    const { proxy, socket, received, close } = await echoThroughProxy({ oneWayDelayMs: 40 });

    const started = performance.now();
    for (const part of ['a', 'b', 'c']) socket.write(part);
    await vi.waitFor(() => expect(received()).toBe('abc'));

    expect(performance.now() - started).toBeGreaterThanOrEqual(79);
    expect(proxy.connections).toBe(1);
    await close();
  });

  it('holds bytes while blackholed, then releases them; resets clients on resetAll', async () => {
    const { proxy, socket, received, close } = await echoThroughProxy();

    proxy.blackhole(true);
    socket.write('held');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received()).toBe('');
    proxy.blackhole(false);
    await vi.waitFor(() => expect(received()).toBe('held'));

    proxy.resetAll();
    const [error] = await once(socket, 'error');
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    await close();
  });

  it('ends clients cleanly on finAll', async () => {
    const { proxy, socket, close } = await echoThroughProxy();

    proxy.finAll();

    await once(socket.resume(), 'end');
    await close();
  });

  it('carries a whole SMTP session through the delay, QUIT and FIN included', async () => {
    const server = await startGmailServer();
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: server.port }, oneWayDelayMs: 5 });

    await gmailTransport(proxy).sendMail(alert);

    expect(server.stats.messages).toBe(1);
    expect(proxy.connections).toBe(1);
    await vi.waitFor(() => expect(proxy.openConnections).toBe(0));
    await proxy.close();
    await server.close();
  });

  it('makes a silent path time out the SMTP greeting', async () => {
    const server = await startGmailServer();
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: server.port } });
    proxy.blackhole(true);

    const sending = gmailTransport(proxy, { greetingTimeout: 200 }).sendMail(alert);

    await expect(sending).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await proxy.close();
    await server.close();
  });
});

describe('fixtures', () => {
  it('creates a Lambda context whose remaining time counts down', async () => {
    const context = createLambdaContext({ timeoutMs: 1_000 });

    // Node may fire a 20 ms timer a millisecond early; the context must still have counted it.
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(985);
    expect(context.awsRequestId).not.toBe(createLambdaContext().awsRequestId);
  });

  it('loads events only by plain name', () => {
    expect(() => loadEvent('../package')).toThrow(/plain file name/);
  });
});

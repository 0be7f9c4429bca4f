import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { type GmailServer, startGmailServer, testGmailAccount } from '../local/gmail-server.ts';
import { type SecretsEndpoint, startSecretsEndpoint } from '../local/secrets-endpoint.ts';
import { type SqsEndpoint, startSqsEndpoint } from '../local/sqs-endpoint.ts';
import { createTestPki, writeTestPki } from '../local/tls.ts';
import { startLatencyProxy } from './latency-proxy.ts';

/** The Secrets Manager secret every benchmarked function reads. */
export const SECRET_ID = 'bench/gmail';
/** The recipient of every benchmark alert (ALERT_TO). */
export const ALERT_TO = 'oncall@example.com';

/** What the loopback world has counted so far; scenarios report the difference. */
export interface PeerCounters {
  connections: number;
  tlsHandshakes: number;
  authAttempts: number;
  messages: number;
  /** SMTP round trips on the wire (client flights the server answered), summed over connections. */
  smtpRoundTrips: number;
  secretFetches: number;
}

export interface BenchPeers {
  /** Round trip through the proxy in ms (twice its one-way delay). */
  readonly rttMs: number;
  /** The environment a function gets: configuration contract, SDK endpoints, the test CA. */
  readonly functionEnv: Record<string, string>;
  /** What to add to `functionEnv` to reach the implicit-TLS server (as on port 465) instead. */
  readonly implicitTlsEnv: Record<string, string>;
  /** STARTTLS, as smtp.gmail.com:587. */
  readonly gmail: GmailServer;
  /** Implicit TLS, as smtp.gmail.com:465. */
  readonly gmailImplicitTls: GmailServer;
  readonly secrets: SecretsEndpoint;
  readonly sqs: SqsEndpoint;
  counters(): PeerCounters;
  close(): Promise<void>;
}

/**
 * Starts the loopback world of the integration tests, arranged for a latency measurement: the
 * Gmail-like server (STARTTLS, AUTH, certificate from a throwaway CA; a second one with implicit TLS)
 * behind TCP proxies that delay every chunk by half the RTT in each direction, a Secrets Manager
 * endpoint with its own delay, and SQS.
 */
export async function startBenchPeers(options: {
  rttMs: number;
  secretDelayMs: number;
}): Promise<BenchPeers> {
  const pkiDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-bench-'));
  const pki = await createTestPki();
  const files = await writeTestPki(pkiDir, pki);
  const tls = { cert: pki.certPem, key: pki.keyPem };
  const gmail = await startGmailServer({ tls });
  const gmailImplicitTls = await startGmailServer({ tls, secure: true });
  const proxy = await startLatencyProxy({
    target: { host: gmail.host, port: gmail.port },
    oneWayDelayMs: options.rttMs / 2,
  });
  const implicitTlsProxy = await startLatencyProxy({
    target: { host: gmailImplicitTls.host, port: gmailImplicitTls.port },
    oneWayDelayMs: options.rttMs / 2,
  });
  const secrets = await startSecretsEndpoint({
    secrets: {
      [SECRET_ID]: JSON.stringify({ username: testGmailAccount.user, password: testGmailAccount.pass }),
    },
  });
  secrets.delayMs = options.secretDelayMs;
  const sqs = await startSqsEndpoint();

  const functionEnv: Record<string, string> = {
    GMAIL_SECRET_ID: SECRET_ID,
    SMTP_HOST: proxy.host,
    SMTP_PORT: String(proxy.port),
    ALERT_TO,
    ALERT_QUEUE_URL: sqs.queueUrl('gmail-alerts-queue'),
    ALERT_DLQ_URL: sqs.queueUrl('gmail-alerts-dlq'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
    AWS_SECRET_ACCESS_KEY: 'benchmark-secret-key',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    // Node reads this at start-up only: the child trusts the loopback server's CA, verification stays on.
    NODE_EXTRA_CA_CERTS: files.caFile,
    POWERTOOLS_SERVICE_NAME: 'gmail-alerts-bench',
  };

  const servers = [gmail, gmailImplicitTls];
  // The servers parse every message before answering it (mailparser): warm that code up, so the
  // first scenario does not pay for the server's own cold start.
  for (const server of servers) {
    const transport = createTransport({
      host: server.host,
      port: server.port,
      secure: server === gmailImplicitTls,
      requireTLS: true,
      tls: { ca: pki.caPem, servername: 'localhost' },
      auth: { user: testGmailAccount.user, pass: testGmailAccount.pass },
    });
    for (let message = 0; message < 5; message += 1) {
      await transport.sendMail({
        from: testGmailAccount.user,
        to: ALERT_TO,
        subject: 'warm-up',
        text: 'warm-up',
      });
    }
    transport.close();
  }
  const total = (stat: 'connections' | 'tlsHandshakes' | 'authAttempts' | 'messages') =>
    servers.reduce((sum, server) => sum + server.stats[stat], 0);
  return {
    rttMs: options.rttMs,
    functionEnv,
    implicitTlsEnv: { SMTP_PORT: String(implicitTlsProxy.port), SMTP_SECURE: 'true' },
    gmail,
    gmailImplicitTls,
    secrets,
    sqs,
    counters: () => ({
      connections: total('connections'),
      tlsHandshakes: total('tlsHandshakes'),
      authAttempts: total('authAttempts'),
      messages: total('messages'),
      smtpRoundTrips: proxy.roundTrips + implicitTlsProxy.roundTrips,
      secretFetches: secrets.calls,
    }),
    async close() {
      await Promise.all([
        ...servers.map((server) => server.close()),
        proxy.close(),
        implicitTlsProxy.close(),
        secrets.close(),
        sqs.close(),
      ]);
      await rm(pkiDir, { recursive: true, force: true });
    },
  };
}

/** `after − before`, field by field. */
export function countersSince(before: PeerCounters, after: PeerCounters): PeerCounters {
  return {
    connections: after.connections - before.connections,
    tlsHandshakes: after.tlsHandshakes - before.tlsHandshakes,
    authAttempts: after.authAttempts - before.authAttempts,
    messages: after.messages - before.messages,
    smtpRoundTrips: after.smtpRoundTrips - before.smtpRoundTrips,
    secretFetches: after.secretFetches - before.secretFetches,
  };
}

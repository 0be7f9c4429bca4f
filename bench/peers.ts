import { createTransport } from 'nodemailer';
import type { GmailServer } from '../local/gmail-server.ts';
import { functionEnvironment, type LocalCloud, startLocalCloud } from '../local/local-cloud.ts';
import type { SecretsEndpoint } from '../local/secrets-endpoint.ts';
import type { SqsEndpoint } from '../local/sqs-endpoint.ts';

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
  /** DynamoDB requests (the state table), and how many serial rounds they took. */
  stateRequests: number;
  stateRounds: number;
}

export interface BenchPeers {
  /** Round trip through the proxy in ms (twice its one-way delay). */
  readonly rttMs: number;
  /** The environment a function gets: configuration contract, SDK endpoints, the test CA. */
  readonly functionEnv: Record<string, string>;
  /** The environment that reaches the implicit-TLS server (as on port 465) instead. */
  readonly implicitTlsEnv: Record<string, string>;
  /** STARTTLS, as smtp.gmail.com:587. */
  readonly gmail: GmailServer;
  /** Implicit TLS, as smtp.gmail.com:465. */
  readonly gmailImplicitTls: GmailServer;
  readonly secrets: SecretsEndpoint;
  readonly sqs: SqsEndpoint;
  counters(): PeerCounters;
  /** When the servers last received a message (epoch ms, sub-millisecond); 0 before any. */
  lastMessageAt(): number;
  close(): Promise<void>;
}

/**
 * Starts the loopback world of the integration tests, arranged for a latency measurement: the
 * Gmail-like server (STARTTLS, AUTH, certificate from a throwaway CA; a second one with implicit TLS)
 * behind TCP proxies that delay every chunk by half the RTT in each direction, a Secrets Manager
 * endpoint with its own delay, SQS, and the state table (dynalite) behind a proxy of its own, at
 * in-region DynamoDB latency.
 */
export async function startBenchPeers(options: {
  rttMs: number;
  secretDelayMs: number;
  stateRttMs: number;
}): Promise<BenchPeers> {
  const cloud = await startLocalCloud({
    secretId: SECRET_ID,
    freshCa: true,
    implicitTlsServer: true,
    smtpProxy: { oneWayDelayMs: options.rttMs / 2 },
    secretDelayMs: options.secretDelayMs,
    stateProxy: { oneWayDelayMs: options.stateRttMs / 2 },
    // As the stack deploys it: keyed alerts carry a signed silence link (its key is a second secret).
    silenceBaseUrl: 'https://alerts.example.com',
    // Every alert has a key of its own, so the repeat interval works as deployed and mails each one;
    // thousands of them must not reach the quota guard's digests.
    settings: {
      alertTo: [ALERT_TO],
      serviceName: 'gmail-alerts-bench',
      gmailDailyLimit: 100_000,
    },
  });
  const gmailImplicitTls = cloud.gmailImplicitTls as GmailServer;
  const servers = [cloud.gmail, gmailImplicitTls];
  await warmUp(cloud, servers);
  const total = (stat: 'connections' | 'tlsHandshakes' | 'authAttempts' | 'messages') =>
    servers.reduce((sum, server) => sum + server.stats[stat], 0);
  return {
    rttMs: options.rttMs,
    functionEnv: cloud.env,
    implicitTlsEnv: functionEnvironment(cloud, { implicitTls: true }),
    gmail: cloud.gmail,
    gmailImplicitTls,
    secrets: cloud.secrets,
    sqs: cloud.sqs,
    counters: () => ({
      connections: total('connections'),
      tlsHandshakes: total('tlsHandshakes'),
      authAttempts: total('authAttempts'),
      messages: total('messages'),
      smtpRoundTrips: (cloud.smtpProxy?.roundTrips ?? 0) + (cloud.implicitTlsProxy?.roundTrips ?? 0),
      secretFetches: cloud.secrets.calls,
      stateRequests: cloud.stateTableProxy?.roundTrips ?? 0,
      stateRounds: cloud.stateTableProxy?.rounds ?? 0,
    }),
    lastMessageAt: () => Math.max(0, ...servers.map((server) => server.messages.at(-1)?.receivedAt ?? 0)),
    close: () => cloud.close(),
  };
}

/**
 * The servers parse every message before answering it (mailparser): warm that code up, so the first
 * scenario does not pay for the server's own cold start.
 */
async function warmUp(cloud: LocalCloud, servers: GmailServer[]): Promise<void> {
  for (const server of servers) {
    const transport = createTransport({
      host: server.host,
      port: server.port,
      secure: server.secure,
      requireTLS: true,
      tls: { ca: cloud.ca?.pem, servername: 'localhost' },
      auth: { user: cloud.account.user, pass: cloud.account.pass },
    });
    for (let message = 0; message < 5; message += 1) {
      await transport.sendMail({
        from: cloud.account.user,
        to: ALERT_TO,
        subject: 'warm-up',
        text: 'warm-up',
      });
    }
    transport.close();
  }
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
    stateRequests: after.stateRequests - before.stateRequests,
    stateRounds: after.stateRounds - before.stateRounds,
  };
}

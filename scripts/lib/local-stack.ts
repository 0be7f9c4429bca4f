// The local stand-ins for Gmail, Secrets Manager and SQS, on loopback, and the configuration contract
// that points the real handlers at them. Built from the very peers the integration tests use.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GmailServer, startGmailServer, testGmailAccount } from '../../local/gmail-server.ts';
import { MAX_RECEIVE_COUNT } from '../../local/queue-relay.ts';
import { type SecretsEndpoint, startSecretsEndpoint } from '../../local/secrets-endpoint.ts';
import { type SqsEndpoint, startSqsEndpoint } from '../../local/sqs-endpoint.ts';
import { createTestPki, writeTestPki } from '../../local/tls.ts';
import { type Outbox, type OutboxEntry, openOutbox } from './outbox.ts';

/** The demo account: what the local secret holds and the local Gmail-like server accepts. */
export const DEMO_ACCOUNT = testGmailAccount;
export const DEMO_SECRET_ID = 'local/gmail-alerts';
export const DEMO_ALERT_TO = 'oncall@example.com';
export const DEMO_ALLOWED_RECIPIENTS = '@example.com';

export interface LocalStack {
  gmail: GmailServer;
  secrets: SecretsEndpoint;
  sqs: SqsEndpoint;
  outbox: Outbox;
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** The throwaway CA that signed the Gmail-like server's certificate. */
  caFile: string;
  /** The functions' environment: the configuration contract, pointed at the local pieces. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  outboxDir: string;
  /** Called for every message the Gmail-like server accepted, after it is saved. */
  onMail?: (entry: OutboxEntry) => void;
}

/** Starts the Gmail-like SMTP server (with a fresh CA), Secrets Manager with the demo secret, and SQS. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const pkiDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-local-'));
  const pki = await createTestPki();
  const { caFile } = await writeTestPki(pkiDir, pki);
  const outbox = await openOutbox(options.outboxDir);
  const gmail = await startGmailServer({
    tls: { cert: pki.certPem, key: pki.keyPem },
    onMessage: async (message) => {
      const entry = await outbox.save(message.raw);
      options.onMail?.(entry);
    },
  });
  const secrets = await startSecretsEndpoint({
    secrets: {
      [DEMO_SECRET_ID]: JSON.stringify({ username: DEMO_ACCOUNT.user, password: DEMO_ACCOUNT.pass }),
    },
  });
  const sqs = await startSqsEndpoint();
  const queueUrl = sqs.queueUrl('gmail-alerts-queue');
  const deadLetterQueueUrl = sqs.queueUrl('gmail-alerts-dlq');

  const env: Record<string, string> = {
    GMAIL_SECRET_ID: DEMO_SECRET_ID,
    SMTP_HOST: gmail.host,
    SMTP_PORT: String(gmail.port),
    SMTP_SECURE: 'false',
    ALERT_TO: DEMO_ALERT_TO,
    ALERT_ALLOWED_RECIPIENTS: DEMO_ALLOWED_RECIPIENTS,
    ALERT_QUEUE_URL: queueUrl,
    ALERT_DLQ_URL: deadLetterQueueUrl,
    // The local relay's maxReceiveCount, as the stack sets the queue's.
    ALERT_MAX_RECEIVES: String(MAX_RECEIVE_COUNT),
    AWS_REGION: 'us-east-1',
    // The local endpoints want a signed request, as AWS does; they do not check the signature.
    AWS_ACCESS_KEY_ID: 'AKIALOCALONLY',
    AWS_SECRET_ACCESS_KEY: 'local-only',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    NODE_EXTRA_CA_CERTS: caFile,
    POWERTOOLS_SERVICE_NAME: 'gmail-alerts',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    TZ: 'UTC',
  };

  return {
    gmail,
    secrets,
    sqs,
    outbox,
    queueUrl,
    deadLetterQueueUrl,
    caFile,
    env,
    async close() {
      await Promise.allSettled([gmail.close(), secrets.close(), sqs.close()]);
      await rm(pkiDir, { recursive: true, force: true });
    },
  };
}

import {
  type GmailServer,
  type GmailServerOptions,
  startGmailServer,
  testGmailAccount,
} from '../../local/gmail-server.ts';
import { type SecretsEndpoint, startSecretsEndpoint } from '../../local/secrets-endpoint.ts';
import { type SqsEndpoint, startSqsEndpoint } from '../../local/sqs-endpoint.ts';

export const SECRET_ID = 'gmail-alerts/app-password';
/** The test account's App Password as Google shows it: four groups of four. */
export const SPACED_PASSWORD = testGmailAccount.pass.replace(/(.{4})(?!$)/g, '$1 ');

/** The loopback stand-ins for Gmail, Secrets Manager and SQS, and the environment that points a handler at them. */
export interface AlertEnvironment {
  gmail: GmailServer;
  secrets: SecretsEndpoint;
  sqs: SqsEndpoint;
  queueUrl: string;
  deadLetterQueueUrl: string;
  env: Record<string, string>;
  /** Sets `env` (plus `overrides`) on process.env, for the next cold start. */
  apply(overrides?: Record<string, string | undefined>): void;
  close(): Promise<void>;
}

/**
 * Starts the Gmail-like server, a Secrets Manager endpoint holding the test account's secret and an
 * SQS endpoint, and builds the configuration contract for them.
 */
export async function startAlertEnvironment(
  gmailOptions: GmailServerOptions = {},
): Promise<AlertEnvironment> {
  const gmail = await startGmailServer(gmailOptions);
  const secrets = await startSecretsEndpoint({
    secrets: { [SECRET_ID]: JSON.stringify({ username: testGmailAccount.user, password: SPACED_PASSWORD }) },
  });
  const sqs = await startSqsEndpoint();
  const queueUrl = sqs.queueUrl('gmail-alerts-queue');
  const deadLetterQueueUrl = sqs.queueUrl('gmail-alerts-dlq');
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
    AWS_SECRET_ACCESS_KEY: 'local-test-secret',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    GMAIL_SECRET_ID: SECRET_ID,
    // The test certificate names localhost, and certificates are always verified.
    SMTP_HOST: 'localhost',
    SMTP_PORT: String(gmail.port),
    ALERT_TO: 'oncall@example.com',
    ALERT_ALLOWED_RECIPIENTS: 'oncall@example.com,@ops.example.com',
    ALERT_QUEUE_URL: queueUrl,
    ALERT_DLQ_URL: deadLetterQueueUrl,
    SMTP_TIMEOUT_MS: '3000',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
  return {
    gmail,
    secrets,
    sqs,
    queueUrl,
    deadLetterQueueUrl,
    env,
    apply(overrides = {}) {
      for (const [name, value] of Object.entries({ ...env, ...overrides })) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
    async close() {
      await Promise.all([gmail.close(), secrets.close(), sqs.close()]);
    },
  };
}

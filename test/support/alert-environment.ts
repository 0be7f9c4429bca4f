import type { GmailServer, GmailServerOptions } from '../../local/gmail-server.ts';
import { testGmailAccount } from '../../local/gmail-server.ts';
import { startLocalCloud } from '../../local/local-cloud.ts';
import type { SecretsEndpoint } from '../../local/secrets-endpoint.ts';
import type { SqsEndpoint } from '../../local/sqs-endpoint.ts';

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
 * Starts the local cloud for handlers imported into the test process: the test account's secret
 * (spaced, as Google shows it), the PKI of the global setup, quiet logs and short SMTP timeouts.
 */
export async function startAlertEnvironment(
  gmailOptions: GmailServerOptions = {},
): Promise<AlertEnvironment> {
  const cloud = await startLocalCloud({
    secretId: SECRET_ID,
    secretValue: JSON.stringify({ username: testGmailAccount.user, password: SPACED_PASSWORD }),
    gmail: gmailOptions,
    settings: {
      // The test certificate names localhost, and certificates are always verified.
      smtpHost: 'localhost',
      allowedRecipients: ['oncall@example.com', '@ops.example.com'],
      smtpTimeoutMs: 3000,
      logLevel: 'ERROR',
      // These suites send the same sample alert again and again and expect each mail; the repeat
      // interval has its own tests (test/reliability/alert-state.test.ts).
      repeatSeconds: 0,
      // The suites send many alerts to one environment; the quota guard has its own tests.
      gmailDailyLimit: 100_000,
    },
  });
  return {
    gmail: cloud.gmail,
    secrets: cloud.secrets,
    sqs: cloud.sqs,
    queueUrl: cloud.queueUrl,
    deadLetterQueueUrl: cloud.deadLetterQueueUrl,
    env: cloud.env,
    apply(overrides = {}) {
      for (const [name, value] of Object.entries({ ...cloud.env, ...overrides })) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
    close: () => cloud.close(),
  };
}

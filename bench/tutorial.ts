// The baseline: an SQS-triggered alert mailer written the way tutorials write it. The secret is read
// and a new transport is created in every invocation, nodemailer's transport is not pooled (so every
// message opens, upgrades and authenticates its own connection), and the records are sent one after
// another. Same server, same TLS verification, same SDK; only the approach differs.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createTransport } from 'nodemailer';

const secrets = new SecretsManagerClient({});

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.GMAIL_SECRET_ID }));
  const { username, password } = JSON.parse(secret.SecretString ?? '{}') as {
    username: string;
    password: string;
  };
  const transporter = createTransport({
    host: process.env.SMTP_HOST,
    port: Number(process.env.SMTP_PORT),
    secure: false,
    requireTLS: true,
    auth: { user: username, pass: password },
  });
  for (const record of event.Records) {
    const alert = JSON.parse(record.body) as { subject: string; text?: string; severity?: string };
    await transporter.sendMail({
      from: username,
      to: process.env.ALERT_TO,
      subject: `[${(alert.severity ?? 'info').toUpperCase()}] ${alert.subject}`,
      text: alert.text ?? alert.subject,
    });
  }
  return { batchItemFailures: [] };
}

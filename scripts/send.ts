// npm run send: one alert through real Gmail from a laptop, with the functions' own sender and template.
import { parseAlert } from '../functions/core/alert.ts';
import type { AlertConfig } from '../functions/core/config.ts';
import { AlertError } from '../functions/core/errors.ts';
import { fetchGmailCredentials, type GmailCredentials } from '../functions/core/gmail-credentials.ts';
import { smtpServiceOf } from '../functions/core/gmail-replies.ts';
import { GmailSender } from '../functions/core/gmail-sender.ts';
import { normaliseAddress } from '../functions/core/recipients.ts';
import { mailSubject } from '../functions/core/render.ts';
import {
  credentialsShapeProblem,
  loadOperatorConfig,
  shapeAdvice,
} from '../functions/doctor/operator-config.ts';
import * as cli from './lib/cli.ts';

const spec = {
  usage: 'npm run send -- --to <address> --subject <text> [options]',
  summary:
    'Sends one alert through Gmail from this machine, rendered and sent exactly as the functions do it.\n' +
    'Credentials: GMAIL_USER + GMAIL_APP_PASSWORD, or GMAIL_SECRET_ID with your AWS credentials.\n' +
    'SMTP_HOST, SMTP_PORT and SMTP_SECURE work as for the functions (default smtp.gmail.com:587, STARTTLS).',
  options: {
    to: { type: 'string', multiple: true, valueName: 'address', description: 'Recipient (repeatable).' },
    subject: { type: 'string', valueName: 'text', description: 'One line, at most 200 characters.' },
    severity: {
      type: 'string',
      valueName: 'level',
      description: 'critical, high, warning or info (default info).',
    },
    status: {
      type: 'string',
      valueName: 'status',
      description: 'firing (default) or resolved.',
    },
    key: {
      type: 'string',
      valueName: 'key',
      description: 'The dedup key: every mail of one key is one Gmail conversation.',
    },
    text: { type: 'string', valueName: 'text', description: 'The body text.' },
    source: { type: 'string', valueName: 'name', description: 'What raised the alert.' },
    field: {
      type: 'string',
      multiple: true,
      valueName: 'key=value',
      description: 'A detail row (repeatable).',
    },
    link: {
      type: 'string',
      multiple: true,
      valueName: 'title=https://…',
      description: 'A link (repeatable, https only).',
    },
  },
  more: [
    'Examples:\n' +
      '  GMAIL_USER=you@gmail.com GMAIL_APP_PASSWORD="xxxx xxxx xxxx xxxx" npm run send -- --to you@gmail.com --subject "Hello from gmail-alerts"\n' +
      '  GMAIL_SECRET_ID=prod/gmail-alerts npm run send -- --to ops@example.com --subject "Disk full" --severity critical --field host=db-1 --key db-1-disk\n' +
      '  GMAIL_SECRET_ID=prod/gmail-alerts npm run send -- --to ops@example.com --subject "Disk full" --status resolved --key db-1-disk',
    'If it fails, npm run doctor checks the set-up step by step.',
  ],
} as const satisfies cli.CommandSpec;

const pairs = (option: string, entries: string[] | undefined) =>
  (entries ?? []).map((entry) => {
    const at = entry.indexOf('=');
    if (at <= 0) throw new cli.UsageError(`--${option} takes key=value, got "${entry}"`);
    return [entry.slice(0, at), entry.slice(at + 1)] as const;
  });

cli.runCommand(spec, async () => {
  const { values, positionals } = cli.parseCommandLine(spec);
  if (positionals.length > 0) throw new cli.UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  if (!values.to?.length) throw new cli.UsageError('--to is required');
  if (!values.subject) throw new cli.UsageError('--subject is required');
  const to: string[] = [];
  for (const entry of values.to) {
    const checked = normaliseAddress(entry);
    if ('problem' in checked) throw new cli.UsageError(`--to "${entry}" ${checked.problem}`);
    to.push(checked.address);
  }

  let operator: ReturnType<typeof loadOperatorConfig>;
  try {
    operator = loadOperatorConfig(process.env);
  } catch (error) {
    if (error instanceof AlertError) throw new cli.CommandFailedError(`${error.message}\n  ${error.advice}`);
    throw error;
  }
  // The operator names the recipients here, so they are the allow-list; the functions keep theirs.
  const config: AlertConfig = {
    ...operator.config,
    alertTo: to,
    allowedRecipients: { addresses: new Set(to), domains: new Set() },
  };
  let alert: ReturnType<typeof parseAlert>;
  try {
    alert = parseAlert(
      {
        subject: values.subject,
        severity: values.severity ?? 'info',
        ...(values.status ? { status: values.status } : {}),
        ...(values.key ? { dedupKey: values.key } : {}),
        ...(values.text ? { text: values.text } : {}),
        ...(values.source ? { source: values.source } : {}),
        ...(values.field ? { fields: Object.fromEntries(pairs('field', values.field)) } : {}),
        ...(values.link ? { links: pairs('link', values.link).map(([title, url]) => ({ title, url })) } : {}),
      },
      config,
    );
  } catch (error) {
    if (error instanceof AlertError) throw new cli.UsageError(error.message);
    throw error;
  }

  const source = operator.source;
  let credentials: GmailCredentials;
  const reading = cli.progress(
    source.kind === 'secret' ? `reading secret ${source.secretId}` : 'checking the credentials',
  );
  try {
    credentials =
      source.kind === 'direct'
        ? source.credentials
        : await fetchGmailCredentials(source.secretId, { maxAgeSeconds: 0 });
  } catch (error) {
    if (error instanceof AlertError) throw new cli.CommandFailedError(`${error.message}\n  ${error.advice}`);
    throw error;
  } finally {
    reading.clear();
  }
  const service = smtpServiceOf(config.smtp.host);
  const shape = credentialsShapeProblem(credentials, service);
  if (shape) {
    // Not even one attempt: failed logins count towards Gmail's lock-out.
    throw new cli.CommandFailedError(
      `Not sent: ${shape}.\n  ${shapeAdvice(credentials, service)} npm run doctor checks the rest.`,
    );
  }

  const { host, port, secure } = config.smtp;
  const sending = cli.progress(`sending through ${host}:${port} (${secure ? 'implicit TLS' : 'STARTTLS'})`);
  const sender = new GmailSender(config, async () => credentials);
  const started = performance.now();
  try {
    const receipt = await sender.send(alert, { deadlineMs: 30_000 });
    sending.clear();
    process.stdout.write(
      `${cli.mark.ok()} Sent "${mailSubject(alert)}" to ${receipt.accepted.join(', ')} through ${host}:${port} as ${credentials.username} in ${cli.formatDuration(performance.now() - started)}\n  message id ${receipt.messageId}\n`,
    );
    if (receipt.failed.length > 0) {
      const refused = receipt.failed.map(({ address, failure }) => `${address} (${failure.message})`);
      process.stdout.write(`${cli.mark.fail()} Not delivered to: ${refused.join(', ')}\n`);
      return cli.EXIT.failed;
    }
    return cli.EXIT.ok;
  } catch (error) {
    sending.clear();
    if (error instanceof AlertError) {
      throw new cli.CommandFailedError(
        `Not sent: ${error.message}\n  ${error.advice}\n  npm run doctor checks the set-up step by step.`,
      );
    }
    throw error;
  } finally {
    sender.close();
  }
});

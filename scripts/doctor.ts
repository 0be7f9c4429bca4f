// npm run doctor: diagnoses a Gmail SMTP set-up step by step, here or inside the deployed stack.
import { diagnoseGmailSetup } from '../functions/doctor/diagnose.ts';
import * as cli from './lib/cli.ts';
import { invokeDeployedDoctor } from './lib/deployed-doctor.ts';
import { formatReport, formatStep, formatVerdict } from './lib/doctor-report.ts';

const spec = {
  usage: 'npm run doctor -- [options]',
  summary:
    "Checks a Gmail SMTP set-up step by step with the functions' configuration: configuration, secret, App Password\n" +
    'shape, DNS, TCP reach, TLS mode against the port, certificate, AUTH, and optionally a test message.\n' +
    'Stops at the first failure with its cause and its fix; exits 0 only when every check passed.',
  options: {
    to: {
      type: 'string',
      multiple: true,
      valueName: 'address',
      description: 'Also send a test alert to this address (repeatable).',
    },
    timeout: { type: 'string', valueName: 'ms', description: 'Bound for each network step (default 5000).' },
    deployed: {
      type: 'boolean',
      description:
        'Run the checks inside the deployed stack (the doctor function), where alerts really leave.',
    },
    function: {
      type: 'string',
      valueName: 'name',
      description:
        'Doctor function for --deployed (default $DOCTOR_FUNCTION_NAME; stack output DoctorFunctionName).',
    },
    json: { type: 'boolean', description: 'Print the report as JSON.' },
  },
  more: [
    'Configuration (environment, as the functions read it):\n' +
      '  GMAIL_USER + GMAIL_APP_PASSWORD     the account and its App Password, or\n' +
      '  GMAIL_SECRET_ID                     the secret, read with your AWS credentials (AWS_PROFILE, AWS_REGION);\n' +
      '                                      an OAuth secret adds the token request and AUTH XOAUTH2\n' +
      '  GOOGLE_OAUTH_TOKEN_URL              default https://oauth2.googleapis.com/token\n' +
      '  SMTP_HOST, SMTP_PORT, SMTP_SECURE   default smtp.gmail.com, 587, STARTTLS\n' +
      "  ALERT_STATE_TABLE                   the quota guard's table, read only (its quota# items)\n" +
      '  GMAIL_DAILY_LIMIT                   its limit, default 500',
    'Examples:\n' +
      '  GMAIL_USER=you@gmail.com GMAIL_APP_PASSWORD="xxxx xxxx xxxx xxxx" npm run doctor\n' +
      '  GMAIL_SECRET_ID=prod/gmail-alerts npm run doctor -- --to you@example.com\n' +
      '  npm run doctor -- --deployed --function gmail-alerts-Doctor1234',
  ],
} as const satisfies cli.CommandSpec;

cli.runCommand(spec, async () => {
  const { values } = cli.parseCommandLine(spec);
  const timeoutMs = cli.integerOption('timeout', values.timeout, 5_000, 100, 60_000);
  const to = values.to ?? [];
  if (values.deployed) {
    const functionName = values.function ?? process.env.DOCTOR_FUNCTION_NAME;
    if (!functionName) {
      throw new cli.UsageError(
        '--deployed needs --function <name> or DOCTOR_FUNCTION_NAME (stack output DoctorFunctionName)',
      );
    }
    const shown = cli.progress(`invoking ${functionName}`);
    const report = await invokeDeployedDoctor(
      functionName,
      to.length > 0 ? { testMessage: true, to } : {},
    ).finally(() => shown.clear());
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(
        `gmail-alerts doctor, run by the deployed function ${functionName}: ${report.target ?? ''}\n\n`,
      );
      process.stdout.write(`${formatReport(report)}\n`);
    }
    return report.ok ? cli.EXIT.ok : cli.EXIT.failed;
  }

  if (!values.json)
    process.stdout.write('gmail-alerts doctor: checking the Gmail set-up from this machine\n\n');
  let shown: { clear(): void } | undefined;
  const report = await diagnoseGmailSetup({
    env: process.env,
    timeoutMs,
    ...(to.length > 0 ? { testMessage: { to, trustRecipients: true } } : {}),
    onStepStart: (_id, title) => {
      if (!values.json) shown = cli.progress(title);
    },
    onStep: (step) => {
      shown?.clear();
      if (values.json) return;
      if (step.id === 'test-message' && step.status === 'skip') {
        process.stdout.write(`${formatStep({ ...step, detail: 'add --to you@example.com to send one' })}\n`);
      } else process.stdout.write(`${formatStep(step)}\n`);
    },
  });
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`\n${formatVerdict(report)}\n`);
  return report.ok ? cli.EXIT.ok : cli.EXIT.failed;
});

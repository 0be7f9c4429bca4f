// npm run secret:set: puts the Gmail username and App Password (or, with --oauth, an OAuth client and the
// refresh token a browser consent yields) into the secret the functions read.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CONTRACT_DEFAULTS,
  ContractValueError,
  ENVIRONMENT_VARIABLES,
  parseSetting,
} from '../functions/core/config-contract.ts';
import { appPasswordAdvice, SERVICE_REPLIES, smtpServiceOf } from '../functions/core/gmail-replies.ts';
import { normaliseAddress } from '../functions/core/recipients.ts';
import { credentialsShapeProblem } from '../functions/doctor/operator-config.ts';
import * as cli from './lib/cli.ts';
import { GOOGLE_AUTHORIZATION_URL, obtainRefreshToken } from './lib/oauth-consent.ts';
import { ask, askHidden, stdinLines } from './lib/prompt.ts';

/** The stack `npx cdk deploy` creates (STACK_NAME in infra/app.ts) and its output naming the secret. */
const DEFAULT_STACK_NAME = 'GmailAlerts';
const SECRET_OUTPUT = 'GmailSecretArn';

const spec = {
  usage:
    'npm run secret:set -- [--secret-id <name or ARN> | --stack <name>] [--username <address>] [--oauth --client-id <id>]',
  summary:
    'Writes {"username","password"} into the Gmail secret (PutSecretValue). On a terminal it asks for the username and\n' +
    'the App Password (hidden input); from a pipe it reads the username and the password as two lines, or only the\n' +
    'password when --username is given. Checks the shape first (full address, 16-letter App Password) and never\n' +
    'echoes the password.\n' +
    'With --oauth it stores {"username","clientId","clientSecret","refreshToken"} instead: it asks for the OAuth\n' +
    "client's secret (from a pipe: one line), prints a consent URL to open in a browser, receives Google's answer on\n" +
    '127.0.0.1 (PKCE), and exchanges it for a refresh token with the https://mail.google.com/ scope.',
  options: {
    'secret-id': {
      type: 'string',
      valueName: 'id',
      description: `The secret (default $GMAIL_SECRET_ID, else the stack's ${SECRET_OUTPUT} output).`,
    },
    stack: {
      type: 'string',
      valueName: 'name',
      description: `The deployed stack whose ${SECRET_OUTPUT} output names the secret (default ${DEFAULT_STACK_NAME}).`,
    },
    username: {
      type: 'string',
      valueName: 'address',
      description: 'The Gmail address (asked for when not given).',
    },
    oauth: {
      type: 'boolean',
      description: 'Sign in with OAuth 2.0 (XOAUTH2) instead of an App Password: consent in a browser.',
    },
    'client-id': {
      type: 'string',
      valueName: 'id',
      description:
        'With --oauth: the OAuth client ID (…apps.googleusercontent.com; asked for when not given).',
    },
    'authorization-url': {
      type: 'string',
      valueName: 'url',
      description: `With --oauth: the consent page (default ${GOOGLE_AUTHORIZATION_URL}).`,
    },
    'consent-timeout': {
      type: 'string',
      valueName: 's',
      description: 'With --oauth: how long to wait for the consent in the browser (default 300).',
    },
  },
  more: [
    'Examples:\n' +
      `  npm run secret:set                                   # the secret of the deployed ${DEFAULT_STACK_NAME} stack\n` +
      '  npm run secret:set -- --secret-id prod/gmail-alerts\n' +
      '  printf "%s\\n" "$GMAIL_APP_PASSWORD" | npm run secret:set -- --secret-id prod/gmail-alerts --username you@gmail.com\n' +
      '  npm run secret:set -- --oauth --username you@example.com --client-id 1234-abc.apps.googleusercontent.com',
    `The token endpoint is $${ENVIRONMENT_VARIABLES.oauthTokenUrl} (default ${CONTRACT_DEFAULTS.oauthTokenUrl}).`,
    "AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, …); the region is the stack's.\n" +
      'For Amazon SES SMTP credentials set SMTP_HOST=email-smtp.<region>.amazonaws.com: the password is then not\n' +
      'held to the App Password shape.',
  ],
} as const satisfies cli.CommandSpec;

/** What to do about an AWS SDK failure, by its error name; the SDK's messages never carry the value. */
const AWS_HINTS: Record<string, string> = {
  ResourceNotFoundException:
    'The secret does not exist here: deploy the stack (it creates the secret), or check the name and AWS_REGION.',
  AccessDeniedException:
    'Your AWS identity may not write this secret: it needs secretsmanager:PutSecretValue.',
  AccessDenied: 'Your AWS identity may not read the stack: it needs cloudformation:DescribeStacks.',
  CredentialsProviderError:
    'No AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).',
};

const describeAwsError = (error: unknown): { name: string; summary: string } => {
  const { name, message } = error as Error;
  // A bare Error is the SDK's own complaint about its set-up: its message is the explanation.
  return { name, summary: name === 'Error' ? `${name}: ${message}` : name };
};

/** Resolves the client's region up front, so a missing one is reported as such and not as a failed call. */
async function requireRegion(client: { config: { region: () => Promise<string> } }, what: string) {
  try {
    return await client.config.region();
  } catch {
    throw new cli.CommandFailedError(
      `${what}: no AWS region is set.\n    fix: set AWS_REGION to the stack's region (or AWS_PROFILE to a profile with a region).`,
    );
  }
}

/**
 * Finds the secret of a deployed stack: the value of its `GmailSecretArn` output (DescribeStacks).
 * Fails with what to do when there is no region, no credentials, no such stack or no such output.
 */
async function findStackSecret(stackName: string): Promise<string> {
  const client = new CloudFormationClient({ maxAttempts: 2 });
  const what = `Could not find the secret of stack ${stackName}`;
  const otherwise = 'name the secret with --secret-id (or GMAIL_SECRET_ID).';
  const region = await requireRegion(client, `${what} (${SECRET_OUTPUT} output)`);
  const looking = cli.progress(`looking up the ${SECRET_OUTPUT} output of stack ${stackName} in ${region}`);
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = Stacks?.[0];
    const secretArn = stack?.Outputs?.find((output) => output.OutputKey === SECRET_OUTPUT)?.OutputValue;
    if (!secretArn) {
      throw new cli.CommandFailedError(
        `${what}: it has no ${SECRET_OUTPUT} output in ${region} (status ${stack?.StackStatus ?? 'unknown'}).\n` +
          `    fix: wait until the deploy has completed (npx cdk deploy), or ${otherwise}`,
      );
    }
    return secretArn;
  } catch (error) {
    if (error instanceof cli.CommandFailedError) throw error;
    const { name, summary } = describeAwsError(error);
    // CloudFormation answers ValidationError for a stack that does not exist in this account and region.
    const hint =
      name === 'ValidationError'
        ? `No stack ${stackName} in this account and region: deploy it (npx cdk deploy), set AWS_REGION to its region, pass --stack with its name, or ${otherwise}`
        : `${AWS_HINTS[name] ?? 'Check AWS credentials and AWS_REGION.'} Or ${otherwise}`;
    throw new cli.CommandFailedError(`${what} in ${region} (${summary}).\n    fix: ${hint}`);
  } finally {
    looking.clear();
    client.destroy();
  }
}

async function readCredentials(
  username: string | undefined,
): Promise<{ username: string; password: string }> {
  if (process.stdin.isTTY) {
    const user = username ?? (await ask('Gmail address (the full address): '));
    const password = await askHidden('App Password (16 letters; input hidden): ');
    return { username: user, password };
  }
  const lines = await stdinLines();
  const [first, second] = lines;
  if (username !== undefined) {
    if (lines.length !== 1 || !first)
      throw new cli.UsageError('with --username, stdin must hold one line: the App Password');
    return { username, password: first };
  }
  if (lines.length !== 2 || !first || !second) {
    throw new cli.UsageError(
      'stdin must hold two lines, the username and the App Password (or pass --username)',
    );
  }
  return { username: first.trim(), password: second };
}

/** The OAuth client of `--oauth`: the ID from the option or a prompt, the secret hidden or from stdin. */
async function readOAuthClient(
  username: string | undefined,
  clientId: string | undefined,
): Promise<{ username: string; clientId: string; clientSecret: string }> {
  if (process.stdin.isTTY) {
    const user = username ?? (await ask('Gmail address (the full address): '));
    const id = clientId ?? (await ask('OAuth client ID (…apps.googleusercontent.com): '));
    const clientSecret = await askHidden('OAuth client secret (input hidden): ');
    return { username: user, clientId: id.trim(), clientSecret: clientSecret.trim() };
  }
  if (username === undefined || clientId === undefined) {
    throw new cli.UsageError(
      'with --oauth and a pipe, pass --username and --client-id; stdin holds the client secret',
    );
  }
  const lines = await stdinLines();
  if (lines.length !== 1 || !lines[0]?.trim()) {
    throw new cli.UsageError('with --oauth, stdin must hold one line: the OAuth client secret');
  }
  return { username, clientId: clientId.trim(), clientSecret: lines[0].trim() };
}

/** GOOGLE_OAUTH_TOKEN_URL as the functions read it, so consent and functions use the same endpoint. */
function tokenUrl(): string {
  const text = process.env[ENVIRONMENT_VARIABLES.oauthTokenUrl]?.trim();
  if (!text) return CONTRACT_DEFAULTS.oauthTokenUrl;
  try {
    return parseSetting('oauthTokenUrl', text);
  } catch (error) {
    if (error instanceof ContractValueError) throw new cli.UsageError(error.message);
    throw error;
  }
}

/** `--oauth`: the OAuth client, a browser consent, and the secret value with its refresh token. */
async function consentedOAuthSecret(values: {
  username?: string | undefined;
  'client-id'?: string | undefined;
  'authorization-url'?: string | undefined;
  'consent-timeout'?: string | undefined;
}) {
  const timeoutS = cli.integerOption('consent-timeout', values['consent-timeout'], 300, 5, 3600);
  const authorizationUrl = values['authorization-url'] ?? GOOGLE_AUTHORIZATION_URL;
  if (!URL.canParse(authorizationUrl)) throw new cli.UsageError('--authorization-url must be a URL');
  const tokenEndpoint = tokenUrl();
  const typed = await readOAuthClient(values.username, values['client-id']);
  const address = normaliseAddress(typed.username.trim());
  const client = { ...typed, username: 'address' in address ? address.address : typed.username.trim() };
  // Checked with a placeholder refresh token, so a typo costs no trip to the browser.
  const problem = credentialsShapeProblem({ ...client, refreshToken: 'pending' });
  if (problem) {
    throw new cli.CommandFailedError(
      `Not written: ${problem}.\n    fix: copy the client ID of a "Desktop app" OAuth client from Google Cloud console → APIs & Services → Credentials.`,
    );
  }
  const refreshToken = await obtainRefreshToken({
    ...client,
    authorizationUrl,
    tokenUrl: tokenEndpoint,
    timeoutMs: timeoutS * 1000,
    showConsentUrl: (url) =>
      process.stdout.write(
        `Open this URL in a browser, sign in as ${client.username} and allow access to Gmail:\n\n  ${url}\n\n` +
          cli.dim(`  Waiting up to ${timeoutS} s for the browser to come back to this machine…\n`),
      ),
  });
  process.stdout.write(`${cli.mark.ok()} Consent received: a refresh token for ${client.username}\n`);
  return { ...client, refreshToken };
}

/** PutSecretValue with the credentials; reports what was written without any part of its value. */
async function writeSecret(
  client: SecretsManagerClient,
  secretId: string,
  credentials: { username: string },
  what: string,
): Promise<number> {
  const writing = cli.progress(`writing ${secretId}`);
  try {
    const output = await client.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(credentials) }),
    );
    writing.clear();
    process.stdout.write(
      `${cli.mark.ok()} Wrote ${credentials.username} and ${what} to ${output.Name ?? secretId} (version ${output.VersionId ?? '?'}).\n` +
        cli.dim(
          '  Warm functions pick it up within SECRET_CACHE_SECONDS (default 300 s), at once when Gmail refuses the old one.\n' +
            `  Check it: GMAIL_SECRET_ID=${secretId} npm run doctor\n`,
        ),
    );
    return cli.EXIT.ok;
  } catch (error) {
    writing.clear();
    const { name, summary } = describeAwsError(error);
    throw new cli.CommandFailedError(
      `Not written to ${secretId} (${summary}).\n    fix: ${AWS_HINTS[name] ?? 'Check AWS credentials, AWS_REGION and the secret name.'}`,
    );
  }
}

cli.runCommand(spec, async () => {
  const { values, positionals } = cli.parseCommandLine(spec);
  if (positionals.length > 0) throw new cli.UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  if (values['secret-id'] !== undefined && values.stack !== undefined)
    throw new cli.UsageError('name the secret with --secret-id or with --stack, not both');
  // An explicit --stack wins over a GMAIL_SECRET_ID left in the environment.
  const namedSecret =
    values['secret-id'] ??
    (values.stack === undefined
      ? process.env[ENVIRONMENT_VARIABLES.secretId]?.trim() || undefined
      : undefined);
  // Found before the password is asked for, so a missing stack never costs the user a typed password.
  const secretId = namedSecret ?? (await findStackSecret(values.stack ?? DEFAULT_STACK_NAME));
  if (namedSecret === undefined) {
    process.stdout.write(
      `${cli.mark.ok()} Secret: ${secretId} (output ${SECRET_OUTPUT} of stack ${values.stack ?? DEFAULT_STACK_NAME})\n`,
    );
  }

  const client = new SecretsManagerClient({ maxAttempts: 2 });
  await requireRegion(client, `Not written to ${secretId}`);
  if (values.oauth) {
    try {
      const credentials = await consentedOAuthSecret(values);
      return await writeSecret(client, secretId, credentials, 'its OAuth client and refresh token');
    } finally {
      client.destroy();
    }
  }
  for (const option of ['client-id', 'authorization-url', 'consent-timeout'] as const) {
    if (values[option] !== undefined) throw new cli.UsageError(`--${option} goes with --oauth`);
  }
  const typed = await readCredentials(values.username);
  const address = normaliseAddress(typed.username.trim());
  const credentials = {
    username: 'address' in address ? address.address : typed.username.trim(),
    // Google shows the App Password in groups of four; the spaces are cosmetic.
    password: typed.password.replace(/\s+/g, ''),
  };
  // Amazon SES's SMTP passwords are no App Passwords: SMTP_HOST says which service the secret is for.
  const ses =
    smtpServiceOf(process.env[ENVIRONMENT_VARIABLES.smtpHost]?.trim() || 'smtp.gmail.com') === 'ses';
  const problem = credentialsShapeProblem(credentials, ses ? 'ses' : 'gmail');
  if (problem) {
    const fix = ses ? SERVICE_REPLIES.ses.sesCredentials.advice : appPasswordAdvice(credentials.username);
    process.stderr.write(`${cli.mark.fail(process.stderr)} Not written: ${problem}.\n    fix: ${fix}\n`);
    return cli.EXIT.failed;
  }

  try {
    return await writeSecret(client, secretId, credentials, ses ? 'its SMTP password' : 'its App Password');
  } finally {
    client.destroy();
  }
});

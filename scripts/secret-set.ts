// npm run secret:set: puts the Gmail username and App Password into the secret the functions read.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENVIRONMENT_VARIABLES } from '../functions/core/config-contract.ts';
import { appPasswordAdvice } from '../functions/core/gmail-replies.ts';
import { normaliseAddress } from '../functions/core/recipients.ts';
import { credentialsShapeProblem } from '../functions/doctor/operator-config.ts';
import * as cli from './lib/cli.ts';
import { ask, askHidden, stdinLines } from './lib/prompt.ts';

/** The stack `npx cdk deploy` creates (STACK_NAME in infra/app.ts) and its output naming the secret. */
const DEFAULT_STACK_NAME = 'GmailAlerts';
const SECRET_OUTPUT = 'GmailSecretArn';

const spec = {
  usage: 'npm run secret:set -- [--secret-id <name or ARN> | --stack <name>] [--username <address>]',
  summary:
    'Writes {"username","password"} into the Gmail secret (PutSecretValue). On a terminal it asks for the username and\n' +
    'the App Password (hidden input); from a pipe it reads the username and the password as two lines, or only the\n' +
    'password when --username is given. Checks the shape first (full address, 16-letter App Password) and never\n' +
    'echoes the password.',
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
  },
  more: [
    'Examples:\n' +
      `  npm run secret:set                                   # the secret of the deployed ${DEFAULT_STACK_NAME} stack\n` +
      '  npm run secret:set -- --secret-id prod/gmail-alerts\n' +
      '  printf "%s\\n" "$GMAIL_APP_PASSWORD" | npm run secret:set -- --secret-id prod/gmail-alerts --username you@gmail.com',
    "AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, …); the region is the stack's.",
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
  const typed = await readCredentials(values.username);
  const address = normaliseAddress(typed.username.trim());
  const credentials = {
    username: 'address' in address ? address.address : typed.username.trim(),
    // Google shows the App Password in groups of four; the spaces are cosmetic.
    password: typed.password.replace(/\s+/g, ''),
  };
  const problem = credentialsShapeProblem(credentials);
  if (problem) {
    process.stderr.write(
      `${cli.mark.fail(process.stderr)} Not written: ${problem}.\n    fix: ${appPasswordAdvice(credentials.username)}\n`,
    );
    return cli.EXIT.failed;
  }

  const writing = cli.progress(`writing ${secretId}`);
  try {
    const output = await client.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(credentials) }),
    );
    writing.clear();
    process.stdout.write(
      `${cli.mark.ok()} Wrote ${credentials.username} and its App Password to ${output.Name ?? secretId} (version ${output.VersionId ?? '?'}).\n` +
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
  } finally {
    client.destroy();
  }
});

// npm run secret:set: puts the Gmail username and App Password into the secret the functions read.
import {
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { appPasswordAdvice } from '../functions/core/gmail-replies.ts';
import { normaliseAddress } from '../functions/core/recipients.ts';
import { credentialsShapeProblem } from '../functions/doctor/operator-config.ts';
import {
  CommandFailedError,
  type CommandSpec,
  dim,
  EXIT,
  mark,
  parseCommandLine,
  progress,
  runCommand,
  UsageError,
} from './lib/cli.ts';
import { ask, askHidden, stdinLines } from './lib/prompt.ts';

const spec = {
  usage: 'npm run secret:set -- [--secret-id <name or ARN>] [--username <address>]',
  summary:
    'Writes {"username","password"} into the Gmail secret (PutSecretValue). On a terminal it asks for the username and\n' +
    'the App Password (hidden input); from a pipe it reads the username and the password as two lines, or only the\n' +
    'password when --username is given. Checks the shape first (full address, 16-letter App Password) and never\n' +
    'echoes the password.',
  options: {
    'secret-id': {
      type: 'string',
      valueName: 'id',
      description: 'The secret (default $GMAIL_SECRET_ID; stack output GmailSecretArn).',
    },
    username: {
      type: 'string',
      valueName: 'address',
      description: 'The Gmail address (asked for when not given).',
    },
  },
  more: [
    'Examples:\n' +
      '  npm run secret:set -- --secret-id prod/gmail-alerts\n' +
      '  printf "%s\\n" "$GMAIL_APP_PASSWORD" | npm run secret:set -- --secret-id prod/gmail-alerts --username you@gmail.com',
    'AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, …).',
  ],
} as const satisfies CommandSpec;

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
      throw new UsageError('with --username, stdin must hold one line: the App Password');
    return { username, password: first };
  }
  if (lines.length !== 2 || !first || !second) {
    throw new UsageError('stdin must hold two lines, the username and the App Password (or pass --username)');
  }
  return { username: first.trim(), password: second };
}

runCommand(spec, async () => {
  const { values, positionals } = parseCommandLine(spec);
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const secretId = values['secret-id'] ?? process.env.GMAIL_SECRET_ID?.trim();
  if (!secretId)
    throw new UsageError('name the secret with --secret-id or GMAIL_SECRET_ID (stack output GmailSecretArn)');

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
      `${mark.fail(process.stderr)} Not written: ${problem}.\n    fix: ${appPasswordAdvice(credentials.username)}\n`,
    );
    return EXIT.failed;
  }

  const client = new SecretsManagerClient({ maxAttempts: 2 });
  const writing = progress(`writing ${secretId}`);
  try {
    const output = await client.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(credentials) }),
    );
    writing.clear();
    process.stdout.write(
      `${mark.ok()} Wrote ${credentials.username} and its App Password to ${output.Name ?? secretId} (version ${output.VersionId ?? '?'}).\n` +
        dim(
          '  Warm functions pick it up within SECRET_CACHE_SECONDS (default 300 s), at once when Gmail refuses the old one.\n' +
            `  Check it: GMAIL_SECRET_ID=${secretId} npm run doctor\n`,
        ),
    );
    return EXIT.ok;
  } catch (error) {
    writing.clear();
    const name = error instanceof SecretsManagerServiceException ? error.name : (error as Error).name;
    // The SDK's own messages name what is missing ("Region is missing"); they never carry the value.
    const detail = name === 'Error' ? `: ${(error as Error).message}` : '';
    const hints: Record<string, string> = {
      ResourceNotFoundException:
        'The secret does not exist here: deploy the stack (it creates the secret), or check the name and AWS_REGION.',
      AccessDeniedException:
        'Your AWS identity may not write this secret: it needs secretsmanager:PutSecretValue.',
      CredentialsProviderError:
        'No AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).',
    };
    throw new CommandFailedError(
      `Not written to ${secretId} (${name}${detail}).\n    fix: ${hints[name] ?? 'Check AWS credentials, AWS_REGION and the secret name.'}`,
    );
  } finally {
    client.destroy();
  }
});

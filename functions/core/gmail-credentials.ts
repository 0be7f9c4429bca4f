import { createHash } from 'node:crypto';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod/mini';
import { ENVIRONMENT_VARIABLES } from './config-contract.ts';
import { ConfigError, SecretUnavailableError } from './errors.ts';

/** The Gmail account the alerts are sent from. */
export interface GmailCredentials {
  username: string;
  /** The App Password with the cosmetic spaces removed. */
  password: string;
}

// Module scope: one SDK client per container, created lazily on the first fetch.
let provider: SecretsProvider | undefined;

const secretShape = z.object({
  username: z.string().check(z.trim(), z.minLength(1)),
  password: z.string().check(z.minLength(1)),
});

// Secrets Manager errors that a retry will not fix: someone must change the deployment.
const CONFIGURATION_ERRORS = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDeniedFault',
  'DecryptionFailure',
  'InvalidRequestException',
  'InvalidParameterException',
  'ValidationException',
]);

/**
 * Parses the secret's value. The value itself never appears in an error: only which part of the
 * expected shape is missing.
 */
export function parseGmailSecret(value: unknown): GmailCredentials {
  const variable = ENVIRONMENT_VARIABLES.secretId;
  const expected = 'expected JSON {"username":"you@gmail.com","password":"abcd efgh ijkl mnop"}';
  let json: unknown = value;
  if (typeof value === 'string') {
    try {
      json = JSON.parse(value);
    } catch {
      throw new ConfigError(variable, `the secret's value is not JSON; ${expected}`);
    }
  }
  const result = secretShape.safeParse(json);
  if (!result.success) {
    const fields = [...new Set(result.error.issues.map((issue) => String(issue.path[0] ?? 'value')))];
    throw new ConfigError(
      variable,
      `the secret's value has a missing or empty ${fields.join(', ')}; ${expected}`,
    );
  }
  return { username: result.data.username, password: result.data.password.replace(/\s+/g, '') };
}

/**
 * Reads the Gmail credentials through Powertools Parameters, cached for `maxAgeSeconds`.
 * `forceFetch` bypasses the cache (used once after Gmail refuses the password, in case it was rotated).
 */
export async function fetchGmailCredentials(
  secretId: string,
  options: { maxAgeSeconds: number; forceFetch?: boolean },
): Promise<GmailCredentials> {
  provider ??= new SecretsProvider({ clientConfig: { maxAttempts: 2 } });
  let value: unknown;
  try {
    value = await provider.get(secretId, {
      maxAge: options.maxAgeSeconds,
      forceFetch: options.forceFetch ?? false,
    });
  } catch (error) {
    const cause = (error as { cause?: { name?: string } }).cause ?? error;
    const name = (cause as { name?: string }).name ?? 'Error';
    if (CONFIGURATION_ERRORS.has(name)) {
      throw new ConfigError(
        ENVIRONMENT_VARIABLES.secretId,
        `Secrets Manager refused to read "${secretId}" (${name})`,
        'Check the secret name/ARN, that it has a value, and that the function may read it (secretsmanager:GetSecretValue).',
        { cause: error },
      );
    }
    throw new SecretUnavailableError(`Secrets Manager could not be read (${name})`, { cause: error });
  }
  if (value === undefined) {
    throw new ConfigError(
      ENVIRONMENT_VARIABLES.secretId,
      `the secret "${secretId}" has no value`,
      'Put a value into the secret.',
    );
  }
  return parseGmailSecret(value);
}

/** A short fingerprint that identifies a password without keeping another copy of it. */
export function passwordFingerprint(credentials: GmailCredentials): string {
  return createHash('sha256')
    .update(`${credentials.username}\0${credentials.password}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * The SASL PLAIN response for AUTH PLAIN (RFC 4616): base64 of NUL, username, NUL, password. As
 * secret as the password itself: never log it.
 */
export function authPlainToken(credentials: GmailCredentials): string {
  return Buffer.from(`\u0000${credentials.username}\u0000${credentials.password}`, 'utf8').toString('base64');
}

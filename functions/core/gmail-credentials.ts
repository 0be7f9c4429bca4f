import { createHash } from 'node:crypto';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod/mini';
import { ENVIRONMENT_VARIABLES } from './config-contract.ts';
import { ConfigError, SecretUnavailableError } from './errors.ts';
import { secretsClient } from './secrets-client.ts';

/** An account that signs in with an App Password (AUTH PLAIN). */
export interface AppPasswordCredentials {
  username: string;
  /** The App Password with the cosmetic spaces removed (or the SMTP password of a relay such as SES). */
  password: string;
}

/** An account that signs in with OAuth 2.0 (AUTH XOAUTH2): a desktop OAuth client and its refresh token. */
export interface OAuthClientCredentials {
  username: string;
  clientId: string;
  clientSecret: string;
  /** Granted for the https://mail.google.com/ scope. */
  refreshToken: string;
}

/**
 * A Google Workspace service account with domain-wide delegation, acting as `username` (AUTH
 * XOAUTH2 with a token from a signed JWT grant).
 */
export interface ServiceAccountCredentials {
  username: string;
  /** The service account's e-mail address (`client_email` of its key file). */
  serviceClient: string;
  /** The PEM private key (`private_key` of its key file). */
  privateKey: string;
}

/** The account the alerts are sent from, in one of the three shapes the secret may hold. */
export type GmailCredentials = AppPasswordCredentials | OAuthClientCredentials | ServiceAccountCredentials;

/** The credentials that sign in with an OAuth 2.0 access token. */
export type OAuthCredentials = OAuthClientCredentials | ServiceAccountCredentials;

/** Which of the three shapes credentials have: how the account signs in. */
export type CredentialsKind = 'app-password' | 'oauth-client' | 'service-account';

/** How `credentials` sign in. */
export function credentialsKind(credentials: GmailCredentials): CredentialsKind {
  if ('password' in credentials) return 'app-password';
  if ('refreshToken' in credentials) return 'oauth-client';
  return 'service-account';
}

/** Whether `credentials` sign in with an OAuth 2.0 access token (XOAUTH2) rather than a password. */
export function isOAuthCredentials(credentials: GmailCredentials): credentials is OAuthCredentials {
  return credentialsKind(credentials) !== 'app-password';
}

// Module scope: one SDK client per container, created lazily on the first fetch.
let provider: SecretsProvider | undefined;

const present = () => z.string().check(z.trim(), z.minLength(1));

/** The three shapes, each with the fields that identify it. */
const SHAPES = {
  'app-password': {
    fields: ['username', 'password'],
    schema: z.object({ username: present(), password: z.string().check(z.minLength(1)) }),
    example: '{"username":"you@gmail.com","password":"abcd efgh ijkl mnop"}',
  },
  'oauth-client': {
    fields: ['username', 'clientId', 'clientSecret', 'refreshToken'],
    schema: z.object({
      username: present(),
      clientId: present(),
      clientSecret: present(),
      refreshToken: present(),
    }),
    example: '{"username","clientId","clientSecret","refreshToken"}',
  },
  'service-account': {
    fields: ['username', 'serviceClient', 'privateKey'],
    schema: z.object({ username: present(), serviceClient: present(), privateKey: present() }),
    example: '{"username","serviceClient","privateKey"}',
  },
} as const;

const EXPECTED = `expected JSON ${Object.values(SHAPES)
  .map((shape) => shape.example)
  .join(', or ')}`;

/** The one shape whose own fields (other than username) the value has; fields of several are ambiguous. */
function shapeOf(json: unknown): CredentialsKind | 'ambiguous' | 'none' {
  if (typeof json !== 'object' || json === null) return 'none';
  const matches = (Object.keys(SHAPES) as CredentialsKind[]).filter((kind) =>
    SHAPES[kind].fields.some((field) => field !== 'username' && Object.hasOwn(json, field)),
  );
  if (matches.length > 1) return 'ambiguous';
  return matches[0] ?? 'none';
}

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
 * Parses the secret's value: an App Password, an OAuth client with its refresh token, or a service
 * account with domain-wide delegation. No value ever appears in an error: only which fields of which
 * shape are missing.
 */
export function parseGmailSecret(value: unknown): GmailCredentials {
  const variable = ENVIRONMENT_VARIABLES.secretId;
  let json: unknown = value;
  if (typeof value === 'string') {
    try {
      json = JSON.parse(value);
    } catch {
      throw new ConfigError(variable, `the secret's value is not JSON; ${EXPECTED}`);
    }
  }
  const kind = shapeOf(json);
  if (kind === 'ambiguous') {
    throw new ConfigError(variable, `the secret's value mixes the fields of several shapes; ${EXPECTED}`);
  }
  const shape = SHAPES[kind === 'none' ? 'app-password' : kind];
  const result = shape.schema.safeParse(json);
  if (!result.success) {
    const fields = [...new Set(result.error.issues.map((issue) => String(issue.path[0] ?? 'value')))];
    throw new ConfigError(
      variable,
      `the secret's value has a missing or empty ${fields.join(', ')}; ${EXPECTED}`,
    );
  }
  const data = result.data as Record<string, string>;
  const username = data.username ?? '';
  if (kind === 'oauth-client') {
    return {
      username,
      clientId: data.clientId ?? '',
      clientSecret: data.clientSecret ?? '',
      refreshToken: data.refreshToken ?? '',
    };
  }
  if (kind === 'service-account') {
    const privateKey = data.privateKey ?? '';
    if (!/-----BEGIN (?:RSA )?PRIVATE KEY-----/.test(privateKey)) {
      throw new ConfigError(
        variable,
        `the secret's privateKey is not a PEM private key (-----BEGIN PRIVATE KEY-----); ${EXPECTED}`,
      );
    }
    return { username, serviceClient: data.serviceClient ?? '', privateKey };
  }
  return { username, password: (data.password ?? '').replace(/\s+/g, '') };
}

/**
 * Reads the Gmail credentials through Powertools Parameters, cached for `maxAgeSeconds`.
 * `forceFetch` bypasses the cache (used once after Gmail refuses the password, in case it was rotated).
 */
export async function fetchGmailCredentials(
  secretId: string,
  options: { maxAgeSeconds: number; forceFetch?: boolean },
): Promise<GmailCredentials> {
  provider ??= new SecretsProvider({ awsSdkV3Client: secretsClient() });
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

/**
 * A short fingerprint that identifies credentials (the password, or the OAuth client and its refresh
 * token, or the service account and its key) without keeping another copy of them.
 */
export function credentialsFingerprint(credentials: GmailCredentials): string {
  const parts =
    'password' in credentials
      ? [credentials.password]
      : 'refreshToken' in credentials
        ? [credentials.clientId, credentials.clientSecret, credentials.refreshToken]
        : [credentials.serviceClient, credentials.privateKey];
  return createHash('sha256')
    .update([credentials.username, ...parts].join('\0'))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The SASL PLAIN response for AUTH PLAIN (RFC 4616): base64 of NUL, username, NUL, password. As
 * secret as the password itself: never log it.
 */
export function authPlainToken(credentials: AppPasswordCredentials): string {
  return Buffer.from(`\u0000${credentials.username}\u0000${credentials.password}`, 'utf8').toString('base64');
}

/**
 * The SASL XOAUTH2 initial response: base64 of `user=<address>^Aauth=Bearer <token>^A^A` (Google's
 * XOAUTH2 protocol). As secret as the access token itself: never log it.
 */
export function xoauth2Token(username: string, accessToken: string): string {
  return Buffer.from(`user=${username}\u0001auth=Bearer ${accessToken}\u0001\u0001`, 'utf8').toString(
    'base64',
  );
}

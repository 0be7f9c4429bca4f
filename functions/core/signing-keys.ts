import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Alert } from './alert.ts';
import type { AlertConfig } from './config.ts';
import { ENVIRONMENT_VARIABLES } from './config-contract.ts';
import { ConfigError, SecretUnavailableError } from './errors.ts';
import { secretsClient } from './secrets-client.ts';
import { parseSigningKey, signSilenceToken, TOKEN_LIFETIME_SECONDS } from './silence-token.ts';

/** The keys a silence link may be checked with: the current one signs, the previous one still verifies. */
export interface SigningKeys {
  current: string;
  /** Until a rotation has happened, none. */
  previous: string | undefined;
}

// One provider per version stage: Powertools caches by secret name only, so one provider would hand
// the current value back for the previous stage. Both use the container's one client.
let currentProvider: SecretsProvider | undefined;
let previousProvider: SecretsProvider | undefined;

const errorName = (error: unknown) => {
  const cause = (error as { cause?: { name?: string } }).cause ?? error;
  return (cause as { name?: string }).name ?? 'Error';
};

type Stage = 'AWSCURRENT' | 'AWSPREVIOUS';

/** Per secret and version stage: the value being read (no `until` yet) or read, kept until `until`. */
const readings = new Map<string, { value: Promise<unknown>; until?: number }>();

/**
 * One version of the secret through Powertools Parameters, cached for `maxAgeSeconds`. Callers at the
 * same moment (the prefetch at init and the first alert) share one read, and the value is kept as
 * read, "no such version" included, which the providers' own caches do not keep.
 */
function readStage(secretId: string, stage: Stage, maxAgeSeconds: number): Promise<unknown> {
  const key = `${stage}\n${secretId}`;
  const cached = readings.get(key);
  if (cached && (cached.until === undefined || cached.until > Date.now())) return cached.value;
  const reading: { value: Promise<unknown>; until?: number } = {
    value:
      stage === 'AWSCURRENT' ? readCurrent(secretId, maxAgeSeconds) : readPrevious(secretId, maxAgeSeconds),
  };
  readings.set(key, reading);
  reading.value.then(
    () => {
      reading.until = Date.now() + maxAgeSeconds * 1000;
    },
    () => {
      if (readings.get(key) === reading) readings.delete(key);
    },
  );
  return reading.value;
}

async function readCurrent(secretId: string, maxAgeSeconds: number): Promise<unknown> {
  currentProvider ??= new SecretsProvider({ awsSdkV3Client: secretsClient() });
  try {
    return await currentProvider.get(secretId, { maxAge: maxAgeSeconds });
  } catch (error) {
    const name = errorName(error);
    if (name === 'ThrottlingException' || name === 'InternalServiceError' || name === 'TimeoutError') {
      throw new SecretUnavailableError(`Secrets Manager could not be read (${name})`, { cause: error });
    }
    throw new ConfigError(
      ENVIRONMENT_VARIABLES.signingSecretId,
      `Secrets Manager refused to read "${secretId}" (${name})`,
      undefined,
      { cause: error },
    );
  }
}

/** The version before the last rotation; undefined before the first rotation (there is none). */
async function readPrevious(secretId: string, maxAgeSeconds: number): Promise<unknown> {
  previousProvider ??= new SecretsProvider({ awsSdkV3Client: secretsClient() });
  return previousProvider
    .get(secretId, { maxAge: maxAgeSeconds, sdkOptions: { VersionStage: 'AWSPREVIOUS' } })
    .catch(() => undefined);
}

/**
 * The key that signs silence links (AWSCURRENT). Throws {@link ConfigError} when the secret cannot
 * be read or holds no usable key, {@link SecretUnavailableError} when Secrets Manager does not answer.
 */
export async function fetchSigningKey(secretId: string, maxAgeSeconds: number): Promise<string> {
  const value = await readStage(secretId, 'AWSCURRENT', maxAgeSeconds);
  try {
    return parseSigningKey(value);
  } catch (error) {
    throw new ConfigError(ENVIRONMENT_VARIABLES.signingSecretId, (error as Error).message, undefined, {
      cause: error,
    });
  }
}

/**
 * The keys a silence link is checked with: the current one and the one before a rotation
 * (AWSPREVIOUS), read side by side. Throws as {@link fetchSigningKey} does; a previous version that
 * is missing or not a key is left out.
 */
export async function fetchSigningKeys(secretId: string, maxAgeSeconds: number): Promise<SigningKeys> {
  const previousValue = readStage(secretId, 'AWSPREVIOUS', maxAgeSeconds);
  const current = await fetchSigningKey(secretId, maxAgeSeconds);
  let previous: string | undefined;
  try {
    previous = parseSigningKey(await previousValue);
  } catch {
    // No rotation yet (no AWSPREVIOUS version), or an old value that was never a key: only the current key.
    previous = undefined;
  }
  return { current, previous: previous === current ? undefined : previous };
}

/** Who may check a token: this stack's name, which every token names and every check insists on. */
export const tokenScope = (config: Pick<AlertConfig, 'stackName'>) => config.stackName;

/**
 * The "Silence…" link of a keyed alert, signed with the current key, or undefined without
 * ALERT_SILENCE_BASE_URL and ALERT_SIGNING_SECRET_ID or without a key.
 */
export async function silenceLinkOf(
  alert: Pick<Alert, 'dedupKey' | 'subject'>,
  config: Pick<AlertConfig, 'signingSecretId' | 'silenceBaseUrl' | 'stackName' | 'secretCacheSeconds'>,
  nowMs: number = Date.now(),
): Promise<string | undefined> {
  if (!alert.dedupKey || !config.silenceBaseUrl || !config.signingSecretId) return undefined;
  const key = await fetchSigningKey(config.signingSecretId, config.secretCacheSeconds);
  const token = signSilenceToken(
    {
      key: alert.dedupKey,
      subject: alert.subject,
      scope: tokenScope(config),
      expiresAt: Math.floor(nowMs / 1000) + TOKEN_LIFETIME_SECONDS,
    },
    key,
  );
  return `${config.silenceBaseUrl}/silences/${token}`;
}

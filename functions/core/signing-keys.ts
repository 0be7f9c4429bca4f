import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Alert } from './alert.ts';
import type { AlertConfig } from './config.ts';
import { ENVIRONMENT_VARIABLES } from './config-contract.ts';
import { ConfigError, SecretUnavailableError } from './errors.ts';
import { parseSigningKey, signSilenceToken, TOKEN_LIFETIME_SECONDS } from './silence-token.ts';

/** The keys a silence link may be checked with: the current one signs, the previous one still verifies. */
export interface SigningKeys {
  current: string;
  /** Until a rotation has happened, none. */
  previous: string | undefined;
}

// One provider per version stage: Powertools caches by secret name only, so one provider would hand
// the current value back for the previous stage.
let currentProvider: SecretsProvider | undefined;
let previousProvider: SecretsProvider | undefined;

const errorName = (error: unknown) => {
  const cause = (error as { cause?: { name?: string } }).cause ?? error;
  return (cause as { name?: string }).name ?? 'Error';
};

/**
 * Reads the signing key (AWSCURRENT) and the one before a rotation (AWSPREVIOUS) through Powertools
 * Parameters, cached for `maxAgeSeconds`. Throws {@link ConfigError} when the secret cannot be read
 * or holds no usable key, {@link SecretUnavailableError} when Secrets Manager does not answer.
 */
export function fetchSigningKeys(secretId: string, maxAgeSeconds: number): Promise<SigningKeys> {
  const cached = readings.get(secretId);
  if (cached && (cached.until === undefined || cached.until > Date.now())) return cached.keys;
  // Callers at the same moment (the prefetch at init and the first alert) share one read, and the
  // keys are kept as read, "no previous key" included, which the providers' own caches do not keep.
  const reading: { keys: Promise<SigningKeys>; until?: number } = {
    keys: readSigningKeys(secretId, maxAgeSeconds),
  };
  readings.set(secretId, reading);
  reading.keys.then(
    () => {
      reading.until = Date.now() + maxAgeSeconds * 1000;
    },
    () => {
      if (readings.get(secretId) === reading) readings.delete(secretId);
    },
  );
  return reading.keys;
}

/** Per secret: the keys being read (no `until` yet) or read, kept until `until`. */
const readings = new Map<string, { keys: Promise<SigningKeys>; until?: number }>();

async function readSigningKeys(secretId: string, maxAgeSeconds: number): Promise<SigningKeys> {
  currentProvider ??= new SecretsProvider({ clientConfig: { maxAttempts: 2 } });
  previousProvider ??= new SecretsProvider({ clientConfig: { maxAttempts: 2 } });
  const variable = ENVIRONMENT_VARIABLES.signingSecretId;
  // Both versions at once: the link needs the current one, and waits for one round trip, not two.
  const previousValue = previousProvider
    .get(secretId, { maxAge: maxAgeSeconds, sdkOptions: { VersionStage: 'AWSPREVIOUS' } })
    .catch(() => undefined);
  let currentValue: unknown;
  try {
    currentValue = await currentProvider.get(secretId, { maxAge: maxAgeSeconds });
  } catch (error) {
    const name = errorName(error);
    if (name === 'ThrottlingException' || name === 'InternalServiceError' || name === 'TimeoutError') {
      throw new SecretUnavailableError(`Secrets Manager could not be read (${name})`, { cause: error });
    }
    throw new ConfigError(variable, `Secrets Manager refused to read "${secretId}" (${name})`, undefined, {
      cause: error,
    });
  }
  let current: string;
  try {
    current = parseSigningKey(currentValue);
  } catch (error) {
    throw new ConfigError(variable, (error as Error).message, undefined, { cause: error });
  }
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
  const keys = await fetchSigningKeys(config.signingSecretId, config.secretCacheSeconds);
  const token = signSilenceToken(
    {
      key: alert.dedupKey,
      subject: alert.subject,
      scope: tokenScope(config),
      expiresAt: Math.floor(nowMs / 1000) + TOKEN_LIFETIME_SECONDS,
    },
    keys.current,
  );
  return `${config.silenceBaseUrl}/silences/${token}`;
}

import { ConfigError } from './errors.ts';
import { normaliseAddress, type RecipientAllowList } from './recipients.ts';

/** Everything the functions read from their environment, validated once per container. */
export interface AlertConfig {
  secretId: string;
  smtp: {
    host: string;
    port: number;
    /** Implicit TLS (465). When false the connection must upgrade with STARTTLS (587); there is no plaintext mode. */
    secure: boolean;
    maxConnections: number;
    /** Upper bound for connecting, the greeting and any silence on the socket. */
    timeoutMs: number;
  };
  alertFrom: string | undefined;
  alertTo: string[];
  allowedRecipients: RecipientAllowList;
  secretCacheSeconds: number;
  queueUrl: string | undefined;
  deadLetterQueueUrl: string | undefined;
  /** The alerts queue's maxReceiveCount: on the last receive a failure is parked with its reason. */
  maxReceives: number | undefined;
}

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be "true" or "false", got "${raw}"`);
}

function addressList(env: Env, name: string): string[] {
  const raw = optional(env, name);
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const result = normaliseAddress(entry);
      if ('problem' in result) throw new ConfigError(name, `"${entry}" ${result.problem}`);
      return result.address;
    });
}

function allowList(env: Env, alertTo: string[]): RecipientAllowList {
  const name = 'ALERT_ALLOWED_RECIPIENTS';
  const raw = optional(env, name);
  if (raw === undefined) return { addresses: new Set(alertTo), domains: new Set() };
  const addresses = new Set<string>();
  const domains = new Set<string>();
  for (const entry of raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    if (entry.startsWith('@')) {
      const checked = normaliseAddress(`postmaster${entry}`);
      if ('problem' in checked) throw new ConfigError(name, `"${entry}" is not a plain @domain entry`);
      domains.add(checked.address.slice('postmaster@'.length));
    } else {
      const checked = normaliseAddress(entry);
      if ('problem' in checked) throw new ConfigError(name, `"${entry}" ${checked.problem}`);
      addresses.add(checked.address);
    }
  }
  return { addresses, domains };
}

function url(env: Env, name: string): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  if (!URL.canParse(raw)) throw new ConfigError(name, `must be a queue URL, got "${raw}"`);
  return raw;
}

/**
 * Reads and validates the configuration contract. Throws a {@link ConfigError} naming the first
 * variable that is wrong and what is wrong with it.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Env): AlertConfig {
  const secretId = optional(env, 'GMAIL_SECRET_ID');
  if (!secretId) {
    throw new ConfigError('GMAIL_SECRET_ID', 'is not set', 'Set it to the name or ARN of the Gmail secret.');
  }
  const port = integer(env, 'SMTP_PORT', 587, 1, 65535);
  const secure = boolean(env, 'SMTP_SECURE', port === 465);
  if (port === 465 && !secure) {
    throw new ConfigError(
      'SMTP_SECURE',
      'is false, but port 465 speaks implicit TLS',
      'Use SMTP_SECURE=true with 465, or port 587.',
    );
  }
  if (port === 587 && secure) {
    throw new ConfigError(
      'SMTP_SECURE',
      'is true, but port 587 starts in plain text and upgrades with STARTTLS',
      'Use SMTP_SECURE=false with 587, or port 465.',
    );
  }
  const alertFrom = optional(env, 'ALERT_FROM');
  if (alertFrom !== undefined && 'problem' in normaliseAddress(alertFrom)) {
    throw new ConfigError('ALERT_FROM', `"${alertFrom}" is not a bare e-mail address`);
  }
  const alertTo = addressList(env, 'ALERT_TO');
  return {
    secretId,
    smtp: {
      host: optional(env, 'SMTP_HOST') ?? 'smtp.gmail.com',
      port,
      secure,
      maxConnections: integer(env, 'SMTP_MAX_CONNECTIONS', 3, 1, 10),
      timeoutMs: integer(env, 'SMTP_TIMEOUT_MS', 8000, 500, 60000),
    },
    alertFrom: alertFrom?.toLowerCase(),
    alertTo,
    allowedRecipients: allowList(env, alertTo),
    secretCacheSeconds: integer(env, 'SECRET_CACHE_SECONDS', 300, 0, 86400),
    queueUrl: url(env, 'ALERT_QUEUE_URL'),
    deadLetterQueueUrl: url(env, 'ALERT_DLQ_URL'),
    maxReceives:
      optional(env, 'ALERT_MAX_RECEIVES') === undefined
        ? undefined
        : integer(env, 'ALERT_MAX_RECEIVES', 5, 1, 1000),
  };
}

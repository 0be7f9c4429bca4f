import { ContractValueError, readContract } from './config-contract.ts';
import { ConfigError } from './errors.ts';
import type { RecipientAllowList } from './recipients.ts';

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
    /** A new connection's first message follows AUTH PLAIN in the same flight (RFC 4954 §4). */
    pipelineAuth: boolean;
  };
  alertFrom: string | undefined;
  alertTo: string[];
  allowedRecipients: RecipientAllowList;
  secretCacheSeconds: number;
  queueUrl: string | undefined;
  deadLetterQueueUrl: string | undefined;
  /** The alerts queue's maxReceiveCount: on the last receive a failure is parked with its reason. */
  maxReceives: number | undefined;
  /** Where the access tokens of an OAuth secret come from (GOOGLE_OAUTH_TOKEN_URL). */
  oauthTokenUrl: string;
  /** Names the stack in every mail's List-Id and thread ids. */
  stackName: string;
  /** Static `X-…` headers added to every mail (ALERT_HEADERS). */
  alertHeaders: Record<string, string>;
  /** Where idempotency records and repeat counts live; undefined: the functions keep no state. */
  stateTable: string | undefined;
  /** How long a firing alert's key stays quiet after a mail; 0: every alert is mailed. */
  repeatSeconds: number;
  /** Recipients a rolling 24 h may reach before the quota guard holds alerts. */
  gmailDailyLimit: number;
  /** The secret whose key signs silence links (ALERT_SIGNING_SECRET_ID). */
  signingSecretId: string | undefined;
  /** The API's URL with its stage (ALERT_SILENCE_BASE_URL); with the signing secret, mails carry a silence link. */
  silenceBaseUrl: string | undefined;
}

function allowList(entries: string[] | undefined, alertTo: string[]): RecipientAllowList {
  if (entries === undefined) return { addresses: new Set(alertTo), domains: new Set() };
  const addresses = new Set<string>();
  const domains = new Set<string>();
  for (const entry of entries) {
    if (entry.startsWith('@')) domains.add(entry.slice(1));
    else addresses.add(entry);
  }
  return { addresses, domains };
}

/**
 * Reads and validates the configuration contract (`config-contract.ts`). Throws a
 * {@link ConfigError} naming the first variable that is wrong and what is wrong with it.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): AlertConfig {
  let settings: ReturnType<typeof readContract>;
  try {
    settings = readContract(env);
  } catch (error) {
    if (!(error instanceof ContractValueError)) throw error;
    throw new ConfigError(error.variable, error.problem, error.advice, { cause: error });
  }
  return {
    secretId: settings.secretId,
    smtp: {
      host: settings.smtpHost,
      port: settings.smtpPort,
      secure: settings.smtpSecure,
      maxConnections: settings.smtpMaxConnections,
      timeoutMs: settings.smtpTimeoutMs,
      pipelineAuth: settings.smtpPipelineAuth,
    },
    alertFrom: settings.alertFrom,
    alertTo: settings.alertTo,
    allowedRecipients: allowList(settings.allowedRecipients, settings.alertTo),
    secretCacheSeconds: settings.secretCacheSeconds,
    queueUrl: settings.queueUrl,
    deadLetterQueueUrl: settings.deadLetterQueueUrl,
    maxReceives: settings.maxReceives,
    oauthTokenUrl: settings.oauthTokenUrl,
    stackName: settings.stackName,
    alertHeaders: settings.alertHeaders,
    stateTable: settings.stateTable,
    repeatSeconds: settings.repeatSeconds,
    gmailDailyLimit: settings.gmailDailyLimit,
    signingSecretId: settings.signingSecretId,
    silenceBaseUrl: settings.silenceBaseUrl,
  };
}

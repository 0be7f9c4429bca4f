// The configuration contract between the functions and whatever runs them (the stack, the local
// cloud, a laptop): every environment variable's name, default, parser and address rule, in one place.
// Kept free of the AWS SDK and nodemailer so the CDK app can import it.

import { smtpServiceOf } from './gmail-replies.ts';
import { RESERVED_HEADER } from './mail-headers.ts';
import { normaliseAddress } from './recipients.ts';

/** The environment variable behind each setting. */
export const ENVIRONMENT_VARIABLES = {
  secretId: 'GMAIL_SECRET_ID',
  smtpHost: 'SMTP_HOST',
  smtpPort: 'SMTP_PORT',
  smtpSecure: 'SMTP_SECURE',
  smtpMaxConnections: 'SMTP_MAX_CONNECTIONS',
  smtpTimeoutMs: 'SMTP_TIMEOUT_MS',
  smtpPipelineAuth: 'SMTP_PIPELINE_AUTH',
  alertFrom: 'ALERT_FROM',
  alertTo: 'ALERT_TO',
  allowedRecipients: 'ALERT_ALLOWED_RECIPIENTS',
  secretCacheSeconds: 'SECRET_CACHE_SECONDS',
  queueUrl: 'ALERT_QUEUE_URL',
  deadLetterQueueUrl: 'ALERT_DLQ_URL',
  maxReceives: 'ALERT_MAX_RECEIVES',
  oauthTokenUrl: 'GOOGLE_OAUTH_TOKEN_URL',
  stackName: 'ALERT_STACK_NAME',
  alertHeaders: 'ALERT_HEADERS',
  stateTable: 'ALERT_STATE_TABLE',
  repeatSeconds: 'ALERT_REPEAT_SECONDS',
  gmailDailyLimit: 'GMAIL_DAILY_LIMIT',
  signingSecretId: 'ALERT_SIGNING_SECRET_ID',
  silenceBaseUrl: 'ALERT_SILENCE_BASE_URL',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
} as const;

/** A setting of the contract, by the name the stack's context and the local cloud use for it. */
export type SettingName = keyof typeof ENVIRONMENT_VARIABLES;

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a setting is when its variable is not set. */
export const CONTRACT_DEFAULTS = {
  smtpHost: 'smtp.gmail.com',
  smtpPort: 587,
  smtpMaxConnections: 3,
  smtpTimeoutMs: 8000,
  smtpPipelineAuth: true,
  secretCacheSeconds: 300,
  oauthTokenUrl: 'https://oauth2.googleapis.com/token',
  // Alertmanager's repeat_interval default: 4 h.
  repeatSeconds: 14400,
  // Consumer Gmail's figure; Google Workspace accounts may send 2,000.
  gmailDailyLimit: 500,
  logLevel: 'INFO',
  serviceName: 'gmail-alerts',
  stackName: 'gmail-alerts',
} as const satisfies Partial<ContractSettings>;

/** Implicit TLS speaks from the first byte on this port; every other port starts in plain text and upgrades. */
export const IMPLICIT_TLS_PORT = 465;
/** The submission port that starts in plain text and must upgrade with STARTTLS. */
export const STARTTLS_PORT = 587;

/** The whole contract as typed values, defaults applied. */
export interface ContractSettings {
  secretId: string;
  smtpHost: string;
  smtpPort: number;
  /** Implicit TLS (465). When false the connection must upgrade with STARTTLS; there is no plaintext mode. */
  smtpSecure: boolean;
  smtpMaxConnections: number;
  /** Upper bound for connecting, the greeting and any silence on the socket. */
  smtpTimeoutMs: number;
  /** A new connection's first message follows AUTH PLAIN in the same flight (RFC 4954 §4). */
  smtpPipelineAuth: boolean;
  alertFrom: string | undefined;
  alertTo: string[];
  /** Exact addresses and `@domain` entries; undefined means "the ALERT_TO addresses only". */
  allowedRecipients: string[] | undefined;
  secretCacheSeconds: number;
  queueUrl: string | undefined;
  deadLetterQueueUrl: string | undefined;
  /** The alerts queue's maxReceiveCount: on the last receive a failure is parked with its reason. */
  maxReceives: number | undefined;
  /** Google's OAuth 2.0 token endpoint, where an OAuth secret's access tokens come from. */
  oauthTokenUrl: string;
  /** Names the stack in every mail's List-Id and in its thread ids. */
  stackName: string;
  /** Static `X-…` headers added to every mail. */
  alertHeaders: Record<string, string>;
  /** The DynamoDB table of {@link STATE_TABLE_SCHEMA}; without it the functions keep no state. */
  stateTable: string | undefined;
  /** A firing alert whose key went out less than this long ago is counted, not mailed; 0 turns counting off. */
  repeatSeconds: number;
  /** Recipients the account may be sent to in a rolling 24 h; the quota guard digests from 80 % and holds at 100 %. */
  gmailDailyLimit: number;
  /** The secret holding the key that signs silence links (JSON `{"key": …}`); without it, no link. */
  signingSecretId: string | undefined;
  /**
   * Where the API answers, stage included (`https://…/prod`): mails of a keyed alert link to
   * `<this>/silences/<token>`. Without it, no link is added.
   */
  silenceBaseUrl: string | undefined;
  logLevel: LogLevel;
  serviceName: string;
}

/**
 * The state table's shape, which the stack creates, the local cloud creates and the functions rely
 * on: one string partition key, no sort key, a TTL attribute in epoch seconds. Every kind of item
 * starts its key with its own prefix.
 */
export const STATE_TABLE_SCHEMA = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
  prefixes: {
    idempotency: 'idempotency#',
    repeat: 'repeat#',
    quota: 'quota#',
    digest: 'digest#',
    silence: 'silence#',
  },
} as const;

/**
 * The CloudWatch metrics the functions emit (Powertools Metrics, EMF, dimension `service`) and the
 * stack alarms on, so both read the names from here.
 */
export const DELIVERY_METRICS = {
  namespace: 'GmailAlerts',
  /** Recipients Gmail accepted. */
  sent: 'Sent',
  /** Alerts folded into a digest by the quota guard. */
  folded: 'Folded',
  /** Alerts held on the queue (the guard's hold or Gmail's own quota refusal). */
  held: 'Held',
  /** Firing alerts counted as repeats of their key instead of mailed. */
  repeatsSuppressed: 'RepeatsSuppressed',
  /** Firing alerts counted under their key's silence instead of mailed. */
  silenced: 'Silenced',
  /** The quota guard's count as a share of GMAIL_DAILY_LIMIT, each time it reads the window. */
  guardUsedPercent: 'GuardUsedPercent',
} as const;

/**
 * The one log message of every state-store failure. The stack counts it into a metric and an alarm
 * (`StateStoreFailures`), so the functions and the metric filter read it from here.
 */
export const STATE_STORE_FAILURE_MESSAGE = 'Alert state store failed; delivering without it';

/** A setting whose value breaks the contract, named by setting and by environment variable. */
export class ContractValueError extends Error {
  readonly setting: SettingName;
  readonly variable: string;
  /** What is wrong, without the name: `must be a whole number, got "x"`. */
  readonly problem: string;
  readonly advice: string | undefined;

  constructor(setting: SettingName, problem: string, advice?: string, options?: ErrorOptions) {
    const variable = ENVIRONMENT_VARIABLES[setting];
    super(`${variable}: ${problem}`, options);
    this.name = 'ContractValueError';
    this.setting = setting;
    this.variable = variable;
    this.problem = problem;
    this.advice = advice;
  }
}

// Thrown by the parsers below, which do not know which setting they parse; parseSetting names it.
class SettingProblemError extends Error {
  readonly advice: string | undefined;

  constructor(problem: string, advice?: string) {
    super(problem);
    this.name = 'SettingProblemError';
    this.advice = advice;
  }
}

/**
 * The address rule every part applies: a bare ASCII `local@domain`, nothing nodemailer's parser
 * would have to interpret. Returns the normalised address, or what is wrong with it.
 */
export function checkAddress(value: string): { address: string } | { problem: string } {
  return normaliseAddress(value);
}

function address(text: string): string {
  const result = checkAddress(text);
  if ('problem' in result) throw new SettingProblemError(`"${text}" ${result.problem}`);
  return result.address;
}

function listEntries(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function recipientRule(entry: string): string {
  if (!entry.startsWith('@')) return address(entry);
  const checked = checkAddress(`postmaster${entry}`);
  if ('problem' in checked) throw new SettingProblemError(`"${entry}" is not a plain @domain entry`);
  return checked.address.slice('postmaster'.length);
}

function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text)) throw new SettingProblemError(`must be a whole number, got "${text}"`);
    const value = Number(text);
    if (value < min || value > max) {
      throw new SettingProblemError(`must be between ${min} and ${max}, got ${value}`);
    }
    return value;
  };
}

function queueUrl(text: string): string {
  if (!URL.canParse(text)) throw new SettingProblemError(`must be a queue URL, got "${text}"`);
  return text;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** An https URL; plain http only on loopback, where the tests and the local run keep their token endpoint. */
function tokenUrl(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const loopbackHttp = url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (!url || (url.protocol !== 'https:' && !loopbackHttp) || url.username || url.password) {
    throw new SettingProblemError(
      `must be an https:// URL like ${CONTRACT_DEFAULTS.oauthTokenUrl}, got "${text}"`,
    );
  }
  return url.href;
}

/** The API's base URL: https, or plain http on loopback (the local run); kept without a trailing slash. */
function apiBaseUrl(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const loopbackHttp = url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (
    !url ||
    (url.protocol !== 'https:' && !loopbackHttp) ||
    url.username ||
    url.password ||
    url.search ||
    url.hash
  ) {
    throw new SettingProblemError(
      `must be the API's https:// URL with its stage, like https://abc123.execute-api.eu-west-1.amazonaws.com/prod, got "${text}"`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

const formatList = (values: string[]) => values.join(',');

const MAX_CUSTOM_HEADERS = 20;
const MAX_HEADER_VALUE = 900;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const HEADER_VALUE_BREAKS = /[\u0000-\u001f\u007f\u2028\u2029]/;

/**
 * Static headers for every mail, as a JSON object of `X-…` names to one-line values. Only `X-` names
 * are allowed, so no setting can replace From, To, Subject, Message-ID or References, nor the
 * product's own `X-Alert-*` and priority headers.
 */
function customHeaders(text: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SettingProblemError(
      'must be a JSON object such as {"X-Team":"payments"}, got text that is not JSON',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SettingProblemError('must be a JSON object such as {"X-Team":"payments"}');
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_CUSTOM_HEADERS) {
    throw new SettingProblemError(`must name at most ${MAX_CUSTOM_HEADERS} headers, got ${entries.length}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, item] of entries) {
    if (!/^X-[A-Za-z0-9][A-Za-z0-9-]{0,60}$/i.test(name)) {
      throw new SettingProblemError(
        `"${name}" is not allowed: header names must start with "X-" and hold only letters, digits and hyphens`,
      );
    }
    if (RESERVED_HEADER.test(name)) {
      throw new SettingProblemError(`"${name}" is written by the alerts themselves and cannot be set`);
    }
    if (typeof item !== 'string') throw new SettingProblemError(`"${name}" must have a string value`);
    if (HEADER_VALUE_BREAKS.test(item)) {
      throw new SettingProblemError(`"${name}" must be one line without control characters (CR, LF, tab)`);
    }
    if (item.length > MAX_HEADER_VALUE) {
      throw new SettingProblemError(`"${name}" must be at most ${MAX_HEADER_VALUE} characters`);
    }
    headers[name] = item;
  }
  return headers;
}

function trueOrFalse(text: string): boolean {
  const value = text.toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new SettingProblemError(`must be "true" or "false", got "${text}"`);
}

/** How each setting is read from its variable's text and written back to it. */
const RULES: {
  [K in SettingName]: { parse(text: string): ContractSettings[K]; format?(value: never): string };
} = {
  secretId: { parse: (text) => text },
  smtpHost: {
    parse: (text) => {
      // A host name or an IP address (IPv6 literals for loopback set-ups); never a URL or host:port.
      const hostName = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(text);
      const ipv6 = /^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*$/.test(text) && text.length <= 45;
      if (!hostName && !ipv6) {
        throw new SettingProblemError(`must be a host name like smtp.gmail.com, got "${text}"`);
      }
      return text.toLowerCase();
    },
  },
  smtpPort: { parse: wholeNumber(1, 65535) },
  smtpSecure: { parse: trueOrFalse },
  smtpMaxConnections: { parse: wholeNumber(1, 10) },
  smtpTimeoutMs: { parse: wholeNumber(500, 60000) },
  smtpPipelineAuth: { parse: trueOrFalse },
  alertFrom: {
    parse: (text) => {
      const result = checkAddress(text);
      if ('problem' in result) {
        throw new SettingProblemError(`"${text}" is not a bare e-mail address: it ${result.problem}`);
      }
      return result.address;
    },
  },
  alertTo: { parse: (text) => listEntries(text).map(address), format: formatList },
  allowedRecipients: { parse: (text) => listEntries(text).map(recipientRule), format: formatList },
  secretCacheSeconds: { parse: wholeNumber(0, 86400) },
  queueUrl: { parse: queueUrl },
  deadLetterQueueUrl: { parse: queueUrl },
  maxReceives: { parse: wholeNumber(1, 1000) },
  oauthTokenUrl: { parse: tokenUrl },
  stackName: {
    parse: (text) => {
      if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(text)) {
        throw new SettingProblemError(`must be a stack name (letters, digits, hyphens), got "${text}"`);
      }
      return text;
    },
  },
  stateTable: {
    parse: (text) => {
      // A table name or its ARN, as DynamoDB accepts either.
      if (!/^(?:[A-Za-z0-9_.-]{3,255}|arn:[^\s]+:dynamodb:[^\s]+:table\/[A-Za-z0-9_.-]{3,255})$/.test(text)) {
        throw new SettingProblemError(`must be a DynamoDB table name or ARN, got "${text}"`);
      }
      return text;
    },
  },
  alertHeaders: { parse: customHeaders, format: (value: Record<string, string>) => JSON.stringify(value) },
  repeatSeconds: { parse: wholeNumber(0, 30 * 86400) },
  gmailDailyLimit: { parse: wholeNumber(10, 100000) },
  signingSecretId: { parse: (text) => text },
  silenceBaseUrl: { parse: apiBaseUrl },
  logLevel: {
    parse: (text) => {
      const level = text.toUpperCase();
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new SettingProblemError(`must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
      }
      return level as LogLevel;
    },
  },
  serviceName: { parse: (text) => text },
};

/**
 * Parses one setting from its text form (an environment variable's value, or a `-c key=value`).
 * Throws a {@link ContractValueError} naming the setting and its variable.
 *
 * @example
 * parseSetting('alertTo', 'oncall@example.com, team@example.com'); // ['oncall@example.com', 'team@example.com']
 */
export function parseSetting<K extends SettingName>(setting: K, text: string): ContractSettings[K] {
  try {
    return RULES[setting].parse(text.trim()) as ContractSettings[K];
  } catch (error) {
    if (!(error instanceof SettingProblemError)) throw error;
    throw new ContractValueError(setting, error.message, error.advice, { cause: error });
  }
}

function formatSetting<K extends SettingName>(setting: K, value: ContractSettings[K]): string {
  const format = RULES[setting].format as ((value: ContractSettings[K]) => string) | undefined;
  return format ? format(value) : String(value);
}

/** Port and TLS mode must agree: Gmail answers a mismatch with a hang or "wrong version number". */
function checkTlsMode(port: number, secure: boolean): void {
  if (port === IMPLICIT_TLS_PORT && !secure) {
    throw new ContractValueError(
      'smtpSecure',
      `is false, but port ${IMPLICIT_TLS_PORT} speaks implicit TLS`,
      `Use SMTP_SECURE=true with ${IMPLICIT_TLS_PORT}, or port ${STARTTLS_PORT}.`,
    );
  }
  if (port === STARTTLS_PORT && secure) {
    throw new ContractValueError(
      'smtpSecure',
      `is true, but port ${STARTTLS_PORT} starts in plain text and upgrades with STARTTLS`,
      `Use SMTP_SECURE=false with ${STARTTLS_PORT}, or port ${IMPLICIT_TLS_PORT}.`,
    );
  }
}

/**
 * Amazon SES signs in with an SMTP user name that is no address, so it cannot stand in for the sender
 * as a Gmail account does: SES wants ALERT_FROM, an address or domain verified there.
 */
function checkSender(smtpHost: string, alertFrom: string | undefined): void {
  if (alertFrom === undefined && smtpServiceOf(smtpHost) === 'ses') {
    throw new ContractValueError(
      'alertFrom',
      `is not set, but ${smtpHost} (Amazon SES) signs in with an SMTP user name that is no sender address`,
      'Set ALERT_FROM (context alertFrom) to an address whose domain or address is verified in SES.',
    );
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads the whole contract from an environment, applying the defaults. Blank variables count as
 * unset. Throws a {@link ContractValueError} for the first setting that is missing or wrong.
 *
 * @example
 * const settings = readContract(process.env);
 */
export function readContract(env: Env): ContractSettings {
  const read = <K extends SettingName>(setting: K): ContractSettings[K] | undefined => {
    const text = env[ENVIRONMENT_VARIABLES[setting]]?.trim();
    return text ? parseSetting(setting, text) : undefined;
  };
  const secretId = read('secretId');
  if (secretId === undefined) {
    throw new ContractValueError('secretId', 'is not set', 'Set it to the name or ARN of the Gmail secret.');
  }
  const smtpPort = read('smtpPort') ?? CONTRACT_DEFAULTS.smtpPort;
  const smtpSecure = read('smtpSecure') ?? smtpPort === IMPLICIT_TLS_PORT;
  checkTlsMode(smtpPort, smtpSecure);
  const smtpHost = read('smtpHost') ?? CONTRACT_DEFAULTS.smtpHost;
  const alertFrom = read('alertFrom');
  checkSender(smtpHost, alertFrom);
  return {
    secretId,
    smtpHost,
    smtpPort,
    smtpSecure,
    smtpMaxConnections: read('smtpMaxConnections') ?? CONTRACT_DEFAULTS.smtpMaxConnections,
    smtpTimeoutMs: read('smtpTimeoutMs') ?? CONTRACT_DEFAULTS.smtpTimeoutMs,
    smtpPipelineAuth: read('smtpPipelineAuth') ?? CONTRACT_DEFAULTS.smtpPipelineAuth,
    alertFrom,
    alertTo: read('alertTo') ?? [],
    allowedRecipients: read('allowedRecipients'),
    secretCacheSeconds: read('secretCacheSeconds') ?? CONTRACT_DEFAULTS.secretCacheSeconds,
    queueUrl: read('queueUrl'),
    deadLetterQueueUrl: read('deadLetterQueueUrl'),
    maxReceives: read('maxReceives'),
    oauthTokenUrl: read('oauthTokenUrl') ?? CONTRACT_DEFAULTS.oauthTokenUrl,
    stackName: read('stackName') ?? CONTRACT_DEFAULTS.stackName,
    alertHeaders: read('alertHeaders') ?? {},
    stateTable: read('stateTable'),
    repeatSeconds: read('repeatSeconds') ?? CONTRACT_DEFAULTS.repeatSeconds,
    gmailDailyLimit: read('gmailDailyLimit') ?? CONTRACT_DEFAULTS.gmailDailyLimit,
    signingSecretId: read('signingSecretId'),
    silenceBaseUrl: read('silenceBaseUrl'),
    logLevel: read('logLevel') ?? CONTRACT_DEFAULTS.logLevel,
    serviceName: read('serviceName') ?? CONTRACT_DEFAULTS.serviceName,
  };
}

/** The settings a caller gives {@link contractEnvironment}; what is left out gets the default. */
export type ContractInput = Pick<ContractSettings, 'secretId'> &
  Partial<Omit<ContractSettings, 'secretId' | 'serviceName'>>;

export interface ContractEnvironmentOptions {
  /**
   * Values known only when deployed (a CloudFormation reference to the secret or a queue URL):
   * written as they are, unchecked. The stack passes CDK's `Token.isUnresolved`.
   */
  readonly isDeployTimeValue?: (value: string) => boolean;
}

/**
 * Builds the functions' environment from typed settings, checked with the same rules
 * {@link readContract} applies, so what this writes the functions accept. Empty lists and
 * undefined values are left out; the TLS mode is written explicitly whenever the port is.
 *
 * @example
 * const environment = contractEnvironment({ secretId: 'gmail-alerts/smtp', alertTo: ['oncall@example.com'] });
 */
export function contractEnvironment(
  input: ContractInput,
  options: ContractEnvironmentOptions = {},
): Record<string, string> {
  const deployTime = options.isDeployTimeValue ?? (() => false);
  const settings: Partial<ContractSettings> = {
    ...input,
    serviceName: CONTRACT_DEFAULTS.serviceName,
  };
  if (settings.smtpPort !== undefined && settings.smtpSecure === undefined) {
    settings.smtpSecure = settings.smtpPort === IMPLICIT_TLS_PORT;
  }
  const environment: Record<string, string> = {};
  for (const setting of Object.keys(ENVIRONMENT_VARIABLES) as SettingName[]) {
    const value = settings[setting];
    const empty =
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
    if (value === undefined || empty) continue;
    const text = formatSetting(setting, value as never);
    // Parsing what was formatted applies the functions' own rule, and normalises (lower-case addresses).
    environment[ENVIRONMENT_VARIABLES[setting]] = deployTime(text)
      ? text
      : formatSetting(setting, parseSetting(setting, text) as never);
  }
  if (!environment[ENVIRONMENT_VARIABLES.secretId]?.trim()) {
    throw new ContractValueError('secretId', 'is not set', 'Pass the name or ARN of the Gmail secret.');
  }
  checkTlsMode(
    settings.smtpPort ?? CONTRACT_DEFAULTS.smtpPort,
    settings.smtpSecure ?? settings.smtpPort === IMPLICIT_TLS_PORT,
  );
  checkSender(settings.smtpHost ?? CONTRACT_DEFAULTS.smtpHost, settings.alertFrom);
  return environment;
}

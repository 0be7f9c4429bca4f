import type { Node } from 'constructs';
import {
  CONTRACT_DEFAULTS,
  type ContractSettings,
  ContractValueError,
  checkAddress,
  type LogLevel,
  parseSetting,
  type SettingName,
} from '../functions/core/config-contract.ts';

/** How callers of `POST /alerts` authenticate before API Gateway lets the request reach Lambda. */
export type ApiAuth = 'apiKey' | 'iam';

/** Where the functions run: outside any VPC (default), in a VPC the stack creates, or in an existing one. */
export type NetworkMode =
  | { readonly kind: 'none' }
  | { readonly kind: 'new' }
  | {
      readonly kind: 'existing';
      readonly vpcId: string;
      readonly privateSubnetIds: string[];
      readonly availabilityZones: string[];
      readonly privateSubnetRouteTableIds: string[] | undefined;
    };

/** An EventBridge event pattern as JSON (`source`, `detail-type`, `detail`, …). */
export type EventPatternJson = Record<string, unknown>;

/** The stack's settings, read once from CDK context (`cdk.json` or `-c key=value`). */
export interface AlertingConfig {
  /** Never empty: a stack whose functions can mail nobody is refused. */
  readonly alertTo: string[];
  readonly allowedRecipients: string[];
  readonly alertFrom: string | undefined;
  readonly smtpHost: string;
  readonly smtpPort: number;
  /** SMTP_PIPELINE_AUTH: a new connection's first message follows AUTH PLAIN in the same flight. */
  readonly smtpPipelineAuth: boolean;
  readonly secretCacheSeconds: number;
  /** ALERT_REPEAT_SECONDS: how long a firing alert's key stays quiet after a mail. */
  readonly repeatSeconds: number;
  /** GMAIL_DAILY_LIMIT: recipients a rolling 24 h may reach (500 consumer Gmail, 2,000 Workspace). */
  readonly gmailDailyLimit: number;
  readonly logLevel: LogLevel;
  /** Static `X-…` headers on every mail (ALERT_HEADERS). */
  readonly alertHeaders: Record<string, string>;
  readonly secretArn: string | undefined;
  /** The customer managed KMS key that encrypts the imported secret, when it is not aws/secretsmanager. */
  readonly secretKmsKeyArn: string | undefined;
  readonly network: NetworkMode;
  readonly opsEmail: string | undefined;
  readonly apiAuth: ApiAuth;
  /** Creates the account-wide API Gateway logging role, and turns on access and execution logs. */
  readonly apiGatewayCloudWatchRole: boolean;
  /** Per-method CloudWatch metrics on the stage, billed as custom metrics. */
  readonly apiDetailedMetrics: boolean;
  /** Limits the default alarm rule to alarms whose name starts with this; undefined: every alarm but the stack's own. */
  readonly alarmNamePrefix: string | undefined;
  readonly dailyQuota: number;
  readonly maxConcurrency: number;
  readonly eventSources: string[];
  readonly eventRules: Record<string, EventPatternJson>;
  readonly functionsDir: string;
}

/** CloudWatch alarms that start firing, and those that recover from ALARM (not the OK of a newly created alarm). */
const ALARM_STATE_CHANGE: EventPatternJson = {
  source: ['aws.cloudwatch'],
  'detail-type': ['CloudWatch Alarm State Change'],
  detail: {
    $or: [{ state: { value: ['ALARM'] } }, { state: { value: ['OK'] }, previousState: { value: ['ALARM'] } }],
  },
};

export const CONTEXT_DEFAULTS = {
  smtpHost: CONTRACT_DEFAULTS.smtpHost,
  smtpPort: CONTRACT_DEFAULTS.smtpPort,
  smtpPipelineAuth: CONTRACT_DEFAULTS.smtpPipelineAuth,
  secretCacheSeconds: CONTRACT_DEFAULTS.secretCacheSeconds,
  repeatSeconds: CONTRACT_DEFAULTS.repeatSeconds,
  gmailDailyLimit: CONTRACT_DEFAULTS.gmailDailyLimit,
  logLevel: CONTRACT_DEFAULTS.logLevel,
  apiAuth: 'apiKey',
  apiGatewayCloudWatchRole: false,
  apiDetailedMetrics: false,
  // Below Google Workspace's 2,000 messages a day, leaving room for mail the account sends otherwise.
  dailyQuota: 1500,
  // SQS pollers that may run the function at once; each holds at most SMTP_MAX_CONNECTIONS to Gmail,
  // which tolerates roughly 10 to 15 simultaneous connections. 2 is the lowest value SQS accepts.
  maxConcurrency: 2,
  eventSources: ['alerts.app'],
  eventRules: { AlarmStateChange: ALARM_STATE_CHANGE },
  functionsDir: 'dist/functions',
} as const;

/** A context value that cannot be used, named by its key. */
export class ContextValueError extends Error {
  readonly key: string;

  constructor(key: string, problem: string, options?: ErrorOptions) {
    super(`CDK context "${key}" ${problem}`, options);
    this.name = 'ContextValueError';
    this.key = key;
  }
}

/** The message for a stack without recipients: what to pass, and what it is for. */
export const ALERT_TO_MISSING =
  'is not set: pass -c alertTo=oncall@example.com (comma-separated for several), the addresses every alert is mailed to when its sender names no recipients; without it the functions could mail nobody';

/** A JSON context value as its text: cdk.json holds an object, `-c key=…` a string. */
const jsonText = (value: unknown): string | undefined =>
  value === undefined || value === null
    ? undefined
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);

class ContextReader {
  readonly node: Node;

  constructor(node: Node) {
    this.node = node;
  }

  raw(key: string): unknown {
    const value = this.node.tryGetContext(key);
    return typeof value === 'string' && value.trim() === '' ? undefined : value;
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number')
      throw new ContextValueError(key, 'must be a string');
    return String(value).trim();
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined || value === null) return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new ContextValueError(key, `must be true or false, got ${JSON.stringify(value)}`);
  }

  /** A setting of the functions' contract, checked by the rule the functions apply to their variable. */
  setting<K extends SettingName>(key: K, text: string | undefined): ContractSettings[K] | undefined {
    if (text === undefined) return undefined;
    try {
      return parseSetting(key, text);
    } catch (error) {
      if (!(error instanceof ContractValueError)) throw error;
      throw new ContextValueError(key, `is not valid for ${error.variable}: ${error.problem}`, {
        cause: error,
      });
    }
  }

  /** A list setting of the contract; entries are validated one by one, so none can smuggle in a comma. */
  listSetting(key: 'alertTo' | 'allowedRecipients'): string[] {
    return (this.list(key) ?? []).flatMap((entry) => this.setting(key, entry) ?? []);
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const value = this.string(key);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value)) throw new ContextValueError(key, `must be a whole number, got "${value}"`);
    const parsed = Number(value);
    if (parsed < min || parsed > max) {
      throw new ContextValueError(key, `must be between ${min} and ${max}, got ${parsed}`);
    }
    return parsed;
  }

  /** A list given as an array (cdk.json), a JSON array or comma-separated text (`-c key=a,b`). */
  list(key: string): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null) return undefined;
    let items: unknown = value;
    if (typeof value === 'string') {
      items = value.trim().startsWith('[') ? this.json(key, value) : value.split(',');
    }
    if (!Array.isArray(items) || items.some((item) => typeof item !== 'string')) {
      throw new ContextValueError(key, 'must be a list of strings');
    }
    return items.map((item: string) => item.trim()).filter(Boolean);
  }

  /** An object given as an object (cdk.json) or as JSON text (`-c key='{…}'`). */
  object(key: string): Record<string, unknown> | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null) return undefined;
    const parsed = typeof value === 'string' ? this.json(key, value) : value;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ContextValueError(key, 'must be a JSON object');
    }
    return parsed as Record<string, unknown>;
  }

  json(key: string, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new ContextValueError(key, 'is not valid JSON');
    }
  }
}

/** One address under the functions' address rule (opsEmail is not a variable of theirs, but the rule is the same). */
function singleAddress(key: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const result = checkAddress(value);
  if ('problem' in result) throw new ContextValueError(key, `"${value}" ${result.problem}`);
  return result.address;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/;

function readSecret(context: ContextReader): Pick<AlertingConfig, 'secretArn' | 'secretKmsKeyArn'> {
  const secretArn = context.string('secretArn');
  const secretRegion = secretArn === undefined ? undefined : SECRET_ARN.exec(secretArn)?.[1];
  if (secretArn !== undefined && secretRegion === undefined) {
    throw new ContextValueError(
      'secretArn',
      'must be the complete secret ARN, ending in the six random characters Secrets Manager appends (see `aws secretsmanager describe-secret`)',
    );
  }
  const secretKmsKeyArn = context.string('secretKmsKeyArn');
  if (secretKmsKeyArn === undefined) return { secretArn, secretKmsKeyArn };
  if (secretArn === undefined) {
    throw new ContextValueError(
      'secretKmsKeyArn',
      'applies only with secretArn: the secret this stack creates is encrypted with the aws/secretsmanager key, which needs no grant',
    );
  }
  const keyRegion = KMS_KEY_ARN.exec(secretKmsKeyArn)?.[1];
  if (keyRegion === undefined) {
    throw new ContextValueError(
      'secretKmsKeyArn',
      `must be the key ARN (arn:aws:kms:<region>:<account>:key/<key id>) of the customer managed key that encrypts the secret, not an alias; got "${secretKmsKeyArn}" (see KmsKeyId in \`aws secretsmanager describe-secret\`)`,
    );
  }
  if (keyRegion !== secretRegion) {
    throw new ContextValueError(
      'secretKmsKeyArn',
      `is in ${keyRegion}, but the secret is in ${secretRegion}: Secrets Manager encrypts a secret with a key from its own region`,
    );
  }
  return { secretArn, secretKmsKeyArn };
}

function readAlarmNamePrefix(context: ContextReader): string | undefined {
  const prefix = context.string('alarmNamePrefix');
  if (prefix !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,199}$/.test(prefix)) {
    throw new ContextValueError(
      'alarmNamePrefix',
      `must be 1 to 200 printable ASCII characters, as CloudWatch alarm names are, got "${prefix}"`,
    );
  }
  return prefix;
}

function readNetwork(context: ContextReader): NetworkMode {
  const vpc = context.string('vpc');
  if (vpc === undefined || vpc === 'none') return { kind: 'none' };
  if (vpc === 'new') return { kind: 'new' };
  if (!/^vpc-[0-9a-f]{8,17}$/.test(vpc)) {
    throw new ContextValueError('vpc', `must be "new", "none" or a VPC id (vpc-…), got "${vpc}"`);
  }
  const privateSubnetIds = context.list('privateSubnetIds') ?? [];
  const availabilityZones = context.list('availabilityZones') ?? [];
  if (privateSubnetIds.length === 0 || privateSubnetIds.some((id) => !/^subnet-[0-9a-f]{8,17}$/.test(id))) {
    throw new ContextValueError(
      'privateSubnetIds',
      'must list the subnet ids (subnet-…) of the private subnets that route to a NAT gateway, when vpc is a VPC id',
    );
  }
  if (availabilityZones.length !== privateSubnetIds.length) {
    throw new ContextValueError(
      'availabilityZones',
      `must list one availability zone per private subnet (${privateSubnetIds.length}), in the same order`,
    );
  }
  const routeTables = context.list('privateSubnetRouteTableIds');
  if (routeTables !== undefined && routeTables.length !== privateSubnetIds.length) {
    throw new ContextValueError('privateSubnetRouteTableIds', 'must list one route table per private subnet');
  }
  return {
    kind: 'existing',
    vpcId: vpc,
    privateSubnetIds,
    availabilityZones,
    privateSubnetRouteTableIds: routeTables,
  };
}

function readEventRules(context: ContextReader): Record<string, EventPatternJson> {
  const rules = context.object('eventRules') ?? CONTEXT_DEFAULTS.eventRules;
  for (const [name, pattern] of Object.entries(rules)) {
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name)) {
      throw new ContextValueError('eventRules', `has the rule name "${name}": use letters and digits only`);
    }
    if (
      typeof pattern !== 'object' ||
      pattern === null ||
      Array.isArray(pattern) ||
      Object.keys(pattern).length === 0
    ) {
      throw new ContextValueError(
        'eventRules',
        `has "${name}", which is not an EventBridge event pattern object`,
      );
    }
  }
  return rules as Record<string, EventPatternJson>;
}

/**
 * Reads and validates every context key the stack understands, once. Throws a
 * {@link ContextValueError} naming the first key that is wrong.
 *
 * @example
 * const config = readAlertingConfig(app.node);
 */
export function readAlertingConfig(node: Node): AlertingConfig {
  const context = new ContextReader(node);
  const alertTo = context.listSetting('alertTo');
  if (alertTo.length === 0) throw new ContextValueError('alertTo', ALERT_TO_MISSING);

  const apiAuth = context.string('apiAuth') ?? CONTEXT_DEFAULTS.apiAuth;
  if (apiAuth !== 'apiKey' && apiAuth !== 'iam') {
    throw new ContextValueError('apiAuth', `must be "apiKey" or "iam", got "${apiAuth}"`);
  }
  const eventSources = context.list('eventSources') ?? [...CONTEXT_DEFAULTS.eventSources];
  for (const source of eventSources) {
    if (source.startsWith('aws.')) {
      throw new ContextValueError(
        'eventSources',
        `has "${source}": the aws. prefix is reserved for AWS services`,
      );
    }
  }

  return {
    alertTo,
    allowedRecipients: context.listSetting('allowedRecipients'),
    alertFrom: context.setting('alertFrom', context.string('alertFrom')),
    smtpHost: context.setting('smtpHost', context.string('smtpHost')) ?? CONTEXT_DEFAULTS.smtpHost,
    smtpPort: context.setting('smtpPort', context.string('smtpPort')) ?? CONTEXT_DEFAULTS.smtpPort,
    smtpPipelineAuth: context.boolean('smtpPipelineAuth', CONTEXT_DEFAULTS.smtpPipelineAuth),
    secretCacheSeconds:
      context.setting('secretCacheSeconds', context.string('secretCacheSeconds')) ??
      CONTEXT_DEFAULTS.secretCacheSeconds,
    repeatSeconds:
      context.setting('repeatSeconds', context.string('repeatSeconds')) ?? CONTEXT_DEFAULTS.repeatSeconds,
    gmailDailyLimit:
      context.setting('gmailDailyLimit', context.string('gmailDailyLimit')) ??
      CONTEXT_DEFAULTS.gmailDailyLimit,
    logLevel: context.setting('logLevel', context.string('logLevel')) ?? CONTEXT_DEFAULTS.logLevel,
    alertHeaders: context.setting('alertHeaders', jsonText(context.raw('alertHeaders'))) ?? {},
    ...readSecret(context),
    network: readNetwork(context),
    opsEmail: singleAddress('opsEmail', context.string('opsEmail')),
    apiAuth,
    apiGatewayCloudWatchRole: context.boolean(
      'apiGatewayCloudWatchRole',
      CONTEXT_DEFAULTS.apiGatewayCloudWatchRole,
    ),
    apiDetailedMetrics: context.boolean('apiDetailedMetrics', CONTEXT_DEFAULTS.apiDetailedMetrics),
    alarmNamePrefix: readAlarmNamePrefix(context),
    dailyQuota: context.integer('dailyQuota', CONTEXT_DEFAULTS.dailyQuota, 1, 1_000_000),
    maxConcurrency: context.integer('maxConcurrency', CONTEXT_DEFAULTS.maxConcurrency, 2, 1000),
    eventSources,
    eventRules: readEventRules(context),
    functionsDir: context.string('functionsDir') ?? CONTEXT_DEFAULTS.functionsDir,
  };
}

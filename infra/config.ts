import type { Node } from 'constructs';

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
  readonly alertTo: string[];
  readonly allowedRecipients: string[];
  readonly alertFrom: string | undefined;
  readonly smtpHost: string;
  readonly smtpPort: number;
  readonly secretCacheSeconds: number;
  readonly logLevel: string;
  readonly secretArn: string | undefined;
  readonly network: NetworkMode;
  readonly opsEmail: string | undefined;
  readonly apiAuth: ApiAuth;
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
  smtpHost: 'smtp.gmail.com',
  smtpPort: 587,
  secretCacheSeconds: 300,
  logLevel: 'INFO',
  apiAuth: 'apiKey',
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

  constructor(key: string, problem: string) {
    super(`CDK context "${key}" ${problem}`);
    this.name = 'ContextValueError';
    this.key = key;
  }
}

const EMAIL = /^[^\s@,<>"()]+@[^\s@,<>"()]+\.[^\s@,<>"()]+$/;
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL'];

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

function emails(key: string, values: string[]): string[] {
  for (const value of values) {
    if (!EMAIL.test(value))
      throw new ContextValueError(key, `has "${value}", which is not a bare e-mail address`);
  }
  return values;
}

function recipientRules(key: string, values: string[]): string[] {
  for (const value of values) {
    const ok = value.startsWith('@') ? EMAIL.test(`postmaster${value}`) : EMAIL.test(value);
    if (!ok)
      throw new ContextValueError(key, `has "${value}", which is neither an address nor an @domain entry`);
  }
  return values;
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
  const alertTo = emails('alertTo', context.list('alertTo') ?? []);
  const alertFrom = context.string('alertFrom');
  if (alertFrom !== undefined) emails('alertFrom', [alertFrom]);
  const opsEmail = context.string('opsEmail');
  if (opsEmail !== undefined) emails('opsEmail', [opsEmail]);

  const apiAuth = context.string('apiAuth') ?? CONTEXT_DEFAULTS.apiAuth;
  if (apiAuth !== 'apiKey' && apiAuth !== 'iam') {
    throw new ContextValueError('apiAuth', `must be "apiKey" or "iam", got "${apiAuth}"`);
  }
  const logLevel = (context.string('logLevel') ?? CONTEXT_DEFAULTS.logLevel).toUpperCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ContextValueError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const secretArn = context.string('secretArn');
  if (
    secretArn !== undefined &&
    !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(secretArn)
  ) {
    throw new ContextValueError(
      'secretArn',
      'must be the complete secret ARN, ending in the six random characters Secrets Manager appends (see `aws secretsmanager describe-secret`)',
    );
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
    allowedRecipients: recipientRules('allowedRecipients', context.list('allowedRecipients') ?? []),
    alertFrom,
    smtpHost: context.string('smtpHost') ?? CONTEXT_DEFAULTS.smtpHost,
    smtpPort: context.integer('smtpPort', CONTEXT_DEFAULTS.smtpPort, 1, 65535),
    secretCacheSeconds: context.integer('secretCacheSeconds', CONTEXT_DEFAULTS.secretCacheSeconds, 0, 86400),
    logLevel,
    secretArn,
    network: readNetwork(context),
    opsEmail,
    apiAuth,
    dailyQuota: context.integer('dailyQuota', CONTEXT_DEFAULTS.dailyQuota, 1, 1_000_000),
    maxConcurrency: context.integer('maxConcurrency', CONTEXT_DEFAULTS.maxConcurrency, 2, 1000),
    eventSources,
    eventRules: readEventRules(context),
    functionsDir: context.string('functionsDir') ?? CONTEXT_DEFAULTS.functionsDir,
  };
}

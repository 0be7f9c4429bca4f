import { randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  EventBridgeEvent,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { afterAll, beforeAll } from 'vitest';
import type { GmailServer, GmailServerOptions } from '../../../local/gmail-server.ts';
import { createLambdaContext } from '../../../local/lambda-context.ts';
import {
  recordFromQueued as queuedRecord,
  sqsRecord as record,
  sqsEvent,
} from '../../../local/lambda-events.ts';
import { type LocalCloud, type LocalSignIn, startLocalCloud } from '../../../local/local-cloud.ts';
import type { OAuthEndpoint } from '../../../local/oauth-endpoint.ts';
import { loadEvent } from '../../../local/sample-events.ts';
import type { SecretsEndpoint } from '../../../local/secrets-endpoint.ts';
import type { SqsEndpoint, SqsStoredMessage } from '../../../local/sqs-endpoint.ts';
import type { StateTableEndpoint } from '../../../local/state-table.ts';
import type { TcpProxy } from '../../../local/tcp-proxy.ts';
import { coldStart } from '../../support/lambda-bundle.ts';
import { captureOutput, type OutputCapture } from './output-capture.ts';

/**
 * The Gmail account of every reliability test. The App Password is distinctive, so a search for it
 * in the captured output cannot hit anything by chance, and stored as Google shows it (with spaces).
 */
export const account = {
  user: 'alerts@example.com',
  spacedPassword: 'qzvx kwpt rmnb hjds',
  password: 'qzvxkwptrmnbhjds',
} as const;

export const SECRET_ID = 'gmail-alerts/reliability';
/** The key that signs silence links: distinctive, so a search for it cannot hit anything by chance. */
export const SIGNING_KEY = 'sk7Qm2Zr9Lx4Wv8Np3Tb6Hc1Jd5Fg0Ks2Ya7Ue4Io9Pq';
export const ALERT_TO = 'oncall@example.com';
/** Who callers may name: one address and one whole domain. */
export const ALLOWED_RECIPIENTS = ['oncall@example.com', '@ops.example.com'];
/** The Lambda function timeout the tests pretend to run under. */
export const FUNCTION_TIMEOUT_MS = 30_000;

export type Trigger = 'http' | 'sqs' | 'eventbridge';

export interface DeploymentOptions {
  gmail?: GmailServerOptions;
  /** Sign in with an OAuth secret of this kind, issued by the local token endpoint, instead of the App Password. */
  signIn?: LocalSignIn;
  /** The secret's value; `null` leaves the secret out (ResourceNotFoundException). */
  secretValue?: string | null;
  /** Route SMTP through a {@link TcpProxy} that can forget or swallow flows, with a wire tap. */
  natPath?: boolean;
  /** Environment overrides; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** The function timeout the invocations run under (default {@link FUNCTION_TIMEOUT_MS}). */
  functionTimeoutMs?: number;
  /** ALERT_SILENCE_BASE_URL: keyed mails carry a silence link to it (default none). */
  silenceBaseUrl?: string;
  /** Reach the state table through a {@link TcpProxy} with this one-way delay (ms). */
  stateDelayMs?: number;
}

export type HttpInvoke = (
  body: string,
  overrides?: Partial<APIGatewayProxyEvent>,
) => Promise<APIGatewayProxyResult>;
export type SqsInvoke = (records: SQSRecord[]) => Promise<SQSBatchResponse>;
export type EventBridgeInvoke = (event: EventBridgeEvent<string, unknown>) => Promise<unknown>;

/** The loopback stand-ins for Gmail, Secrets Manager and SQS, and cold starts of the built bundles against them. */
export interface Deployment {
  gmail: GmailServer;
  secrets: SecretsEndpoint;
  /** The secret's value as stored. */
  secretValue: string | null;
  /** Google's token endpoint, for an OAuth secret. */
  oauth: OAuthEndpoint;
  /** The secret whose key signs silence links. */
  signingSecretId: string;
  sqs: SqsEndpoint;
  nat: TcpProxy | undefined;
  /** The state table (DynamoDB on loopback) the functions keep idempotency records and repeat counts in. */
  state: StateTableEndpoint | undefined;
  /** With `stateDelayMs`: the proxy in front of the state table. */
  statePath: TcpProxy | undefined;
  queueUrl: string;
  deadLetterQueueUrl: string;
  env: Record<string, string | undefined>;
  /** The function timeout the next invocations run under; may be changed between invocations. */
  functionTimeoutMs: number;
  /** Messages the HTTP handler queued for a later attempt. */
  queued(): SqsStoredMessage[];
  /** Dead-letter entries. */
  deadLetters(): SqsStoredMessage[];
  http(): Promise<HttpInvoke>;
  sqsHandler(): Promise<SqsInvoke>;
  eventBridge(): Promise<EventBridgeInvoke>;
  close(): Promise<void>;
}

const sampleHttp = loadEvent<APIGatewayProxyEvent>('http-alert');

/** An SQS record as the Lambda poller delivers it, with a fresh message id unless one is given. */
export function sqsRecord(body: string, messageId: string = randomUUID(), receiveCount = 1): SQSRecord {
  return record(body, { messageId, receiveCount });
}

/** The record Lambda hands the sqs function when SQS delivers a message the functions queued. */
export function recordFromQueued(message: SqsStoredMessage, receiveCount = 1): SQSRecord {
  return queuedRecord(message, { receiveCount });
}

/** An EventBridge event whose detail is an alert (the custom-event path). */
export function alertEvent(detail: unknown, id: string = randomUUID()): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'Reliability Test',
    source: 'reliability.test',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

/**
 * Starts fresh peers (Gmail-like server, Secrets Manager, SQS, optionally a NAT path) and returns
 * cold-start functions for each handler. The environment is written to `process.env` right before
 * each cold start, since the bundle reads it while it is imported.
 */
export async function deploy(options: DeploymentOptions = {}): Promise<Deployment> {
  const cloud: LocalCloud = await startLocalCloud({
    account: { user: account.user, pass: account.password },
    secretId: SECRET_ID,
    ...(options.signIn ? { signIn: options.signIn } : {}),
    secretValue:
      options.secretValue === undefined && !options.signIn
        ? JSON.stringify({ username: account.user, password: account.spacedPassword })
        : options.secretValue,
    ...(options.gmail ? { gmail: options.gmail } : {}),
    ...(options.natPath ? { smtpProxy: { recordClientBytes: true } } : {}),
    ...(options.stateDelayMs === undefined ? {} : { stateProxy: { oneWayDelayMs: options.stateDelayMs } }),
    signingKey: SIGNING_KEY,
    ...(options.silenceBaseUrl ? { silenceBaseUrl: options.silenceBaseUrl } : {}),
    settings: {
      // The test certificate names localhost; verification is never switched off.
      smtpHost: 'localhost',
      alertTo: [ALERT_TO],
      allowedRecipients: ALLOWED_RECIPIENTS,
      // As the stack sets it: the alerts queue's maxReceiveCount.
      maxReceives: 5,
      smtpTimeoutMs: 2000,
      logLevel: 'INFO',
      // The scenarios send the same alert again and again and expect each mail; the repeat interval
      // has its own tests (test/reliability/alert-state.test.ts).
      repeatSeconds: 0,
      // Property tests send hundreds of alerts to one deployment; the quota guard has its own tests.
      gmailDailyLimit: 100_000,
    },
  });
  const env: Record<string, string | undefined> = { ...cloud.env, POWERTOOLS_DEV: undefined, ...options.env };
  const start = async <E, R>(name: Trigger) => {
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    return coldStart<E, R>(name);
  };
  const { gmail, secrets, sqs, queueUrl, deadLetterQueueUrl } = cloud;
  const deployment: Deployment = {
    gmail,
    secrets,
    secretValue: cloud.secretValue,
    oauth: cloud.oauth,
    signingSecretId: cloud.signingSecretId,
    sqs,
    nat: cloud.smtpProxy,
    state: cloud.state,
    statePath: cloud.stateTableProxy,
    queueUrl,
    deadLetterQueueUrl,
    env,
    functionTimeoutMs: options.functionTimeoutMs ?? FUNCTION_TIMEOUT_MS,
    queued: () => sqs.messages(queueUrl),
    deadLetters: () => sqs.messages(deadLetterQueueUrl),
    async http() {
      const handler = await start<APIGatewayProxyEvent, APIGatewayProxyResult>('http');
      return (body, overrides = {}) => handler({ ...sampleHttp, body, ...overrides }, context());
    },
    async sqsHandler() {
      const handler = await start<SQSEvent, SQSBatchResponse>('sqs');
      return (records) => handler(sqsEvent(records), context());
    },
    async eventBridge() {
      const handler = await start<EventBridgeEvent<string, unknown>, unknown>('eventbridge');
      return (event) => handler(event, context());
    },
    close: () => cloud.close(),
  };
  const context = () => createLambdaContext({ timeoutMs: deployment.functionTimeoutMs });
  return deployment;
}

/** Runs `run` against a fresh deployment and always closes it (one deployment per test). */
export async function withDeployment(
  options: DeploymentOptions,
  run: (deployment: Deployment) => Promise<void>,
): Promise<void> {
  const deployment = await deploy(options);
  try {
    await run(deployment);
  } finally {
    await deployment.close();
  }
}

/** One deployment with all three handlers for a whole test file, its output captured (see {@link captureOutput}). */
export interface SuiteDeployment {
  deployment: Deployment;
  http: HttpInvoke;
  sqs: SqsInvoke;
  eventBridge: EventBridgeInvoke;
}

/**
 * Registers beforeAll/afterAll hooks that deploy once for the file, cold-start every handler and
 * capture all output; the returned object is filled in before the first test runs.
 */
export function deployForSuite(): SuiteDeployment {
  const suite = {} as SuiteDeployment;
  let output: OutputCapture | undefined;
  beforeAll(async () => {
    output = captureOutput();
    suite.deployment = await deploy();
    suite.http = await suite.deployment.http();
    suite.sqs = await suite.deployment.sqsHandler();
    suite.eventBridge = await suite.deployment.eventBridge();
  });
  afterAll(async () => {
    await suite.deployment?.close();
    output?.stop();
  });
  return suite;
}

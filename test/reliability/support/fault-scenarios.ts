import { inspect } from 'node:util';
import type { APIGatewayProxyResult, SQSBatchResponse } from 'aws-lambda';
import { type GmailReply, gmailReplies } from '../../../local/gmail-replies.ts';
import type { SmtpFault } from '../../../local/gmail-server.ts';
import type { SqsStoredMessage } from '../../../local/sqs-endpoint.ts';
import { createUntrustedCertificate } from '../../../local/tls.ts';
import {
  account,
  alertEvent,
  type Deployment,
  type DeploymentOptions,
  deploy,
  FUNCTION_TIMEOUT_MS,
  sqsRecord,
  type Trigger,
} from './deployment.ts';

export const TRIGGERS: readonly Trigger[] = ['http', 'sqs', 'eventbridge'];

/** The advice a person is given, by what it must mention. */
export const ADVICE_PATTERNS = {
  transient: /retried with back-off/,
  secretUnavailable: /Secrets Manager did not answer/,
  quota: /24 h/,
  badCredentials: /App Password/,
  appPassword: /2-Step Verification/,
  browserSignIn: /browser sign-in/,
  tls: /STARTTLS/,
  recipient: /check the address/,
  tooBig: /too large/,
  configSecret: /secret/i,
} as const;
type Advice = keyof typeof ADVICE_PATTERNS;

/** What should become of the alert, from which each trigger's answer follows. */
export type Expected =
  | { outcome: 'delivered'; recipients?: string[] }
  /** Kept for a later attempt: HTTP queues it (202) or fails closed (500 for config); SQS and EventBridge retry. */
  | {
      outcome: 'retried';
      failureClass: 'transient' | 'config';
      advice: Advice;
    }
  /** Gmail's quota blocks the account: every trigger holds the alert on the queue, 15 minutes at a time. */
  | { outcome: 'held'; failureClass: 'quota'; advice: Advice }
  /** Can never succeed as sent: HTTP answers 502, SQS and EventBridge park it in the DLQ with the reason. */
  | { outcome: 'dead-lettered'; failureClass: 'auth' | 'tls' | 'recipient' | 'permanent'; advice: Advice };

export interface FaultScenario {
  name: string;
  /** What the peer or the path does, in a few words (for the scenario table). */
  fault: string;
  deployment?(): Promise<DeploymentOptions> | DeploymentOptions;
  /** Runs before the cold start (which already starts reading the secret). */
  prepare?(deployment: Deployment): void;
  /** Deliver one alert first, so a warm pooled connection exists when the fault is injected. */
  warm?: boolean;
  /** Injects the fault, after the cold start (and the warm-up, if any), before the alert under test. */
  arrange?(deployment: Deployment): void | Promise<void>;
  /** The alert under test, beyond subject and dedupKey. */
  alert?: Record<string, unknown>;
  expected: Expected;
  /** Further checks a user would notice (connections, AUTH attempts, secret reads, bytes on the wire). */
  check?(observation: Observation): void;
}

/** Everything a trigger's invocation produced that a user could see. */
export interface Observation {
  scenario: FaultScenario;
  trigger: Trigger;
  deployment: Deployment;
  dedupKey: string;
  /** The alert as the caller sent it (HTTP body, SQS body; EventBridge detail). */
  body: string;
  /** The record id or event id the DLQ entry must name. */
  sourceId: string;
  elapsedMs: number;
  response?: APIGatewayProxyResult;
  batch?: SQSBatchResponse;
  returned?: unknown;
  thrown?: unknown;
  /** Queue and DLQ entries added by the alert under test (not by the warm-up). */
  queued: SqsStoredMessage[];
  deadLetters: SqsStoredMessage[];
  /** Mails with the alert's dedup key. */
  delivered: { to: string[]; dedupKey: string }[];
}

const slug = (name: string) =>
  name
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();

/**
 * Cold-starts `trigger` against fresh peers, optionally warms a pooled connection, injects the
 * scenario's fault and sends one alert, recording what a user would see.
 */
export async function observe(
  scenario: FaultScenario,
  trigger: Trigger,
  env: Record<string, string> = {},
): Promise<Observation> {
  const options = (await scenario.deployment?.()) ?? {};
  const deployment = await deploy({ ...options, env: { ...options.env, ...env } });
  try {
    const dedupKey = `${slug(scenario.name)}-${trigger}`;
    const alert = { subject: `Reliability: ${scenario.name}`, dedupKey, ...scenario.alert };
    const body = JSON.stringify(alert);
    scenario.prepare?.(deployment);
    const invoke = await invoker(deployment, trigger);
    if (scenario.warm) {
      // The warm-up is a cold TLS send, which a loaded machine may stretch past a scenario's short budget.
      const budget = deployment.functionTimeoutMs;
      deployment.functionTimeoutMs = FUNCTION_TIMEOUT_MS;
      const warmUp = await invoke(JSON.stringify({ subject: 'warm-up', dedupKey: `warm-up-${dedupKey}` }));
      deployment.functionTimeoutMs = budget;
      if (warmUp.thrown !== undefined || !isSuccess(warmUp.result)) {
        throw new Error(`warm-up of ${scenario.name} via ${trigger} failed: ${inspect(warmUp)}`);
      }
    }
    const queuedBefore = deployment.queued().length;
    const deadBefore = deployment.deadLetters().length;
    await scenario.arrange?.(deployment);
    const started = performance.now();
    const { result, thrown, sourceId } = await invoke(body);
    const elapsedMs = performance.now() - started;
    // A mail the server accepted is stored before the 250 goes out, so nothing is in flight now.
    const delivered = deployment.gmail.messages
      .filter((message) => message.parsed.headers.get('x-alert-key') === dedupKey)
      .map((message) => ({ to: message.envelope.to, dedupKey }));
    return {
      scenario,
      trigger,
      deployment,
      dedupKey,
      body,
      sourceId,
      elapsedMs,
      ...(trigger === 'http' ? { response: result as APIGatewayProxyResult } : {}),
      ...(trigger === 'sqs' ? { batch: result as SQSBatchResponse } : {}),
      ...(trigger === 'eventbridge' ? { returned: result } : {}),
      thrown,
      queued: deployment.queued().slice(queuedBefore),
      deadLetters: deployment.deadLetters().slice(deadBefore),
      delivered,
    };
  } finally {
    await deployment.close();
  }
}

const observed = new Map<string, Promise<Observation>>();

/**
 * {@link observe}, once per scenario and trigger in this test file: the per-trigger outcome tests and
 * the never-leaked test look at the same invocations instead of running every fault twice. Each
 * stands alone too (a filtered run observes what it needs). Logs run at DEBUG, the most talkative level.
 */
export function observeOnce(scenario: FaultScenario, trigger: Trigger): Promise<Observation> {
  const key = `${scenario.name}\u0000${trigger}`;
  let observation = observed.get(key);
  if (!observation) {
    observation = observe(scenario, trigger, { POWERTOOLS_LOG_LEVEL: 'DEBUG' });
    observed.set(key, observation);
  }
  return observation;
}

function isSuccess(result: unknown): boolean {
  if (typeof result === 'string') return result === 'delivered';
  const shaped = result as { statusCode?: number; batchItemFailures?: unknown[] };
  if (shaped.statusCode !== undefined) return shaped.statusCode === 200;
  return shaped.batchItemFailures?.length === 0;
}

async function invoker(deployment: Deployment, trigger: Trigger) {
  const settle = async (sourceId: string, run: () => Promise<unknown>) => {
    try {
      return { result: await run(), thrown: undefined, sourceId };
    } catch (thrown) {
      return { result: undefined, thrown, sourceId };
    }
  };
  if (trigger === 'http') {
    const handler = await deployment.http();
    return (body: string) => settle('', () => handler(body));
  }
  if (trigger === 'sqs') {
    const handler = await deployment.sqsHandler();
    return (body: string) => {
      const record = sqsRecord(body);
      return settle(record.messageId, () => handler([record]));
    };
  }
  const handler = await deployment.eventBridge();
  return (body: string) => {
    const event = alertEvent(JSON.parse(body));
    return settle(event.id, () => handler(event));
  };
}

/** Gmail answers the next `at` command with `reply` instead of going on. */
const gmailAnswers = (at: SmtpFault['at'], reply: GmailReply) => (deployment: Deployment) =>
  deployment.gmail.failNext({ at, ...reply });

/** A fault that passes: the alert is kept for a later attempt, and the advice says it is retried with back-off. */
const retriedLater: Expected = { outcome: 'retried', failureClass: 'transient', advice: 'transient' };

/** A fault the alert can never get past as sent: parked in the DLQ (HTTP: 502) with this class and advice. */
const deadLettered = (
  failureClass: Extract<Expected, { outcome: 'dead-lettered' }>['failureClass'],
  advice: Advice,
): Expected => ({ outcome: 'dead-lettered', failureClass, advice });

/**
 * A warm pooled connection the server or the path forgot while the function was frozen, found out on
 * reuse: the client must open a new one and deliver.
 */
const forgottenOnReuse = (
  name: string,
  fault: string,
  flows: 'forgotten-fin' | 'forgotten-rst',
): FaultScenario => ({
  name,
  fault,
  deployment: () => ({ natPath: true }),
  warm: true,
  arrange: (deployment) => deployment.nat?.setOpenFlows(flows),
  expected: { outcome: 'delivered' },
});

const noAuthEver = (observation: Observation) => {
  if (observation.deployment.gmail.stats.authAttempts !== 0) {
    throw new Error(`expected no AUTH attempt, saw ${observation.deployment.gmail.stats.authAttempts}`);
  }
};

/**
 * Every fault the issue names, and what must become of an alert sent into it. The same list drives
 * the per-trigger fault tests, the never-leaked test and the scenario table in SECURITY.md.
 */
export const faultScenarios: FaultScenario[] = [
  forgottenOnReuse(
    'idle connection closed (FIN) while frozen, seen on reuse',
    'server closed the warm connection; the client learns it when it next writes',
    'forgotten-fin',
  ),
  forgottenOnReuse(
    'idle connection reset (RST), seen on reuse',
    'path forgot the flow (NAT after ~350 s); the next write gets RST',
    'forgotten-rst',
  ),
  {
    name: 'blackholed warm connection',
    fault: 'no reply at all on the warm connection (no FIN, no RST)',
    deployment: () => ({ natPath: true, env: { SMTP_TIMEOUT_MS: '1500' } }),
    warm: true,
    arrange: (deployment) => {
      deployment.nat?.setOpenFlows('blackhole');
      deployment.nat?.setNewFlows('blackhole');
    },
    expected: retriedLater,
  },
  {
    name: 'blackholed new connection',
    fault: 'TCP connects, no greeting ever comes',
    deployment: () => ({ natPath: true, env: { SMTP_TIMEOUT_MS: '1500' } }),
    arrange: (deployment) => deployment.nat?.setNewFlows('blackhole'),
    expected: retriedLater,
  },
  {
    name: 'blackholed first connection, with less time left than the SMTP timeouts',
    fault: 'a cold container; TCP connects, no greeting; SMTP_TIMEOUT_MS 8 s but only 3 s left',
    deployment: () => ({ natPath: true, env: { SMTP_TIMEOUT_MS: '8000' }, functionTimeoutMs: 3_000 }),
    arrange: (deployment) => deployment.nat?.setNewFlows('blackhole'),
    expected: retriedLater,
    check: (observation) => {
      // The connection opened ahead of the message does not outlive the message's send deadline.
      if (observation.elapsedMs >= 8_000) throw new Error(`took ${observation.elapsedMs} ms with 3 s left`);
    },
  },
  {
    name: 'blackholed, with less time left than the SMTP timeouts',
    fault: 'no reply at all; SMTP_TIMEOUT_MS 8 s but only 3 s left in the invocation',
    deployment: () => ({ natPath: true, env: { SMTP_TIMEOUT_MS: '8000' }, functionTimeoutMs: 3_000 }),
    warm: true,
    arrange: (deployment) => {
      deployment.nat?.setOpenFlows('blackhole');
      deployment.nat?.setNewFlows('blackhole');
    },
    expected: retriedLater,
    check: (observation) => {
      // The send deadline (time left minus 2 s to answer, so 1 s) ends it, not the 8 s socket timeout:
      // the margin between the two is wide enough that a loaded machine cannot blur it.
      if (observation.elapsedMs >= 8_000) throw new Error(`took ${observation.elapsedMs} ms with 3 s left`);
    },
  },
  {
    name: '421 at greeting',
    fault: '421 4.7.0 Try again later',
    arrange: gmailAnswers('greeting', gmailReplies.tryAgainLater),
    expected: retriedLater,
  },
  {
    name: '454 at AUTH',
    fault: '454 4.7.0 Too many login attempts',
    arrange: gmailAnswers('auth', gmailReplies.tooManyLoginAttempts),
    expected: retriedLater,
    check: (observation) => {
      // Backing off means not trying AUTH again in the same invocation.
      if (observation.deployment.gmail.stats.authAttempts !== 1)
        throw new Error('AUTH was retried after 454');
    },
  },
  {
    name: '535 wrong or revoked App Password',
    fault: '535-5.7.8 Username and Password not accepted',
    deployment: () => ({ gmail: { users: { [account.user]: 'some-other-password' } } }),
    expected: deadLettered('auth', 'badCredentials'),
    check: (observation) => {
      // One refetch of the secret, no second AUTH with the same password: no login loop.
      if (observation.deployment.gmail.stats.authAttempts !== 1)
        throw new Error('AUTH was retried after 535');
      const reads = observation.deployment.secrets.calls;
      if (reads !== 2)
        throw new Error(`expected the cold-start read and one refetch after 535, saw ${reads} reads`);
    },
  },
  {
    name: '534 5.7.9 App Password required',
    fault: '534-5.7.9 Application-specific password required',
    arrange: gmailAnswers('auth', gmailReplies.applicationSpecificPasswordRequired),
    expected: deadLettered('auth', 'appPassword'),
  },
  {
    name: '534 5.7.14 browser sign-in required',
    fault: '534-5.7.14 Please log in with your web browser',
    arrange: gmailAnswers('auth', gmailReplies.webLoginRequired),
    expected: deadLettered('auth', 'browserSignIn'),
  },
  {
    name: '530 5.7.0 STARTTLS required',
    fault: '530 5.7.0 Must issue a STARTTLS command first (at MAIL)',
    arrange: gmailAnswers('mail', gmailReplies.mustIssueStartTls),
    expected: deadLettered('tls', 'tls'),
  },
  {
    name: 'STARTTLS not offered',
    fault: 'server does not offer STARTTLS (stripped or misconfigured)',
    deployment: () => ({ natPath: true, gmail: { offerStartTls: false } }),
    expected: deadLettered('tls', 'tls'),
    check: (observation) => {
      noAuthEver(observation);
      const wire = Buffer.concat(observation.deployment.nat?.clientBytes.flat() ?? []).toString('latin1');
      if (!/EHLO/.test(wire)) throw new Error('the wire tap saw no SMTP at all');
      if (/AUTH|MAIL FROM/i.test(wire)) throw new Error(`the client spoke in plaintext: ${wire}`);
    },
  },
  {
    name: 'untrusted certificate',
    fault: 'STARTTLS with a self-signed certificate no CA vouches for',
    deployment: async () => {
      const untrusted = await createUntrustedCertificate();
      return { gmail: { tls: { cert: untrusted.certPem, key: untrusted.keyPem } } };
    },
    expected: deadLettered('tls', 'tls'),
    check: (observation) => {
      noAuthEver(observation);
      // A refused certificate is not a stale connection: no second attempt.
      const connections = observation.deployment.gmail.stats.connections;
      if (connections !== 1) throw new Error(`expected one TLS attempt, saw ${connections} connections`);
    },
  },
  {
    name: '550 5.4.5 daily sending quota exceeded',
    fault: '550-5.4.5 Daily user sending limit exceeded (at MAIL)',
    arrange: gmailAnswers('mail', gmailReplies.dailyLimitExceeded),
    expected: { outcome: 'held', failureClass: 'quota', advice: 'quota' },
  },
  {
    name: '452 4.5.3 too many recipients',
    fault: 'server takes at most 2 recipients per message, then 452-4.5.3',
    deployment: () => ({ gmail: { maxRecipients: 2 } }),
    alert: {
      to: [
        'a@ops.example.com',
        'b@ops.example.com',
        'c@ops.example.com',
        'd@ops.example.com',
        'oncall@example.com',
      ],
    },
    expected: {
      outcome: 'delivered',
      recipients: [
        'a@ops.example.com',
        'b@ops.example.com',
        'c@ops.example.com',
        'd@ops.example.com',
        'oncall@example.com',
      ],
    },
  },
  {
    name: '552 5.3.4 message too large',
    fault: "552-5.3.4 Your message exceeded Google's message size limits (at DATA)",
    arrange: gmailAnswers('data', gmailReplies.messageTooBig),
    expected: deadLettered('permanent', 'tooBig'),
  },
  {
    name: '550 5.1.1 no such user',
    fault: '550-5.1.1 The email account does not exist (at RCPT)',
    arrange: gmailAnswers('rcpt', gmailReplies.noSuchUser),
    expected: deadLettered('recipient', 'recipient'),
  },
  {
    name: 'Secrets Manager throttled',
    fault: 'GetSecretValue answers ThrottlingException, every attempt',
    prepare: (deployment) => deployment.secrets.failNext('throttle', 20),
    expected: { outcome: 'retried', failureClass: 'transient', advice: 'secretUnavailable' },
    check: noAuthEver,
  },
  {
    name: 'secret missing',
    fault: 'GetSecretValue answers ResourceNotFoundException',
    deployment: () => ({ secretValue: null }),
    expected: { outcome: 'retried', failureClass: 'config', advice: 'configSecret' },
    check: noAuthEver,
  },
  {
    name: 'secret malformed',
    fault: 'secret value is not {"username","password"} JSON',
    deployment: () => ({ secretValue: `user=${account.user} password=${account.spacedPassword}` }),
    expected: { outcome: 'retried', failureClass: 'config', advice: 'configSecret' },
    check: noAuthEver,
  },
];

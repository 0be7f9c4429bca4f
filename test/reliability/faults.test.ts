import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ALERT_TO,
  account,
  alertEvent,
  deploy,
  FUNCTION_TIMEOUT_MS,
  SIGNING_KEY,
  sqsRecord,
} from './support/deployment.ts';
import {
  ADVICE_PATTERNS,
  type Expected,
  type FaultScenario,
  faultScenarios,
  type Observation,
  observeOnce,
  TRIGGERS,
} from './support/fault-scenarios.ts';
import { hostileInputs } from './support/hostile-inputs.ts';
import {
  type Artifact,
  artifactsOf,
  describeThrown,
  findSecret,
  secretForms,
  signingKeyForms,
} from './support/leak-search.ts';
import { captureFileOutput } from './support/output-capture.ts';

const output = captureFileOutput();

const errorBody = (observation: Observation) => JSON.parse(observation.response?.body ?? '{}').error;

function expectHttp(observation: Observation, expected: Expected) {
  const { response } = observation;
  expect(observation.thrown).toBeUndefined();
  if (expected.outcome === 'delivered') {
    expect(response?.statusCode).toBe(200);
    const receipt = JSON.parse(response?.body ?? '{}');
    expect(receipt).toMatchObject({ messageId: expect.any(String), queued: [], refused: [] });
    expect([...receipt.accepted].sort()).toEqual([...(expected.recipients ?? [ALERT_TO])].sort());
    expect(observation.queued).toEqual([]);
    return;
  }
  if (expected.outcome === 'held' || (expected.outcome === 'retried' && expected.failureClass !== 'config')) {
    // Never dropped: the alert is on the durable queue (held back 15 minutes for a quota block).
    expect(response?.statusCode).toBe(202);
    expect(JSON.parse(response?.body ?? '{}')).toEqual({
      queued: true,
      reason: {
        class: expected.failureClass,
        advice: expect.stringMatching(ADVICE_PATTERNS[expected.advice]),
      },
    });
    expect(observation.queued).toHaveLength(1);
    expect(observation.queued[0]?.Body).toBe(observation.body);
    if (expected.outcome === 'held') expectHeld(observation);
    else expect(observation.queued[0]?.DelaySeconds ?? 0).toBe(0);
    return;
  }
  // Configuration errors fail closed (500); final Gmail refusals are a bad gateway (502).
  expect(response?.statusCode).toBe(expected.failureClass === 'config' ? 500 : 502);
  expect(errorBody(observation)).toMatchObject({
    class: expected.failureClass,
    advice: expect.stringMatching(ADVICE_PATTERNS[expected.advice]),
  });
  expect(response?.body).not.toMatch(/\bat .+:\d+:\d+/);
  expect(observation.queued).toEqual([]);
}

/** A quota hold: one message back on the alerts queue, 15 minutes out, stamped with when the hold began. */
function expectHeld(observation: Observation) {
  expect(observation.deadLetters).toEqual([]);
  expect(observation.queued).toHaveLength(1);
  const [held] = observation.queued;
  expect(held?.DelaySeconds).toBe(900);
  const since = Number(held?.MessageAttributes.heldSince?.StringValue);
  expect(Date.now() - since).toBeGreaterThanOrEqual(0);
  expect(Date.now() - since).toBeLessThan(60_000);
  if (observation.trigger === 'eventbridge')
    expect(JSON.parse(held?.Body ?? '{}').id).toBe(observation.sourceId);
  else expect(held?.Body).toBe(observation.body);
}

function expectDeadLetter(observation: Observation, expected: Expected & { outcome: 'dead-lettered' }) {
  expect(observation.deadLetters).toHaveLength(1);
  const [entry] = observation.deadLetters;
  // The original input, unchanged, so it can be fixed and redriven.
  if (observation.trigger === 'sqs') expect(entry?.Body).toBe(observation.body);
  else
    expect(JSON.parse(entry?.Body ?? '{}')).toMatchObject({
      id: observation.sourceId,
      detail: JSON.parse(observation.body),
    });
  expect(entry?.MessageAttributes).toMatchObject({
    failureClass: { DataType: 'String', StringValue: expected.failureClass },
    advice: {
      DataType: 'String',
      StringValue: expect.stringMatching(ADVICE_PATTERNS[expected.advice]),
    },
    reason: { DataType: 'String', StringValue: expect.stringContaining(expected.failureClass) },
    trigger: { DataType: 'String', StringValue: observation.trigger },
    sourceId: { DataType: 'String', StringValue: observation.sourceId },
  });
}

function expectThrownClass(thrown: unknown, expected: Expected & { outcome: 'retried' }) {
  expect(thrown).toBeInstanceOf(Error);
  expect(thrown).toMatchObject({
    failureClass: expected.failureClass,
    name:
      expected.failureClass === 'config'
        ? 'ConfigError'
        : expect.stringMatching(/^(DeliveryError|SecretUnavailableError)$/),
  });
}

function expectSqs(observation: Observation, expected: Expected) {
  expect(observation.thrown).toBeUndefined();
  if (expected.outcome === 'dead-lettered') {
    // Handled: parked with its reason, so SQS does not redeliver it.
    expect(observation.batch).toEqual({ batchItemFailures: [] });
    expectDeadLetter(observation, expected);
    return;
  }
  if (expected.outcome === 'held') {
    // Handled: a delayed copy is back on the queue, so the receive count starts again.
    expect(observation.batch).toEqual({ batchItemFailures: [] });
    expectHeld(observation);
    return;
  }
  expect(observation.deadLetters).toEqual([]);
  expect(observation.batch).toEqual({
    batchItemFailures: expected.outcome === 'delivered' ? [] : [{ itemIdentifier: observation.sourceId }],
  });
}

function expectEventBridge(observation: Observation, expected: Expected) {
  if (expected.outcome === 'retried') {
    // Thrown, so Lambda's asynchronous retries and the on-failure destination keep the event.
    expectThrownClass(observation.thrown, expected);
    expect(observation.deadLetters).toEqual([]);
    return;
  }
  expect(observation.thrown).toBeUndefined();
  if (expected.outcome === 'held') {
    expect(observation.returned).toBe('held');
    expectHeld(observation);
    return;
  }
  if (expected.outcome === 'delivered') {
    expect(observation.returned).toBe('delivered');
    expect(observation.deadLetters).toEqual([]);
    return;
  }
  expect(observation.returned).toBe('parked');
  expectDeadLetter(observation, expected);
}

function expectDelivery(observation: Observation, expected: Expected) {
  if (expected.outcome !== 'delivered') {
    expect(observation.delivered).toEqual([]);
    return;
  }
  expect(observation.delivered.length).toBeGreaterThanOrEqual(1);
  const recipients = observation.delivered.flatMap((mail) => mail.to).sort();
  expect(recipients).toEqual([...(expected.recipients ?? [ALERT_TO])].sort());
}

const cases = faultScenarios.flatMap((scenario) =>
  TRIGGERS.map((trigger) => [scenario.name, trigger, scenario] as const),
);

describe('Gmail, network and Secrets Manager faults, per trigger', () => {
  it.each(cases)('%s via %s', async (_name, trigger, scenario: FaultScenario) => {
    const observation = await observeOnce(scenario, trigger);

    if (trigger === 'http') expectHttp(observation, scenario.expected);
    if (trigger === 'sqs') expectSqs(observation, scenario.expected);
    if (trigger === 'eventbridge') expectEventBridge(observation, scenario.expected);
    expectDelivery(observation, scenario.expected);
    scenario.check?.(observation);
    // Every outcome is decided far inside the function timeout.
    expect(observation.elapsedMs).toBeLessThan(FUNCTION_TIMEOUT_MS / 3);
  });
});

describe('the scenario table', () => {
  it('in SECURITY.md names every fault scenario', () => {
    const security = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8');
    // One row per scenario: its name and what the peer does, however the table's columns are padded.
    const rows = security.split('\n').map((line) => line.split('|').map((cell) => cell.trim()));
    for (const scenario of faultScenarios) {
      expect(
        rows.some((cells) => cells[1] === scenario.name && cells[2] === scenario.fault),
        scenario.name,
      ).toBe(true);
    }
  });
});

// The App Password, and the key that signs silence links (in every deployment's Secrets Manager).
const forms = new Map([
  ...secretForms(account.user, account.password, account.spacedPassword),
  ...signingKeyForms(SIGNING_KEY),
]);

describe('never leaked', () => {
  it('finds the password in every form it searches for, so a leak could not go unnoticed', () => {
    const plainToken = Buffer.from(`\u0000${account.user}\u0000${account.password}`).toString('base64');
    const loginToken = Buffer.from(account.password).toString('base64');
    const embedded = Buffer.from(`{"user":"${account.user}","pass":"${account.spacedPassword}"}`).toString(
      'base64',
    );

    expect(findSecret(`C: AUTH PLAIN ${plainToken}`, forms)).toContain('AUTH PLAIN token (without spaces)');
    expect(findSecret(`C: ${loginToken}`, forms)).toContain('AUTH LOGIN password (without spaces)');
    expect(findSecret(embedded, forms).length).toBeGreaterThan(0);
    expect(findSecret(`password=${account.password}`, forms)).toEqual(['plain password']);
    expect(findSecret(`"password":"${account.spacedPassword}"`, forms)).toContain('password with spaces');
    expect(findSecret('abcd efgh ijkl mnop', forms)).toEqual([]);
  });

  // Every fault scenario through every trigger (the same invocations the tests above assert on,
  // observed once), then every hostile input through every trigger, all at log level DEBUG.
  it('shows the App Password in no log line, error, DLQ entry, queued message or HTTP response, across every fault and input scenario', async () => {
    const artifacts: Artifact[] = [];
    let authSuccesses = 0;

    for (const scenario of faultScenarios) {
      for (const trigger of TRIGGERS) {
        const observation = await observeOnce(scenario, trigger);
        authSuccesses += observation.deployment.gmail.stats.authSuccesses;
        artifacts.push(...artifactsOf(observation));
      }
    }

    const deployment = await deploy({ env: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } });
    try {
      const http = await deployment.http();
      const sqs = await deployment.sqsHandler();
      const eventBridge = await deployment.eventBridge();
      for (const input of hostileInputs) {
        artifacts.push({ where: `${input.name} via http`, text: JSON.stringify(await http(input.body)) });
        artifacts.push({
          where: `${input.name} via sqs`,
          text: JSON.stringify(await sqs([sqsRecord(input.body || ' ')])),
        });
        if (!input.eventBridge) continue;
        try {
          const outcome = await eventBridge(alertEvent(JSON.parse(input.body)));
          artifacts.push({ where: `${input.name} via eventbridge`, text: JSON.stringify(outcome) });
        } catch (thrown) {
          artifacts.push({ where: `${input.name} via eventbridge: thrown`, text: describeThrown(thrown) });
        }
      }
      expect(deployment.deadLetters().length).toBeGreaterThanOrEqual(hostileInputs.length);
      artifacts.push({ where: 'hostile input: DLQ entries', text: JSON.stringify(deployment.deadLetters()) });
    } finally {
      await deployment.close();
    }
    artifacts.push({ where: 'captured stdout, stderr and console', text: output.text() });

    // The password was really in play (Gmail accepted it), and the bundles' logs really were captured.
    expect(authSuccesses).toBeGreaterThan(0);
    expect(output.logLines().map((line) => line.message)).toEqual(
      expect.arrayContaining([
        'Alert delivered',
        'Alert parked in the dead-letter queue',
        'Alert not delivered; left for retry',
      ]),
    );
    expect(output.logLines().some((line) => line.level === 'DEBUG' || line.level === 'INFO')).toBe(true);
    const leaks = artifacts.flatMap((artifact) =>
      findSecret(artifact.text, forms).map((form) => `${form} in ${artifact.where}`),
    );
    expect(leaks).toEqual([]);
  }, 120_000);
});

import { createServer } from 'node:net';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmailReplies } from '../../local/gmail-replies.ts';
import type { ReceivedMessage } from '../../local/gmail-server.ts';
import type { ChunkEvent, TcpProxy } from '../../local/tcp-proxy.ts';
import { alertEvent, type Deployment, deploy, recordFromQueued, sqsRecord } from './support/deployment.ts';
import { captureOutput, type OutputCapture } from './support/output-capture.ts';

// The built bundles against dynalite (the DynamoDB API on loopback) through the real AWS SDK.

// Long enough that a test's alerts of one key fall in one window on a loaded machine, short enough to wait out once.
const REPEAT_SECONDS = 6;

let output: OutputCapture;
beforeAll(() => {
  output = captureOutput();
});
afterAll(() => output.stop());

let serial = 0;
/** An alert of its own key, so one test's state never meets another's. */
function alertOf(overrides: Record<string, unknown> = {}) {
  serial += 1;
  return { subject: `Queue depth over 1000 on orders (${serial})`, severity: 'warning', ...overrides };
}

const textOf = (mail: ReceivedMessage | undefined) => mail?.parsed.text ?? '';

/** The values of one metric in the EMF lines written so far (namespace GmailAlerts), in order. */
function metricValues(name: string): number[] {
  return output.logLines().flatMap((line) => {
    const emf = line._aws as { CloudWatchMetrics?: { Namespace: string; Metrics: { Name: string }[] }[] };
    const declared = emf?.CloudWatchMetrics?.some(
      (directive) =>
        directive.Namespace === 'GmailAlerts' && directive.Metrics.some((metric) => metric.Name === name),
    );
    if (!declared) return [];
    const value = line[name];
    return (Array.isArray(value) ? value : [value]) as number[];
  });
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Writes one item into the deployment's state table, as another execution environment would have. */
async function putStateItem(deployment: Deployment, item: Record<string, unknown>): Promise<void> {
  const state = deployment.state as NonNullable<Deployment['state']>;
  await state.clients.documents.send(new PutCommand({ TableName: state.tableName, Item: item }));
}

async function mailsAfter(deployment: Deployment, before: number, settleMs = 300) {
  // A mail that should not arrive gets a moment to do so anyway.
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return deployment.gmail.messages.slice(before);
}

describe('idempotent delivery', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await deploy({ env: { ALERT_REPEAT_SECONDS: '0' } });
  });
  afterAll(() => deployment.close());

  it('sends one mail for an SQS record delivered twice with the same message id', async () => {
    const sqs = await deployment.sqsHandler();
    const record = sqsRecord(JSON.stringify(alertOf()));
    const before = deployment.gmail.messages.length;

    expect(await sqs([record])).toEqual({ batchItemFailures: [] });
    expect(
      await sqs([{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }]),
    ).toEqual({ batchItemFailures: [] });

    expect(await mailsAfter(deployment, before)).toHaveLength(1);
    const items = (await deployment.state?.items()) ?? [];
    expect(items.map((item) => String(item.pk))).toContainEqual(expect.stringMatching(/^idempotency#sqs#/));
  });

  it('sends one mail for an EventBridge event retried with the same event id', async () => {
    const eventBridge = await deployment.eventBridge();
    const event = alertEvent(alertOf());
    const before = deployment.gmail.messages.length;

    expect(await eventBridge(event)).toBe('delivered');
    expect(await eventBridge(event)).toBe('delivered');
    expect(await eventBridge(alertEvent(event.detail))).toBe('delivered');

    expect(await mailsAfter(deployment, before)).toHaveLength(2);
  });

  it('answers a repeated Idempotency-Key with the first answer and sends one mail', async () => {
    const http = await deployment.http();
    const body = JSON.stringify(alertOf());
    const before = deployment.gmail.messages.length;

    const first = await http(body, { headers: { 'Idempotency-Key': 'deploy-42-disk' } });
    const again = await http(body, { headers: { 'idempotency-key': 'deploy-42-disk' } });
    const unkeyed = await http(body, { headers: {} });

    expect(first.statusCode).toBe(200);
    expect(again).toEqual(first);
    expect(unkeyed.statusCode).toBe(200);
    expect(JSON.parse(unkeyed.body).messageId).not.toBe(JSON.parse(first.body).messageId);
    expect(await mailsAfter(deployment, before)).toHaveLength(2);
  });

  it('refuses an Idempotency-Key used again for a different alert, and sends nothing for it', async () => {
    const http = await deployment.http();
    const before = deployment.gmail.messages.length;
    const headers = { 'Idempotency-Key': 'reused-key-7' };

    expect((await http(JSON.stringify(alertOf()), { headers })).statusCode).toBe(200);
    const reused = await http(JSON.stringify(alertOf()), { headers });

    expect(reused.statusCode).toBe(400);
    expect(JSON.parse(reused.body).error.fields).toEqual([
      { field: 'Idempotency-Key', message: 'was used before for a different alert; use a new key' },
    ]);
    expect(await mailsAfter(deployment, before)).toHaveLength(1);
  });

  it('refuses an Idempotency-Key that is not printable ASCII', async () => {
    const http = await deployment.http();
    const response = await http(JSON.stringify(alertOf()), { headers: { 'Idempotency-Key': 'two words' } });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.fields[0].field).toBe('Idempotency-Key');
  });

  it('sends a record again whose first delivery failed, and still the per-recipient copy', async () => {
    const sqs = await deployment.sqsHandler();
    const deferred = 'dev@ops.example.com';
    const record = sqsRecord(JSON.stringify(alertOf({ to: ['oncall@example.com', deferred] })));
    const queuedBefore = deployment.queued().length;
    const before = deployment.gmail.messages.length;

    deployment.gmail.failNext({ at: 'mail', ...gmailReplies.tryAgainLater });
    expect(await sqs([record])).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    deployment.gmail.failRecipient(deferred, gmailReplies.recipientRateLimited, 1);
    expect(
      await sqs([{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }]),
    ).toEqual({ batchItemFailures: [] });
    const copies = deployment.queued().slice(queuedBefore);
    expect(copies).toHaveLength(1);
    const copy = recordFromQueued(copies[0] as (typeof copies)[number]);
    expect(await sqs([copy])).toEqual({ batchItemFailures: [] });
    // The original redelivered once more: nothing new.
    expect(
      await sqs([{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '3' } }]),
    ).toEqual({ batchItemFailures: [] });

    const mails = await mailsAfter(deployment, before);
    expect(mails.map((mail) => mail.envelope.to)).toEqual([['oncall@example.com'], [deferred]]);
  });
});

describe('repeat interval per dedupKey', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await deploy({ env: { ALERT_REPEAT_SECONDS: String(REPEAT_SECONDS) } });
  });
  afterAll(() => deployment.close());

  it('mails a storm of one key once and tells the next mail after the window how many it stands for', async () => {
    const sqs = await deployment.sqsHandler();
    const http = await deployment.http();
    const alert = alertOf({ dedupKey: 'orders-queue-depth' });
    const before = deployment.gmail.messages.length;
    const storm = 6;
    output.clear();

    expect(await sqs([sqsRecord(JSON.stringify(alert))])).toEqual({ batchItemFailures: [] });
    const stormStart = new Date();
    // A batch of five in parallel, then one more over HTTP: all inside the window.
    const records = Array.from({ length: storm - 1 }, () => sqsRecord(JSON.stringify(alert)));
    expect(await sqs(records)).toEqual({ batchItemFailures: [] });
    const counted = await http(JSON.stringify(alert), { headers: {} });
    expect(counted.statusCode).toBe(202);
    expect(JSON.parse(counted.body)).toMatchObject({ counted: true, repeats: storm });
    expect(await mailsAfter(deployment, before)).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, REPEAT_SECONDS * 1000 + 200));
    expect(await sqs([sqsRecord(JSON.stringify(alert))])).toEqual({ batchItemFailures: [] });

    const mails = await mailsAfter(deployment, before, 0);
    expect(mails).toHaveLength(2);
    const since = /Stands for (\d+) repeats since (\S+)/.exec(textOf(mails[1]));
    expect(since?.[1]).toBe(String(storm));
    const sinceMs = Date.parse(since?.[2] ?? '');
    expect(sinceMs).toBeGreaterThanOrEqual(stormStart.getTime() - 1000);
    expect(sinceMs).toBeLessThanOrEqual(Date.now());
    expect(textOf(mails[0])).not.toMatch(/Stands for/);
    expect(sum(metricValues('RepeatsSuppressed'))).toBe(storm);
    expect(sum(metricValues('Sent'))).toBe(2);
  });

  it('sends a resolved alert at once and reopens the window', async () => {
    const eventBridge = await deployment.eventBridge();
    const firing = alertOf({ dedupKey: 'payments-5xx' });
    const before = deployment.gmail.messages.length;

    expect(await eventBridge(alertEvent(firing))).toBe('delivered');
    expect(await eventBridge(alertEvent(firing))).toBe('counted');
    expect(await eventBridge(alertEvent({ ...firing, status: 'resolved' }))).toBe('delivered');
    expect(await eventBridge(alertEvent(firing))).toBe('delivered');

    const mails = await mailsAfter(deployment, before);
    expect(mails).toHaveLength(3);
    expect(mails.map((mail) => mail.parsed.headers.get('x-alert-key'))).toEqual([
      'payments-5xx',
      'payments-5xx',
      'payments-5xx',
    ]);
    expect(textOf(mails[1])).toMatch(/Stands for 1 repeat since /);
    expect(textOf(mails[2])).not.toMatch(/Stands for/);
  });

  it('sends a change of severity at once', async () => {
    const eventBridge = await deployment.eventBridge();
    const warning = alertOf({ dedupKey: 'disk-db-1', severity: 'warning' });
    const before = deployment.gmail.messages.length;

    expect(await eventBridge(alertEvent(warning))).toBe('delivered');
    expect(await eventBridge(alertEvent(warning))).toBe('counted');
    expect(await eventBridge(alertEvent({ ...warning, severity: 'critical' }))).toBe('delivered');
    expect(await eventBridge(alertEvent({ ...warning, severity: 'critical' }))).toBe('counted');

    const mails = await mailsAfter(deployment, before);
    expect(mails.map((mail) => mail.parsed.headers.get('x-alert-severity'))).toEqual(['warning', 'critical']);
  });

  it('mails the retry of an alert whose first attempt Gmail refused, instead of counting it', async () => {
    const sqs = await deployment.sqsHandler();
    const record = sqsRecord(JSON.stringify(alertOf({ dedupKey: 'cache-evictions' })));
    const before = deployment.gmail.messages.length;

    deployment.gmail.failNext({ at: 'mail', ...gmailReplies.tryAgainLater });
    expect(await sqs([record])).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(
      await sqs([{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }]),
    ).toEqual({ batchItemFailures: [] });

    expect(await mailsAfter(deployment, before)).toHaveLength(1);
  });

  it('mails an SQS record that two containers receive at once exactly once, and holds its window', async () => {
    // Two execution environments of the sqs function, as SQS's at-least-once delivery can reach.
    const first = await deployment.sqsHandler();
    const second = await deployment.sqsHandler();
    const keys = Array.from({ length: 4 }, (_, round) => `replica-lag-race-${round}`);
    const before = deployment.gmail.messages.length;

    for (const dedupKey of keys) {
      const record = sqsRecord(JSON.stringify(alertOf({ dedupKey })));
      const answers = await Promise.all([first([record]), second([record])]);
      // The one that found the other's delivery in progress hands the record back; its retry sends nothing.
      for (const [index, answer] of answers.entries()) {
        if (answer.batchItemFailures.length === 0) continue;
        const retry = index === 0 ? first : second;
        expect(
          await retry([{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }]),
        ).toEqual({ batchItemFailures: [] });
      }
      // Another firing of the key inside the window is counted: the window is held by the mail sent.
      expect(await first([sqsRecord(JSON.stringify(alertOf({ dedupKey })))])).toEqual({
        batchItemFailures: [],
      });
    }

    const mails = await mailsAfter(deployment, before);
    expect(mails.map((mail) => mail.parsed.headers.get('x-alert-key'))).toEqual(keys);
  });

  it('mails a delivery whose key was claimed a moment ago by another attempt of the same delivery', async () => {
    // The other copy of the record won the key's window but lost the idempotency record: it sends
    // nothing, so this attempt must mail rather than count the alert as a repeat of that claim.
    const sqs = await deployment.sqsHandler();
    const dedupKey = 'replica-lag-claimed';
    const record = sqsRecord(JSON.stringify(alertOf({ dedupKey })));
    await putStateItem(deployment, {
      pk: `repeat#${dedupKey}`,
      lastSentAt: Date.now(),
      severity: 'warning',
      claim: 'claim-of-the-other-attempt',
      claimBy: `sqs#${record.messageId}`,
    });
    const before = deployment.gmail.messages.length;

    expect(await sqs([record])).toEqual({ batchItemFailures: [] });
    // A different delivery of the key inside the window is counted.
    expect(await sqs([sqsRecord(JSON.stringify(alertOf({ dedupKey })))])).toEqual({ batchItemFailures: [] });

    const mails = await mailsAfter(deployment, before);
    expect(mails.map((mail) => mail.parsed.headers.get('x-alert-key'))).toEqual([dedupKey]);
  });

  it('keeps each kind of item under its own key prefix', async () => {
    const keys = ((await deployment.state?.items()) ?? []).map((item) => String(item.pk));
    expect(keys).toContain('repeat#orders-queue-depth');
    expect(keys).toContainEqual(expect.stringMatching(/^quota#sent#\d{4}-\d\d-\d\dT\d\d$/));
    expect(keys.every((key) => /^(?:idempotency|repeat|quota|digest)#/.test(key))).toBe(true);
  });
});

describe('a cold container', () => {
  it("opens its Gmail connection while the state table's round is still out", async () => {
    // Every DynamoDB answer takes 1.2 s: the connection must not wait for them.
    const deployment = await deploy({ stateDelayMs: 600, env: { ALERT_REPEAT_SECONDS: '3600' } });
    try {
      const sqs = await deployment.sqsHandler();
      const statePath = deployment.statePath as NonNullable<Deployment['statePath']>;
      const answered = statePath.roundTrips;
      const delivery = sqs([sqsRecord(JSON.stringify(alertOf({ dedupKey: 'cold-overlap' })))]);

      const deadline = Date.now() + 5_000;
      while (deployment.gmail.stats.authAttempts === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(deployment.gmail.stats.authAttempts).toBe(1);
      // Signed in to Gmail before DynamoDB had answered anything of this invocation (or of init).
      expect(statePath.roundTrips).toBe(answered);

      expect(await delivery).toEqual({ batchItemFailures: [] });
      expect(deployment.gmail.stats.connections).toBe(1);
      expect(deployment.gmail.messages.map((mail) => mail.parsed.headers.get('x-alert-key'))).toEqual([
        'cold-overlap',
      ]);
    } finally {
      await deployment.close();
    }
  });
});

describe("a cold container's state round", () => {
  it("waits for Gmail's greeting, so its first requests do not hold the handshake back", async () => {
    const deployment = await deploy({
      natPath: true,
      stateDelayMs: 0,
      env: { ALERT_REPEAT_SECONDS: '3600' },
    });
    try {
      const sqs = await deployment.sqsHandler();
      const smtp = deployment.nat as TcpProxy;
      const state = deployment.statePath as TcpProxy;
      // What init started (the quota counters' read) is done before the alert arrives.
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The greeting reaches the function 30 ms after it connects: later than the round would go
      // without waiting, well within the wait (100 ms).
      smtp.oneWayDelayMs = 30;
      const since = performance.now();

      expect(await sqs([sqsRecord(JSON.stringify(alertOf({ dedupKey: 'cold-greeting' })))])).toEqual({
        batchItemFailures: [],
      });

      const greeting = smtp.chunks.find((chunk) => chunk.at > since && chunk.direction === 'to-client');
      const firstRequest = state.chunks.find(
        (chunk) => chunk.at > since && chunk.direction === 'from-client',
      );
      expect(greeting).toBeDefined();
      expect(firstRequest).toBeDefined();
      expect((firstRequest as ChunkEvent).at).toBeGreaterThan((greeting as ChunkEvent).at);
      expect(deployment.gmail.messages.map((mail) => mail.parsed.headers.get('x-alert-key'))).toEqual([
        'cold-greeting',
      ]);
    } finally {
      await deployment.close();
    }
  });

  it('does not wait for a greeting that never comes: a repeat is counted at once', async () => {
    const deployment = await deploy({ natPath: true, env: { ALERT_REPEAT_SECONDS: '3600' } });
    try {
      const warm = await deployment.sqsHandler();
      expect(await warm([sqsRecord(JSON.stringify(alertOf({ dedupKey: 'cold-blackhole' })))])).toEqual({
        batchItemFailures: [],
      });
      // A new container, and Gmail's path goes silent: its connection never gets a greeting.
      const cold = await deployment.sqsHandler();
      (deployment.nat as TcpProxy).setNewFlows('blackhole');
      const started = performance.now();

      expect(await cold([sqsRecord(JSON.stringify(alertOf({ dedupKey: 'cold-blackhole' })))])).toEqual({
        batchItemFailures: [],
      });

      // Counted against the key's window without waiting out the SMTP timeouts (2 s here).
      expect(performance.now() - started).toBeLessThan(1_500);
      const item = ((await deployment.state?.items()) ?? []).find(
        (entry) => entry.pk === 'repeat#cold-blackhole',
      );
      expect(item?.repeats).toBe(1);
    } finally {
      await deployment.close();
    }
  });
});

describe('without the state table', () => {
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it('still mails every alert when the table cannot be reached, and logs the failure', async () => {
    const port = await closedPort();
    const deployment = await deploy({
      env: { ALERT_REPEAT_SECONDS: '3600', AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}` },
    });
    try {
      output.clear();
      const sqs = await deployment.sqsHandler();
      const eventBridge = await deployment.eventBridge();
      const http = await deployment.http();
      const alert = alertOf({ dedupKey: 'table-down' });

      expect(await sqs([sqsRecord(JSON.stringify(alert))])).toEqual({ batchItemFailures: [] });
      expect(await eventBridge(alertEvent(alert))).toBe('delivered');
      const response = await http(JSON.stringify(alert), { headers: { 'Idempotency-Key': 'table-down-1' } });
      expect(response.statusCode).toBe(200);

      expect(await deployment.gmail.waitForMessages(3)).toHaveLength(3);
      const failures = output
        .logLines()
        .filter((line) => line.message === 'Alert state store failed; delivering without it');
      expect(failures.map((line) => line.stateOperation)).toEqual(
        expect.arrayContaining(['idempotency', 'repeat-check', 'quota-check']),
      );
      expect(failures.length).toBeGreaterThanOrEqual(6);
    } finally {
      await deployment.close();
    }
  });

  it('waits out a table that never answers once, then leaves it alone while the alert goes out', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const blackhole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const { port } = blackhole.address() as { port: number };
    const deployment = await deploy({
      env: { ALERT_REPEAT_SECONDS: '3600', AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}` },
    });
    try {
      output.clear();
      const http = await deployment.http();
      const started = Date.now();
      const response = await http(JSON.stringify(alertOf({ dedupKey: 'table-silent' })), {
        headers: { 'Idempotency-Key': 'table-silent-1' },
      });
      const elapsedMs = Date.now() - started;

      expect(response.statusCode).toBe(200);
      expect(await deployment.gmail.waitForMessages(1)).toHaveLength(1);
      // One operation waits out the timeouts (2 attempts of 2 s); the others are not tried.
      expect(elapsedMs).toBeLessThan(8_000);
      const failures = output
        .logLines()
        .filter((line) => line.message === 'Alert state store failed; delivering without it');
      expect(failures.map((line) => line.error)).toContain('StateStoreUnavailableError');
    } finally {
      await deployment.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  }, 20_000);

  it('mails every alert without ALERT_STATE_TABLE, as a stateless deployment does', async () => {
    const deployment = await deploy({ env: { ALERT_STATE_TABLE: undefined, ALERT_REPEAT_SECONDS: '3600' } });
    try {
      const sqs = await deployment.sqsHandler();
      const record = sqsRecord(JSON.stringify(alertOf({ dedupKey: 'stateless' })));
      expect(await sqs([record])).toEqual({ batchItemFailures: [] });
      expect(await sqs([record])).toEqual({ batchItemFailures: [] });
      const mails = await deployment.gmail.waitForMessages(2);
      expect(mails).toHaveLength(2);
      expect(await deployment.state?.items()).toEqual([]);
      // Nothing counts without the table, so no footer claims a count.
      for (const mail of mails) {
        expect(textOf(mail)).not.toMatch(/recipients in the last 24 h/);
        expect(String(mail.parsed.html)).not.toMatch(/recipients in the last 24 h/);
      }
    } finally {
      await deployment.close();
    }
  });
});

describe('quota guard', () => {
  const LIMIT = 10;
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await deploy({ env: { ALERT_REPEAT_SECONDS: '0', GMAIL_DAILY_LIMIT: String(LIMIT) } });
  });
  afterAll(() => deployment.close());

  it('mails below 80 %, folds into one digest from 80 %, holds at 100 % after one notice, and drops nothing', async () => {
    const eventBridge = await deployment.eventBridge();
    const sqs = await deployment.sqsHandler();
    const subjects = Array.from({ length: 12 }, (_, index) => `Orders backlog step ${index + 1}`);
    const outcomes: unknown[] = [];
    output.clear();
    for (const [index, subject] of subjects.entries()) {
      // The 11th goes to two recipients: 8 + 2 would leave no room for the notice to the one on ALERT_TO.
      const to = index === 10 ? ['oncall@example.com', 'dev@ops.example.com'] : undefined;
      outcomes.push(await eventBridge(alertEvent({ subject, severity: 'high', ...(to ? { to } : {}) })));
    }

    // 8 mails take the count to 80 %; from there alerts are folded, which costs nothing until the
    // digest goes out; an alert that would leave no room for the notice is held, and so is the next.
    expect(outcomes).toEqual([...Array(8).fill('delivered'), 'folded', 'folded', 'held', 'held']);
    const scheduled = deployment.queued().filter((message) => message.MessageAttributes.digest);
    expect(scheduled).toHaveLength(1);
    const held = deployment.queued().filter((message) => message.MessageAttributes.heldSince);
    expect(held.map((message) => JSON.parse(message.Body).detail.subject)).toEqual(subjects.slice(10));
    // The same story in CloudWatch metrics (EMF lines): 8 alerts and the notice to one recipient each.
    expect(sum(metricValues('Sent'))).toBe(9);
    expect(sum(metricValues('Folded'))).toBe(2);
    expect(sum(metricValues('Held'))).toBe(2);
    expect(metricValues('GuardUsedPercent').slice(0, 9)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);

    // The digest's time comes while the guard holds: it waits too (sent again, delayed), its alerts kept.
    expect(await sqs([recordFromQueued(scheduled[0] as (typeof scheduled)[number])])).toEqual({
      batchItemFailures: [],
    });
    let mails = await mailsAfter(deployment, 0);
    expect(mails).toHaveLength(9);
    const notice = mails[8];
    expect(notice?.parsed.subject).toMatch(/Gmail sending limit reached: alerts are held/);
    // Custom events are keyed by their event id, so each keeps its subject as sent.
    expect(mails.slice(0, 8).map((mail) => mail.parsed.subject)).toEqual(subjects.slice(0, 8));

    // A day later the window has room again: the digest and the held alerts go out.
    await deployment.state?.forget('quota#');
    const waiting = deployment.queued().slice(scheduled.length + held.length + 0);
    const digestAgain = deployment
      .queued()
      .filter((message) => message.MessageAttributes.digest)
      .at(-1);
    expect(digestAgain).toBeDefined();
    expect(await sqs([recordFromQueued(digestAgain as (typeof waiting)[number])])).toEqual({
      batchItemFailures: [],
    });
    expect(await sqs(held.map((message) => recordFromQueued(message)))).toEqual({ batchItemFailures: [] });

    mails = await mailsAfter(deployment, 9);
    expect(mails).toHaveLength(3);
    const digest = mails.find((mail) => /^\[HIGH\] Digest of 2 alerts/.test(mail.parsed.subject ?? ''));
    for (const subject of subjects.slice(8, 10)) {
      expect(textOf(digest)).toMatch(new RegExp(`- \\[HIGH\\] ${subject} at \\d{4}-\\d\\d-\\d\\dT`));
    }
    expect(mails.map((mail) => mail.parsed.subject)).toEqual(expect.arrayContaining(subjects.slice(10)));
  });
  it("tells in every mail's footer how many recipients the guard counted before it", async () => {
    const counted = await deploy({ env: { ALERT_REPEAT_SECONDS: '0', GMAIL_DAILY_LIMIT: '500' } });
    try {
      const eventBridge = await counted.eventBridge();
      const to = ['oncall@example.com', 'dev@ops.example.com'];
      for (let index = 1; index <= 3; index += 1) {
        expect(await eventBridge(alertEvent({ subject: `Disk full ${index}`, to }))).toBe('delivered');
      }

      const mails = await counted.gmail.waitForMessages(3);
      // Two recipients per mail: the guard read 0, 2 and 4 before each.
      expect(mails.map((mail) => textOf(mail).trimEnd().split('\n').at(-1))).toEqual([
        '0 of 500 recipients in the last 24 h',
        '2 of 500 recipients in the last 24 h',
        '4 of 500 recipients in the last 24 h',
      ]);
      expect(String(mails[2]?.parsed.html)).toMatch(
        /Key: [^<]+<br>4 of 500 recipients in the last 24 h<\/p>/,
      );
    } finally {
      await counted.close();
    }
  });

  it('gives a recipient Gmail deferred the digest alone, as a queued copy', async () => {
    // 8 alerts to two reach 16 of 20 (80 %); the 9th is folded, and 16 + 2 leaves room for the notice.
    const other = await deploy({ env: { ALERT_REPEAT_SECONDS: '0', GMAIL_DAILY_LIMIT: '20' } });
    try {
      const eventBridge = await other.eventBridge();
      const sqs = await other.sqsHandler();
      const to = ['oncall@example.com', 'dev@ops.example.com'];
      const outcomes: unknown[] = [];
      for (let index = 1; index <= 9; index += 1) {
        outcomes.push(await eventBridge(alertEvent({ subject: `Replica lag ${index}`, to })));
      }
      expect(outcomes).toEqual([...Array(8).fill('delivered'), 'folded']);

      const [sending] = other.queued().filter((message) => message.MessageAttributes.digest);
      other.gmail.failRecipient('dev@ops.example.com', gmailReplies.recipientRateLimited, 1);
      expect(await sqs([recordFromQueued(sending as NonNullable<typeof sending>)])).toEqual({
        batchItemFailures: [],
      });
      const copies = other.queued().filter((message) => message.MessageAttributes.recipient);
      expect(copies.map((message) => message.MessageAttributes.recipient?.StringValue)).toEqual([
        'dev@ops.example.com',
      ]);
      expect(await sqs([recordFromQueued(copies[0] as (typeof copies)[number])])).toEqual({
        batchItemFailures: [],
      });

      const digests = (await mailsAfter(other, 8)).filter((mail) =>
        /Digest of 1 alert/.test(mail.parsed.subject ?? ''),
      );
      expect(digests.map((mail) => mail.envelope.to)).toEqual([
        ['oncall@example.com'],
        ['dev@ops.example.com'],
      ]);
      expect(textOf(digests[1])).toMatch(/- \[INFO\] Replica lag 9 at /);
      // The digest went out at 16 of 20: its footer says the guard is folding.
      expect(textOf(digests[0])).toMatch(/\n16 of 20 recipients in the last 24 h · folding into digests\n$/);
    } finally {
      await other.close();
    }
  });
});

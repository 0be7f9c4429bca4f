import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, deploy, type SqsInvoke, sqsRecord } from './support/deployment.ts';
import { captureOutput, type OutputCapture } from './support/output-capture.ts';

const ALERTS = 1_000;
const BATCH_SIZE = 10;
const TRANSIENT_FAILURE_RATE = 0.05;
const IDLE_CLOSE_RATE = 0.1;
// SQS moves a message to its DLQ after maxReceiveCount receives; reaching it here means an alert was lost.
const MAX_RECEIVE_COUNT = 10;
const SEED = Number(process.env.LOAD_SEED ?? 20_261_125);

/** A small seeded generator (mulberry32), so a failing run can be replayed with LOAD_SEED. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

let output: OutputCapture;
let deployment: Deployment;
let handler: SqsInvoke;
const random = seeded(SEED);
let injectedFailures = 0;
let report: Record<string, number> | undefined;

beforeAll(async () => {
  output = captureOutput();
  deployment = await deploy({
    gmail: {
      // 5% of messages are refused after DATA with 451 4.3.0 (a transient Gmail refusal).
      onMessage: () => {
        if (random() < TRANSIENT_FAILURE_RATE) {
          injectedFailures += 1;
          throw new Error('injected transient failure');
        }
      },
    },
    // 1,000 alerts in one run are over consumer Gmail's 500 a day: this test measures delivery, and
    // the quota guard has its own tests (alert-state.test.ts), so the limit is set out of the way.
    env: { POWERTOOLS_LOG_LEVEL: 'WARN', GMAIL_DAILY_LIMIT: '100000' },
  });
  handler = await deployment.sqsHandler();
});
afterAll(async () => {
  await deployment.close();
  output.stop();
  // Printed after the capture is off, so CI logs show the numbers of every run.
  if (report) console.info(`load report: ${JSON.stringify(report)}`);
});

describe('load', () => {
  it(`delivers ${ALERTS} alerts through the SQS handler in batches of ${BATCH_SIZE}, with transient failures and idle closes, losing none`, async ({
    annotate,
  }) => {
    const started = performance.now();
    const queue: SQSRecord[] = Array.from({ length: ALERTS }, (_, index) =>
      sqsRecord(
        JSON.stringify({
          subject: `Load alert ${index}`,
          severity: 'warning',
          source: 'load-test',
          dedupKey: `load-${index}`,
        }),
        `load-message-${index}`,
      ),
    );
    const receives = new Map<string, number>();
    let invocations = 0;
    let redeliveries = 0;
    let idleCloses = 0;
    const overReceived: string[] = [];

    // The harness plays the SQS poller: batches of ten, and every reported failure comes back later.
    while (queue.length > 0 && invocations < 10 * (ALERTS / BATCH_SIZE)) {
      const batch = queue.splice(0, BATCH_SIZE);
      for (const record of batch) receives.set(record.messageId, (receives.get(record.messageId) ?? 0) + 1);
      invocations += 1;
      const { batchItemFailures } = await handler(batch);
      for (const { itemIdentifier } of batchItemFailures) {
        const record = batch.find((candidate) => candidate.messageId === itemIdentifier);
        expect(record, `unknown itemIdentifier ${itemIdentifier}`).toBeDefined();
        if (!record) continue;
        const count = receives.get(record.messageId) ?? 0;
        if (count >= MAX_RECEIVE_COUNT) overReceived.push(record.messageId);
        else queue.push(sqsRecord(record.body, record.messageId, count + 1));
        redeliveries += 1;
      }
      // Between invocations the container may sit idle: Gmail or a NAT drops the warm connections.
      if (random() < IDLE_CLOSE_RATE) {
        idleCloses += 1;
        deployment.gmail.dropConnections(random() < 0.5 ? 'fin' : 'rst');
      }
    }
    const elapsedMs = performance.now() - started;

    const received = new Map<string, number>();
    for (const message of deployment.gmail.messages) {
      const key = String(message.parsed.headers.get('x-alert-key'));
      received.set(key, (received.get(key) ?? 0) + 1);
    }
    const lost = Array.from({ length: ALERTS }, (_, index) => `load-${index}`).filter(
      (key) => !received.has(key),
    );
    const duplicates = [...received.values()].reduce((sum, count) => sum + count - 1, 0);
    report = {
      seed: SEED,
      alerts: ALERTS,
      invocations,
      injectedFailures,
      idleCloses,
      redeliveries,
      delivered: received.size,
      lost: lost.length,
      duplicates,
      serverConnections: deployment.gmail.stats.connections,
      deadLetters: deployment.deadLetters().length,
      elapsedMs: Math.round(elapsedMs),
    };
    await annotate(`load report: ${JSON.stringify(report)}`);

    expect(queue).toEqual([]);
    expect(overReceived).toEqual([]);
    expect(lost).toEqual([]);
    expect(received.size).toBe(ALERTS);
    expect(deployment.deadLetters()).toEqual([]);
    // The faults really happened, and every one of them came back through a redelivery.
    expect(injectedFailures).toBeGreaterThan(20);
    expect(idleCloses).toBeGreaterThan(3);
    expect(redeliveries).toBeGreaterThanOrEqual(injectedFailures);
    // Duplicates can only come from a reply lost after Gmail accepted the message; they are reported, and rare.
    expect(duplicates).toBeLessThanOrEqual(ALERTS * 0.01);
    // The pool is reused: far fewer connections than messages, even with the idle closes.
    expect(deployment.gmail.stats.connections).toBeLessThan(ALERTS / 10);
    // The time is reported, not asserted: this machine is shared, and speed is the benchmark's job.
  }, 90_000);
});

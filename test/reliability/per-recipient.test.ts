import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gmailReplies } from '../../local/gmail-replies.ts';
import type { GmailServerOptions, ReceivedMessage } from '../../local/gmail-server.ts';
import {
  alertEvent,
  type Deployment,
  deploy,
  recordFromQueued,
  sqsRecord,
  type Trigger,
  withDeployment,
} from './support/deployment.ts';
import { captureOutput } from './support/output-capture.ts';

const recipientRateLimited = gmailReplies.recipientRateLimited;

const FIRST = 'oncall@example.com';
const SECOND = 'dev@ops.example.com';
const alert = { subject: 'Replica lag over 30 s on db-2', severity: 'high', to: [FIRST, SECOND] };

const TRIGGERS: Trigger[] = ['http', 'sqs', 'eventbridge'];

/** What one invocation answered, per trigger. */
interface Answer {
  http?: { statusCode: number; body: Record<string, unknown> };
  sqs?: SQSBatchResponse;
  eventbridge?: unknown;
}

async function invoke(deployment: Deployment, trigger: Trigger, body: string): Promise<Answer> {
  if (trigger === 'http') {
    const response = await (await deployment.http())(body);
    return { http: { statusCode: response.statusCode, body: JSON.parse(response.body) } };
  }
  if (trigger === 'sqs') return { sqs: await (await deployment.sqsHandler())([sqsRecord(body)]) };
  return { eventbridge: await (await deployment.eventBridge())(alertEvent(JSON.parse(body))) };
}

/** The answer of a trigger that settled every recipient; on HTTP, the per-recipient body it gave. */
function expectSettled(answer: Answer, trigger: Trigger, httpBody: Record<string, unknown>): void {
  if (trigger === 'http') {
    expect(answer.http?.statusCode).toBe(200);
    expect(answer.http?.body).toMatchObject(httpBody);
  } else if (trigger === 'sqs') expect(answer.sqs).toEqual({ batchItemFailures: [] });
  else expect(answer.eventbridge).toBe('delivered');
}

/** Delivers what the alerts queue holds past `from`, through the sqs function, as the event source mapping would. */
async function drainQueue(deployment: Deployment, from: number): Promise<SQSBatchResponse> {
  const records = deployment
    .queued()
    .slice(from)
    .map((message) => recordFromQueued(message));
  return (await deployment.sqsHandler())(records);
}

/** One deployment for the enclosing describe block. */
function deployForBlock(gmail?: GmailServerOptions): () => Deployment {
  let deployment: Deployment | undefined;
  beforeAll(async () => {
    deployment = await deploy(gmail ? { gmail } : {});
  });
  afterAll(async () => {
    await deployment?.close();
  });
  return () => {
    if (!deployment) throw new Error('the deployment is not up yet');
    return deployment;
  };
}

const recipientsOf = (messages: ReceivedMessage[]) =>
  messages.flatMap((message) => message.envelope.to).sort();

describe.each(TRIGGERS)('one of two recipients refused, via %s', (trigger) => {
  const current = deployForBlock();
  let stack: Deployment;
  let queued: number;
  let parked: number;

  beforeEach(() => {
    stack = current();
    stack.gmail.messages.length = 0;
    queued = stack.queued().length;
    parked = stack.deadLetters().length;
  });

  const newlyQueued = () => stack.queued().slice(queued);
  const newlyParked = () => stack.deadLetters().slice(parked);

  it('delivers to the other, and parks an entry addressed only to the one refused with 550 5.1.1', async () => {
    stack.gmail.failNext({ at: 'rcpt', ...gmailReplies.noSuchUser });
    const answer = await invoke(stack, trigger, JSON.stringify(alert));

    await stack.gmail.waitForMessages(1);
    expect(recipientsOf(stack.gmail.messages)).toEqual([SECOND]);
    expect(newlyQueued()).toEqual([]);
    expectSettled(answer, trigger, {
      accepted: [SECOND],
      queued: [],
      refused: [{ address: FIRST, class: 'recipient', advice: expect.stringContaining('address') }],
    });
    if (trigger === 'http') {
      // The caller still has the alert and is told, per recipient; nothing is parked for it.
      const [refusal] = (answer.http?.body.refused ?? []) as { reason: string }[];
      expect(refusal?.reason).toContain('550 5.1.1');
      expect(newlyParked()).toEqual([]);
      return;
    }
    const [entry, ...more] = newlyParked();
    expect(more).toEqual([]);
    expect(JSON.parse(entry?.Body ?? '{}')).toMatchObject({ subject: alert.subject, to: [FIRST] });
    expect(entry?.MessageAttributes.failureClass?.StringValue).toBe('recipient');
    expect(entry?.MessageAttributes.recipient?.StringValue).toBe(FIRST);
    expect(entry?.MessageAttributes.responseCode?.StringValue).toBe('550');
    expect(entry?.MessageAttributes.advice?.StringValue).toMatch(/address/);
  });

  it('delivers to the other, and queues a copy only for the one deferred with 450 4.2.1, which then gets it once', async () => {
    stack.gmail.failNext({ at: 'rcpt', ...recipientRateLimited });
    const answer = await invoke(stack, trigger, JSON.stringify(alert));

    await stack.gmail.waitForMessages(1);
    expect(recipientsOf(stack.gmail.messages)).toEqual([SECOND]);
    expectSettled(answer, trigger, { accepted: [SECOND], queued: [FIRST], refused: [] });
    expect(newlyParked()).toEqual([]);
    const [copy, ...more] = newlyQueued();
    expect(more).toEqual([]);
    expect(JSON.parse(copy?.Body ?? '{}')).toMatchObject({ subject: alert.subject, to: [FIRST] });
    expect(copy?.DelaySeconds).toBeGreaterThan(0);
    expect(copy?.MessageAttributes.attempt?.StringValue).toBe('2');

    await expect(drainQueue(stack, queued)).resolves.toEqual({ batchItemFailures: [] });
    await stack.gmail.waitForMessages(2);
    expect(recipientsOf(stack.gmail.messages)).toEqual([FIRST, SECOND].sort());
    // The copy is the same mail as the one the other recipient got, so it lands in the same conversation.
    expect(stack.gmail.messages[1]?.parsed.subject).toBe(stack.gmail.messages[0]?.parsed.subject);
    expect(stack.gmail.messages[1]?.parsed.subject).toContain(alert.subject);
    expect(stack.gmail.messages[1]?.parsed.headers.get('references')).toBe(
      stack.gmail.messages[0]?.parsed.headers.get('references'),
    );
  });
});

describe('a deferred recipient', () => {
  it('is parked with its reason once its copy has used up its attempts, not queued forever', async () => {
    await withDeployment({ env: { ALERT_MAX_RECEIVES: '3' } }, async (stack) => {
      stack.gmail.failNext({ at: 'rcpt', ...recipientRateLimited });
      const sqs = await stack.sqsHandler();
      const copy = recordFromQueued({
        MessageId: 'copy-3',
        QueueUrl: stack.queueUrl,
        Body: JSON.stringify(alert),
        MessageAttributes: { attempt: { DataType: 'Number', StringValue: '3' } },
      });

      await expect(sqs([copy])).resolves.toEqual({ batchItemFailures: [] });

      expect(stack.queued()).toEqual([]);
      const [entry] = stack.deadLetters();
      expect(JSON.parse(entry?.Body ?? '{}').to).toEqual([FIRST]);
      expect(entry?.MessageAttributes.failureClass?.StringValue).toBe('transient');
      expect(entry?.MessageAttributes.responseCode?.StringValue).toBe('450');
    });
  });

  it('is named with its reply code in the log line, not only counted', async () => {
    await withDeployment({}, async (stack) => {
      stack.gmail.failNext({ at: 'rcpt', ...gmailReplies.noSuchUser });
      const sqs = await stack.sqsHandler();
      const output = captureOutput();
      try {
        await sqs([sqsRecord(JSON.stringify(alert))]);
      } finally {
        output.stop();
      }
      const delivered = output.logLines().find((line) => line.message === 'Alert delivered');
      expect(delivered?.notAccepted).toEqual([
        expect.objectContaining({ address: FIRST, outcome: 'parked', responseCode: 550 }),
      ]);
      expect(String(JSON.stringify(delivered))).toContain('5.1.1');
    });
  });
});

describe.each(TRIGGERS)('452 4.5.3 split, then a transient failure, via %s', (trigger) => {
  let failNextMessage = false;
  const current = deployForBlock({
    // One recipient per message, as if Gmail's per-message limit were 1: the second needs a second message.
    maxRecipients: 1,
    onMessage: () => {
      if (failNextMessage) current().gmail.failNext({ at: 'mail', ...gmailReplies.tryAgainLater });
      failNextMessage = false;
    },
  });

  it('never sends the first recipient a duplicate: only the second is retried, alone', async () => {
    const stack = current();
    failNextMessage = true;
    const queued = stack.queued().length;
    const answer = await invoke(stack, trigger, JSON.stringify(alert));

    expect(recipientsOf(stack.gmail.messages)).toEqual([FIRST]);
    expectSettled(answer, trigger, { accepted: [FIRST], queued: [SECOND], refused: [] });
    const copies = stack.queued().slice(queued);
    expect(copies.map((copy) => JSON.parse(copy.Body).to)).toEqual([[SECOND]]);

    await expect(drainQueue(stack, queued)).resolves.toEqual({ batchItemFailures: [] });
    await stack.gmail.waitForMessages(2);
    expect(recipientsOf(stack.gmail.messages)).toEqual([FIRST, SECOND].sort());
  });
});

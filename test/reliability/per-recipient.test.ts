import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  EventBridgeEvent,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gmailReplies } from '../../local/gmail-replies.ts';
import type { ReceivedMessage } from '../../local/gmail-server.ts';
import { createLambdaContext } from '../../local/lambda-context.ts';
import { loadEvent } from '../../local/sample-events.ts';
import type { SqsStoredMessage } from '../../local/sqs-endpoint.ts';
import { type AlertEnvironment, startAlertEnvironment } from '../support/alert-environment.ts';
import { coldStart } from '../support/lambda-bundle.ts';
import { captureOutput } from './support/output-capture.ts';

// Gmail's answer when one recipient's mailbox takes no more mail for now (a deferral for that recipient only).
const recipientRateLimited = {
  code: 450,
  message:
    '4.2.1 The user you are trying to contact is receiving mail at a rate that\n' +
    '4.2.1 prevents additional messages from being delivered. Please resend your\n' +
    '4.2.1 message at a later point.',
};

const FIRST = 'oncall@example.com';
const SECOND = 'dev@ops.example.com';
const alert = { subject: 'Replica lag over 30 s on db-2', severity: 'high', to: [FIRST, SECOND] };

type Trigger = 'http' | 'sqs' | 'eventbridge';
const TRIGGERS: Trigger[] = ['http', 'sqs', 'eventbridge'];

/** What one invocation answered, per trigger. */
interface Answer {
  http?: { statusCode: number; body: Record<string, unknown> };
  sqs?: SQSBatchResponse;
  eventbridge?: string;
}

function sqsRecord(body: string, attributes: SQSRecord['messageAttributes'] = {}): SQSRecord {
  const [template] = loadEvent<SQSEvent>('sqs-alerts').Records;
  if (!template) throw new Error('events/sqs-alerts.json has no record');
  return {
    ...template,
    messageId: `m-${Math.random().toString(36).slice(2)}`,
    body,
    messageAttributes: attributes,
  };
}

/** The record the event source mapping would deliver for a message this suite's queue holds. */
function recordFor(message: SqsStoredMessage): SQSRecord {
  const attributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes)) {
    attributes[name] = { dataType: value.DataType, stringValue: value.StringValue } as never;
  }
  return sqsRecord(message.Body, attributes);
}

async function invoke(stack: AlertEnvironment, trigger: Trigger, body: string): Promise<Answer> {
  stack.apply();
  if (trigger === 'http') {
    const handler = await coldStart<APIGatewayProxyEvent, APIGatewayProxyResult>('http');
    const response = await handler(
      { ...loadEvent<APIGatewayProxyEvent>('http-alert'), body },
      createLambdaContext(),
    );
    return { http: { statusCode: response.statusCode, body: JSON.parse(response.body) } };
  }
  if (trigger === 'sqs') {
    const handler = await coldStart<SQSEvent, SQSBatchResponse>('sqs');
    return { sqs: await handler({ Records: [sqsRecord(body)] }, createLambdaContext()) };
  }
  const handler = await coldStart<EventBridgeEvent<string, unknown>, string>('eventbridge');
  const event = {
    ...loadEvent<EventBridgeEvent<string, unknown>>('eventbridge-custom'),
    detail: JSON.parse(body),
  };
  return { eventbridge: await handler(event, createLambdaContext()) };
}

/** Delivers what the alerts queue holds now, through the sqs function, as the event source mapping would. */
async function drainQueue(stack: AlertEnvironment, from: number): Promise<SQSBatchResponse> {
  stack.apply();
  const handler = await coldStart<SQSEvent, SQSBatchResponse>('sqs');
  const records = stack.sqs.messages(stack.queueUrl).slice(from).map(recordFor);
  return handler({ Records: records }, createLambdaContext());
}

const recipientsOf = (messages: ReceivedMessage[]) =>
  messages.flatMap((message) => message.envelope.to).sort();

describe.each(TRIGGERS)('one of two recipients refused, via %s', (trigger) => {
  let stack: AlertEnvironment;
  let queued: number;
  let parked: number;

  beforeAll(async () => {
    stack = await startAlertEnvironment();
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.gmail.messages.length = 0;
    queued = stack.sqs.messages(stack.queueUrl).length;
    parked = stack.sqs.messages(stack.deadLetterQueueUrl).length;
  });

  const newlyQueued = () => stack.sqs.messages(stack.queueUrl).slice(queued);
  const newlyParked = () => stack.sqs.messages(stack.deadLetterQueueUrl).slice(parked);

  it('delivers to the other, and parks an entry addressed only to the one refused with 550 5.1.1', async () => {
    stack.gmail.failNext({ at: 'rcpt', ...gmailReplies.noSuchUser });
    const answer = await invoke(stack, trigger, JSON.stringify(alert));

    await stack.gmail.waitForMessages(1);
    expect(recipientsOf(stack.gmail.messages)).toEqual([SECOND]);
    expect(newlyQueued()).toEqual([]);
    if (trigger === 'http') {
      // The caller still has the alert and is told, per recipient; nothing is parked for it.
      expect(answer.http?.statusCode).toBe(200);
      expect(answer.http?.body).toMatchObject({
        accepted: [SECOND],
        queued: [],
        refused: [{ address: FIRST, class: 'recipient', advice: expect.stringContaining('address') }],
      });
      const [refusal] = (answer.http?.body.refused ?? []) as { reason: string }[];
      expect(refusal?.reason).toContain('550 5.1.1');
      expect(newlyParked()).toEqual([]);
      return;
    }
    if (trigger === 'sqs') expect(answer.sqs).toEqual({ batchItemFailures: [] });
    else expect(answer.eventbridge).toBe('delivered');
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
    if (trigger === 'http') {
      expect(answer.http?.statusCode).toBe(200);
      expect(answer.http?.body).toMatchObject({ accepted: [SECOND], queued: [FIRST], refused: [] });
    } else if (trigger === 'sqs') expect(answer.sqs).toEqual({ batchItemFailures: [] });
    else expect(answer.eventbridge).toBe('delivered');
    expect(newlyParked()).toEqual([]);
    const [copy, ...more] = newlyQueued();
    expect(more).toEqual([]);
    expect(JSON.parse(copy?.Body ?? '{}')).toMatchObject({ subject: alert.subject, to: [FIRST] });
    expect(copy?.DelaySeconds).toBeGreaterThan(0);
    expect(copy?.MessageAttributes.attempt?.StringValue).toBe('2');

    await expect(drainQueue(stack, queued)).resolves.toEqual({ batchItemFailures: [] });
    await stack.gmail.waitForMessages(2);
    expect(recipientsOf(stack.gmail.messages)).toEqual([FIRST, SECOND].sort());
    expect(stack.gmail.messages[1]?.parsed.subject).toBe(`[HIGH] ${alert.subject}`);
  });
});

describe('a deferred recipient', () => {
  let stack: AlertEnvironment;
  beforeAll(async () => {
    stack = await startAlertEnvironment();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('is parked with its reason once its copy has used up its attempts, not queued forever', async () => {
    stack.gmail.failNext({ at: 'rcpt', ...recipientRateLimited });
    stack.apply({ ALERT_MAX_RECEIVES: '3' });
    const handler = await coldStart<SQSEvent, SQSBatchResponse>('sqs');
    const body = JSON.stringify({ ...alert, to: [FIRST, SECOND] });
    const record = sqsRecord(body, { attempt: { dataType: 'Number', stringValue: '3' } } as never);
    const queuedBefore = stack.sqs.messages(stack.queueUrl).length;

    await expect(handler({ Records: [record] }, createLambdaContext())).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(stack.sqs.messages(stack.queueUrl).length).toBe(queuedBefore);
    const [entry] = stack.sqs.messages(stack.deadLetterQueueUrl);
    expect(JSON.parse(entry?.Body ?? '{}').to).toEqual([FIRST]);
    expect(entry?.MessageAttributes.failureClass?.StringValue).toBe('transient');
    expect(entry?.MessageAttributes.responseCode?.StringValue).toBe('450');
  });

  it('is named with its reply code in the log line, not only counted', async () => {
    stack.gmail.failNext({ at: 'rcpt', ...gmailReplies.noSuchUser });
    stack.apply({ POWERTOOLS_LOG_LEVEL: 'INFO' });
    const handler = await coldStart<SQSEvent, SQSBatchResponse>('sqs');
    const output = captureOutput();
    try {
      await handler({ Records: [sqsRecord(JSON.stringify(alert))] }, createLambdaContext());
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

describe.each(TRIGGERS)('452 4.5.3 split, then a transient failure, via %s', (trigger) => {
  let stack: AlertEnvironment;
  let failNextMessage = false;

  beforeAll(async () => {
    stack = await startAlertEnvironment({
      // One recipient per message, as if Gmail's per-message limit were 1: the second needs a second message.
      maxRecipients: 1,
      onMessage: () => {
        if (failNextMessage) stack.gmail.failNext({ at: 'mail', ...gmailReplies.tryAgainLater });
        failNextMessage = false;
      },
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('never sends the first recipient a duplicate: only the second is retried, alone', async () => {
    failNextMessage = true;
    const queued = stack.sqs.messages(stack.queueUrl).length;
    const answer = await invoke(stack, trigger, JSON.stringify(alert));

    expect(recipientsOf(stack.gmail.messages)).toEqual([FIRST]);
    if (trigger === 'http') {
      expect(answer.http?.statusCode).toBe(200);
      expect(answer.http?.body).toMatchObject({ accepted: [FIRST], queued: [SECOND], refused: [] });
    } else if (trigger === 'sqs') expect(answer.sqs).toEqual({ batchItemFailures: [] });
    else expect(answer.eventbridge).toBe('delivered');
    const copies = stack.sqs.messages(stack.queueUrl).slice(queued);
    expect(copies.map((copy) => JSON.parse(copy.Body).to)).toEqual([[SECOND]]);

    await expect(drainQueue(stack, queued)).resolves.toEqual({ batchItemFailures: [] });
    await stack.gmail.waitForMessages(2);
    expect(recipientsOf(stack.gmail.messages)).toEqual([FIRST, SECOND].sort());
  });
});

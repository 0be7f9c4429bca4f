import { randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  EventBridgeEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { testGmailAccount } from '../../local/gmail-server.ts';
import { createLambdaContext } from '../../local/lambda-context.ts';
import { loadEvent } from '../../local/sample-events.ts';
import { type AlertEnvironment, startAlertEnvironment } from '../support/alert-environment.ts';
import { coldStart } from '../support/lambda-bundle.ts';

let stack: AlertEnvironment;

beforeAll(async () => {
  stack = await startAlertEnvironment();
});
afterAll(async () => {
  await stack.close();
});
afterEach(() => {
  stack.gmail.messages.length = 0;
});

async function http(overrides: Record<string, string | undefined> = {}) {
  stack.apply(overrides);
  const handler = await coldStart<APIGatewayProxyEvent, APIGatewayProxyResult>('http');
  return (body: string) =>
    handler({ ...loadEvent<APIGatewayProxyEvent>('http-alert'), body }, createLambdaContext());
}

async function sqs(overrides: Record<string, string | undefined> = {}, receiveCount = 1) {
  stack.apply(overrides);
  const handler = await coldStart<SQSEvent, SQSBatchResponse>('sqs');
  const [template] = loadEvent<SQSEvent>('sqs-alerts').Records;
  if (!template) throw new Error('events/sqs-alerts.json has no record');
  return (...bodies: string[]) =>
    handler(
      {
        Records: bodies.map((body, index) => ({
          ...template,
          messageId: `message-${index}-${Math.random().toString(36).slice(2)}`,
          attributes: { ...template.attributes, ApproximateReceiveCount: String(receiveCount) },
          body,
        })),
      },
      createLambdaContext(),
    );
}

const countersNow = () => ({
  connections: stack.gmail.stats.connections,
  auths: stack.gmail.stats.authAttempts,
  secretFetches: stack.secrets.calls,
});

const delta = (before: ReturnType<typeof countersNow>) => {
  const now = countersNow();
  return {
    connections: now.connections - before.connections,
    auths: now.auths - before.auths,
    secretFetches: now.secretFetches - before.secretFetches,
  };
};

describe('http handler', () => {
  it('sends the sample alert and answers 200 with the message id and recipients', async () => {
    const send = await http();
    const event = loadEvent<APIGatewayProxyEvent>('http-alert');
    const response = await send(event.body ?? '');
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({ accepted: ['oncall@example.com'], queued: [], refused: [] });
    expect(body.messageId).toMatch(/^<.+@example\.com>$/);

    const [mail] = await stack.gmail.waitForMessages(1);
    expect(mail?.user).toBe(testGmailAccount.user);
    expect(mail?.envelope).toEqual({ from: testGmailAccount.user, to: ['oncall@example.com'] });
    expect(mail?.parsed.subject).toBe('Disk almost full on db-1');
    expect(mail?.parsed.text?.split('\n')[0]).toBe('CRITICAL: Disk almost full on db-1');
    expect(mail?.parsed.headers.get('x-alert-key')).toBe('db-1-disk-var');
    expect(mail?.parsed.text).toContain('/var is at 93% and growing 2% an hour.');
    expect(mail?.parsed.text).toContain('Runbook: https://runbooks.example.com/disk-full');
    expect(mail?.parsed.html).toContain('<a href="https://runbooks.example.com/disk-full">Runbook</a>');
  });

  it('escapes HTML in every field of the HTML part', async () => {
    const send = await http();
    const response = await send(
      JSON.stringify({
        subject: '<script>x</script>',
        text: '<img src=x onerror=alert(1)>',
        fields: { '<k>': '<v>' },
      }),
    );
    expect(response.statusCode).toBe(200);
    const [mail] = await stack.gmail.waitForMessages(1);
    expect(mail?.parsed.subject).toBe('[INFO] <script>x</script>');
    expect(mail?.parsed.html).not.toMatch(/<script>|<img|<k>|<v>/);
    expect(mail?.parsed.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('accepts API Gateway v2 events with a base64 body', async () => {
    stack.apply();
    const handler = await coldStart<unknown, APIGatewayProxyResult>('http');
    const response = await handler(loadEvent('http-alert-v2'), createLambdaContext());
    expect(response.statusCode).toBe(200);
    const [mail] = await stack.gmail.waitForMessages(1);
    expect(mail?.parsed.subject).toBe('[HIGH] Deploy failed');
  });

  it.each([
    ['a missing subject', JSON.stringify({ text: 'x' }), 400, 'subject'],
    ['a CRLF in the subject', JSON.stringify({ subject: 'a\r\nBcc: x@evil.example' }), 400, 'subject'],
    [
      'a recipient outside the allow-list',
      JSON.stringify({ subject: 's', to: ['mallory@evil.example'] }),
      400,
      'to[0]',
    ],
    [
      'a display-name trick',
      JSON.stringify({ subject: 's', to: ['"oncall@example.com" <mallory@evil.example>'] }),
      400,
      'to[0]',
    ],
    ['a body that is not JSON', 'subject=disk full', 400, 'body'],
    ['an oversized body', JSON.stringify({ subject: 's', text: 'x'.repeat(300_000) }), 413, undefined],
  ])(
    'refuses %s with %i, naming the field, and opens no SMTP connection',
    async (_name, body, status, field) => {
      const send = await http();
      const before = countersNow();
      const response = await send(body);
      expect(response.statusCode).toBe(status);
      expect(response.headers?.['Content-Type']).toBe('application/json');
      const error = JSON.parse(response.body).error;
      if (field) expect(error.fields.map((issue: { field: string }) => issue.field)).toContain(field);
      expect(error.message).not.toMatch(/at .*\.m?js:\d+/);
      expect(delta(before).connections).toBe(0);
    },
  );

  it('queues the alert and answers 202 when Gmail is briefly unavailable', async () => {
    const send = await http();
    stack.gmail.failNext({ at: 'mail', code: 421 });
    const queued = stack.sqs.messages(stack.queueUrl).length;
    const body = JSON.stringify({ subject: 'queued when Gmail says 421', dedupKey: 'q-421' });
    const response = await send(body);
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({ queued: true, reason: { class: 'transient' } });
    const messages = stack.sqs.messages(stack.queueUrl);
    expect(messages).toHaveLength(queued + 1);
    expect(messages.at(-1)?.Body).toBe(body);
  });

  it('answers 503 with Retry-After when Gmail is unavailable and no queue is configured', async () => {
    const send = await http({ ALERT_QUEUE_URL: undefined });
    stack.gmail.failNext({ at: 'mail', code: 421 });
    const response = await send(JSON.stringify({ subject: 'no queue' }));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('60');
    expect(JSON.parse(response.body).error.class).toBe('transient');
  });

  it('answers 500 naming the variable when the configuration is broken', async () => {
    const send = await http({ SMTP_PORT: 'gmail' });
    const response = await send(JSON.stringify({ subject: 's' }));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body).error).toMatchObject({
      class: 'config',
      message: 'SMTP_PORT: must be a whole number, got "gmail"',
    });
  });
});

describe('sqs handler', () => {
  it('sends ten one-record invocations over one connection, one AUTH and one secret fetch', async () => {
    const before = countersNow();
    const invoke = await sqs();
    for (let i = 0; i < 10; i++) {
      const result = await invoke(JSON.stringify({ subject: `warm ${i}`, dedupKey: `warm-${i}` }));
      expect(result.batchItemFailures).toEqual([]);
    }
    await stack.gmail.waitForMessages(10);
    expect(stack.gmail.messages.map((mail) => mail.parsed.headers.get('x-alert-key'))).toEqual(
      Array.from({ length: 10 }, (_, i) => `warm-${i}`),
    );
    expect(delta(before)).toEqual({ connections: 1, auths: 1, secretFetches: 1 });
  });

  it.each(['fin', 'rst'] as const)(
    'survives a pooled connection closed by %s while the container was frozen',
    async (mode) => {
      const invoke = await sqs();
      expect((await invoke(JSON.stringify({ subject: 'before idle close' }))).batchItemFailures).toEqual([]);
      stack.gmail.dropConnections(mode);
      const result = await invoke(JSON.stringify({ subject: 'after idle close', dedupKey: `after-${mode}` }));
      expect(result.batchItemFailures).toEqual([]);
      const mails = await stack.gmail.waitForMessages(2);
      expect(mails.at(-1)?.parsed.headers.get('x-alert-key')).toBe(`after-${mode}`);
    },
  );

  it('delivers an EventBridge envelope that arrives through the queue', async () => {
    const invoke = await sqs();
    const records = loadEvent<SQSEvent>('sqs-alerts').Records;
    const result = await invoke(...records.map((record) => record.body));
    expect(result.batchItemFailures).toEqual([]);
    const mails = await stack.gmail.waitForMessages(2);
    expect(mails.map((mail) => mail.parsed.subject).sort()).toEqual([
      'Deployment Failed from alerts.app',
      'Queue backlog above 10,000',
    ]);
  });

  it('parks invalid records in the dead-letter queue with the field named, and reports transient ones for retry', async () => {
    const invoke = await sqs();
    const before = countersNow();
    const dlqBefore = stack.sqs.messages(stack.deadLetterQueueUrl).length;
    const invalid = JSON.stringify({ subject: 'x', to: ['mallory@evil.example'] });
    const result = await invoke(invalid, '{not json');
    expect(result.batchItemFailures).toEqual([]);
    const parked = stack.sqs.messages(stack.deadLetterQueueUrl).slice(dlqBefore);
    expect(parked.map((message) => message.Body)).toEqual(expect.arrayContaining([invalid, '{not json']));
    for (const message of parked) {
      expect(message.MessageAttributes.failureClass?.StringValue).toBe('invalid');
      expect(message.MessageAttributes.trigger?.StringValue).toBe('sqs');
    }
    expect(parked.map((message) => message.MessageAttributes.reason?.StringValue)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('to[0]'),
        expect.stringContaining('body: is not valid JSON'),
      ]),
    );
    expect(delta(before).connections).toBe(0);
  });

  it('reports an invalid record as a batch failure when no dead-letter queue is configured', async () => {
    const invoke = await sqs({ ALERT_DLQ_URL: undefined });
    const result = await invoke('{not json');
    expect(result.batchItemFailures).toHaveLength(1);
  });

  it("retries a configuration error, and parks it with its reason on the queue's last receive", async () => {
    const broken = { GMAIL_SECRET_ID: 'no-such-secret', ALERT_MAX_RECEIVES: '5' };
    const body = JSON.stringify({ subject: 'while the secret is missing' });
    const early = await sqs(broken, 1);
    expect((await early(body)).batchItemFailures).toHaveLength(1);

    const dlqBefore = stack.sqs.messages(stack.deadLetterQueueUrl).length;
    const last = await sqs(broken, 5);
    expect((await last(body)).batchItemFailures).toEqual([]);
    const [parked] = stack.sqs.messages(stack.deadLetterQueueUrl).slice(dlqBefore);
    expect(parked?.Body).toBe(body);
    expect(parked?.MessageAttributes.failureClass?.StringValue).toBe('config');
    expect(parked?.MessageAttributes.reason?.StringValue).toContain('GMAIL_SECRET_ID');
    expect(parked?.MessageAttributes.receiveCount?.StringValue).toBe('5');
  });

  it('reports transient failures in batchItemFailures and delivers the rest', async () => {
    const invoke = await sqs();
    await invoke(JSON.stringify({ subject: 'warm up' }));
    stack.gmail.messages.length = 0;
    stack.gmail.failNext({ at: 'data', code: 421 });
    const result = await invoke(JSON.stringify({ subject: 'one' }), JSON.stringify({ subject: 'two' }));
    expect(result.batchItemFailures).toHaveLength(1);
    await stack.gmail.waitForMessages(1);
  });
});

describe('wrong password', () => {
  it('reads the secret once more, then fails for good with the App Password advice, without a login loop', async () => {
    stack.secrets.setSecret(
      'wrong',
      JSON.stringify({ username: testGmailAccount.user, password: 'aaaa bbbb cccc dddd' }),
    );
    const send = await http({ GMAIL_SECRET_ID: 'wrong' });
    const before = { ...countersNow(), wrongFetches: stack.secrets.callsFor('wrong') };
    const response = await send(JSON.stringify({ subject: 'never arrives' }));
    expect(response.statusCode).toBe(502);
    const error = JSON.parse(response.body).error;
    expect(error.class).toBe('auth');
    expect(error.advice).toContain('App Password');
    expect(error.advice).toContain('2-Step Verification');
    expect(stack.secrets.callsFor('wrong') - before.wrongFetches).toBe(2);
    expect(delta(before).auths).toBe(1);
    expect(JSON.stringify(response)).not.toContain('aaaa');
  });

  it('picks up a rotated password after one refusal and sends', async () => {
    stack.secrets.setSecret(
      'rotating',
      JSON.stringify({ username: testGmailAccount.user, password: 'old0 old0 old0 old0' }),
    );
    const send = await http({ GMAIL_SECRET_ID: 'rotating' });
    // Let the cold start's prefetch read the old value (the endpoint picks the value when asked), then rotate it.
    await vi.waitFor(() => expect(stack.secrets.callsFor('rotating')).toBe(1));
    stack.secrets.setSecret(
      'rotating',
      JSON.stringify({ username: testGmailAccount.user, password: testGmailAccount.pass }),
    );
    const response = await send(JSON.stringify({ subject: 'after rotation' }));
    expect(response.statusCode).toBe(200);
    expect(stack.secrets.callsFor('rotating')).toBe(2);
  });
});

describe('eventbridge handler', () => {
  it('turns a CloudWatch alarm into a critical alert', async () => {
    stack.apply();
    const handler = await coldStart<EventBridgeEvent<string, unknown>, string>('eventbridge');
    await expect(handler(loadEvent('eventbridge-alarm'), createLambdaContext())).resolves.toBe('delivered');
    const [mail] = await stack.gmail.waitForMessages(1);
    expect(mail?.parsed.subject).toBe('checkout-5xx-rate (us-east-1)');
    expect(mail?.parsed.text).toMatch(
      /^CRITICAL: checkout-5xx-rate \(us-east-1\)\nALARM \(was OK\): Threshold Crossed/,
    );
    expect(mail?.parsed.text).toContain('\nMetric: AWS/ApplicationELB HTTPCode_Target_5XX_Count\n');
    expect(mail?.parsed.headers.get('references')).toMatch(/^<alert\.[0-9a-f]{32}@/);
    expect(mail?.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail?.parsed.html).toContain('<summary');
  });

  it('throws on a transient failure so Lambda retries, and parks a permanent one', async () => {
    stack.apply();
    const handler = await coldStart<EventBridgeEvent<string, unknown>, string>('eventbridge');
    stack.gmail.failNext({ at: 'mail', code: 421 });
    await expect(handler(loadEvent('eventbridge-custom'), createLambdaContext())).rejects.toMatchObject({
      failureClass: 'transient',
    });
    stack.gmail.failNext({ at: 'data', code: 552 });
    const dlqBefore = stack.sqs.messages(stack.deadLetterQueueUrl).length;
    await expect(handler(loadEvent('eventbridge-custom'), createLambdaContext())).resolves.toBe('parked');
    const [parked] = stack.sqs.messages(stack.deadLetterQueueUrl).slice(dlqBefore);
    expect(parked?.MessageAttributes.failureClass?.StringValue).toBe('permanent');
    expect(parked?.MessageAttributes.responseCode?.StringValue).toBe('552');
    expect(JSON.parse(parked?.Body ?? '{}').id).toBe('8f0c2c57-0e4d-4d8b-a3f3-4f4c1c7d9a11');
  });
});

describe('one Gmail conversation per alert key', () => {
  const threadOf = (mail: { parsed: { headers: Map<string, unknown> } } | undefined) => ({
    references: mail?.parsed.headers.get('references'),
    inReplyTo: mail?.parsed.headers.get('in-reply-to'),
  });

  it('threads an alarm and its recovery: same subject and References, own Message-IDs, the state first', async () => {
    stack.apply();
    const handler = await coldStart<EventBridgeEvent<string, unknown>, string>('eventbridge');

    // Fresh event ids: the sample events went out in earlier tests, and a retried event id is not mailed twice.
    const fresh = (name: string) => ({
      ...loadEvent<EventBridgeEvent<string, unknown>>(name),
      id: randomUUID(),
    });
    await expect(handler(fresh('eventbridge-alarm'), createLambdaContext())).resolves.toBe('delivered');
    await expect(handler(fresh('eventbridge-alarm-ok'), createLambdaContext())).resolves.toBe('delivered');

    const [firing, resolved] = await stack.gmail.waitForMessages(2);
    expect(resolved?.parsed.subject).toBe(firing?.parsed.subject);
    expect(threadOf(firing).references).toMatch(/^<alert\.[0-9a-f]{32}@example\.com>$/);
    expect(threadOf(resolved)).toEqual(threadOf(firing));
    expect(threadOf(firing).inReplyTo).toBe(threadOf(firing).references);
    expect(resolved?.parsed.messageId).not.toBe(firing?.parsed.messageId);
    expect(firing?.parsed.text?.split('\n')[0]).toBe('CRITICAL: checkout-5xx-rate (us-east-1)');
    expect(resolved?.parsed.text?.split('\n')[0]).toBe('RESOLVED: checkout-5xx-rate (us-east-1)');
    expect(resolved?.parsed.headers.get('x-alert-status')).toBe('resolved');
    expect(firing?.parsed.headers.get('x-alert-status')).toBe('firing');
  });

  it('threads HTTP alerts by dedupKey across firing and resolved, and keeps other keys apart', async () => {
    const send = await http();
    const alert = { subject: 'Replica lag on db-2', severity: 'high', dedupKey: 'db-2-lag' };

    expect((await send(JSON.stringify(alert))).statusCode).toBe(200);
    expect((await send(JSON.stringify({ ...alert, severity: 'critical' }))).statusCode).toBe(200);
    expect((await send(JSON.stringify({ ...alert, status: 'resolved' }))).statusCode).toBe(200);
    expect((await send(JSON.stringify({ ...alert, dedupKey: 'db-3-lag' }))).statusCode).toBe(200);

    const mails = await stack.gmail.waitForMessages(4);
    const [first, second, resolved, other] = mails;
    expect(new Set(mails.map((mail) => mail.parsed.subject))).toEqual(new Set(['Replica lag on db-2']));
    expect(threadOf(second)).toEqual(threadOf(first));
    expect(threadOf(resolved)).toEqual(threadOf(first));
    expect(threadOf(other).references).not.toBe(threadOf(first).references);
    expect(new Set(mails.map((mail) => mail.parsed.messageId)).size).toBe(4);
    expect(mails.map((mail) => mail.parsed.text?.split('\n')[0])).toEqual([
      'HIGH: Replica lag on db-2',
      'CRITICAL: Replica lag on db-2',
      'RESOLVED: Replica lag on db-2',
      'HIGH: Replica lag on db-2',
    ]);
  });

  it('marks every mail auto-generated, names the stack in List-Id and adds ALERT_HEADERS, on every trigger', async () => {
    const overrides = { ALERT_STACK_NAME: 'PaymentsAlerts', ALERT_HEADERS: '{"X-Team":"payments"}' };
    await (await http(overrides))(JSON.stringify({ subject: 'via http' }));
    await (await sqs(overrides))(JSON.stringify({ subject: 'via sqs' }));
    stack.apply(overrides);
    const eventbridge = await coldStart<EventBridgeEvent<string, unknown>, string>('eventbridge');
    await eventbridge(loadEvent('eventbridge-guardduty'), createLambdaContext());

    const mails = await stack.gmail.waitForMessages(3);
    for (const mail of mails) {
      expect(mail.parsed.headers.get('auto-submitted')).toBe('auto-generated');
      expect(mail.parsed.headerLines.find((header) => header.key === 'list-id')?.line).toBe(
        'List-ID: paymentsalerts alerts <paymentsalerts.example.com>',
      );
      expect(mail.parsed.headers.get('x-team')).toBe('payments');
    }
  });

  it('refuses to start with an ALERT_HEADERS entry that would replace a header the mail needs', async () => {
    const send = await http({ ALERT_HEADERS: '{"X-Alert-Key":"forged"}' });
    const response = await send(JSON.stringify({ subject: 'never sent' }));
    expect(response.statusCode).toBe(500);
    expect(response.body).toContain('ALERT_HEADERS');
    expect(stack.gmail.messages).toEqual([]);
  });
});

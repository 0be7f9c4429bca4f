import type { EventBridgeEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { expectParkedBySqs } from './support/dead-letters.ts';
import { alertEvent, deployForSuite, sqsRecord } from './support/deployment.ts';
import { type HostileInput, hostileInputs } from './support/hostile-inputs.ts';

const suite = deployForSuite();

const failureClass = (input: HostileInput) => (input.status === 413 ? 'too-large' : 'invalid');

function expectNamed(text: string | undefined, input: HostileInput) {
  if (input.status === 413) expect(text).toMatch(/Alert is \d+ bytes; the limit is 262144 bytes/);
  else expect(text).toContain(`${input.field}:`);
}

describe('hostile input, named cases', () => {
  it.each(hostileInputs.map((input) => [input.name, input] as const))(
    'HTTP answers %s with a 4xx naming the field, and opens no SMTP connection',
    async (_name, input) => {
      const response = await suite.http(input.body);

      expect(response.statusCode).toBe(input.status);
      expect(response.headers?.['Content-Type']).toBe('application/json');
      const { error } = JSON.parse(response.body);
      expect(error.class).toBe(failureClass(input));
      if (input.status === 400)
        expect(error.fields.map((issue: { field: string }) => issue.field)).toContain(input.field);
      expectNamed(error.message, input);
      expect(suite.deployment.gmail.stats.connections).toBe(0);
    },
  );

  it.each(hostileInputs.map((input) => [input.name, input] as const))(
    'SQS parks %s in the DLQ naming the field, and opens no SMTP connection',
    async (_name, input) => {
      const record = sqsRecord(input.body || ' ');

      const entry = await expectParkedBySqs(suite, record);

      expect(entry.MessageAttributes.failureClass?.StringValue).toBe(failureClass(input));
      expect(entry.MessageAttributes.sourceId?.StringValue).toBe(record.messageId);
      expectNamed(entry.MessageAttributes.reason?.StringValue, input);
      expect(suite.deployment.gmail.stats.connections).toBe(0);
    },
  );

  it.each(hostileInputs.filter((input) => input.eventBridge).map((input) => [input.name, input] as const))(
    'EventBridge parks a custom event with %s in the DLQ naming the field, and opens no SMTP connection',
    async (_name, input) => {
      const event = alertEvent(JSON.parse(input.body));
      const before = suite.deployment.deadLetters().length;

      const outcome = await suite.eventBridge(event);

      expect(outcome).toBe('parked');
      const entries = suite.deployment.deadLetters().slice(before);
      expect(entries).toHaveLength(1);
      expect(JSON.parse(entries[0]?.Body ?? '{}')).toEqual(event);
      expect(entries[0]?.MessageAttributes.failureClass?.StringValue).toBe('invalid');
      expectNamed(entries[0]?.MessageAttributes.reason?.StringValue, input);
      expect(suite.deployment.gmail.stats.connections).toBe(0);
    },
  );
});

describe('hostile but valid input: delivered as text, never as protocol', () => {
  // Its own deployment: these tests do send mail, and the block above counts no SMTP connections.
  const delivering = deployForSuite();

  it.each([
    ['CRLF . CRLF', '\r\n.\r\n'],
    ['bare LF . LF', '\n.\n'],
    ['LF . CRLF', '\n.\r\n'],
    ['CRLF . CR', '\r\n.\r'],
  ])('keeps SMTP smuggling with %s in the text inside the one message it sent', async (_name, end) => {
    const before = delivering.deployment.gmail.messages.length;
    const smuggled = `MAIL FROM:<mallory@evil.example>\r\nRCPT TO:<mallory@evil.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nspam`;
    const text = `disk full${end}${smuggled}${end}QUIT\r\n`;

    const response = await delivering.http(
      JSON.stringify({ subject: 'Smuggling probe', text, dedupKey: `smuggle-${before}` }),
    );

    expect(response.statusCode).toBe(200);
    const after = await delivering.deployment.gmail.waitForMessages(before + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(delivering.deployment.gmail.messages).toHaveLength(before + 1);
    expect(after.at(-1)?.envelope.to).toEqual(['oncall@example.com']);
    expect(after.at(-1)?.parsed.text).toContain('RCPT TO:<mallory@evil.example>');
    expect(
      delivering.deployment.gmail.messages.flatMap((message) => message.envelope.to).join(' '),
    ).not.toMatch(/evil/);
  });

  it('sends a link only as the URL parser serialises it', async () => {
    const before = delivering.deployment.gmail.messages.length;
    const url = 'HTTPS://Runbooks.EXAMPLE.com:443/a/../disk-full?q="<x>"#step-2';

    const response = await delivering.http(
      JSON.stringify({ subject: 'Link probe', dedupKey: 'link-probe', links: [{ title: 'Runbook', url }] }),
    );

    expect(response.statusCode).toBe(200);
    const mail = (await delivering.deployment.gmail.waitForMessages(before + 1)).at(-1);
    const serialised = 'https://runbooks.example.com/disk-full?q=%22%3Cx%3E%22#step-2';
    expect(String(mail?.parsed.html)).toContain(`<a href="${serialised}">Runbook</a>`);
    expect(mail?.parsed.text).toContain(`\nRunbook: ${serialised}\n`);
  });

  it('delivers an alarm whose name carries an encoded word with a subject no reader decodes a line break from', async () => {
    const before = delivering.deployment.gmail.messages.length;
    const alarmName = 'db-1 =?utf-8?b?DQpCY2M6IG1hbGxvcnlAZXZpbC5leGFtcGxl?= high';
    const event: EventBridgeEvent<string, unknown> = {
      ...alertEvent({ alarmName, state: { value: 'ALARM', reason: 'Threshold Crossed' } }),
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
    };

    const outcome = await delivering.eventBridge(event);

    expect(outcome).toBe('delivered');
    const mail = (await delivering.deployment.gmail.waitForMessages(before + 1)).at(-1);
    // mailparser decodes encoded words in the subject as a mail reader does.
    expect(mail?.parsed.subject).toBe(
      'db-1 = ?utf-8?b?DQpCY2M6IG1hbGxvcnlAZXZpbC5leGFtcGxl?= high (us-east-1)',
    );
    expect(mail?.parsed.headers.has('bcc')).toBe(false);
    // The name as the event sent it stays readable in the body.
    expect(mail?.parsed.text).toContain(`\nAlarm: ${alarmName}\n`);
  });
});

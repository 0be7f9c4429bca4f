import { describe, expect, it } from 'vitest';
import { expectParkedBySqs } from './support/dead-letters.ts';
import { alertEvent, deployForSuite, sqsRecord } from './support/deployment.ts';

// JSON.parse takes 100,000 levels; JSON.stringify and any recursive walk overflow at about 10,000.
// 100,000 levels of arrays is 200 KB, still under the 256 KiB body limit.
const DEPTHS = [10_000, 100_000];
const deepArray = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** Bodies nested too deep, each with the member the answer must name. */
const deepBodies = (levels: number) => [
  { name: 'a deep array as the whole body', body: deepArray(levels), field: 'body' },
  {
    name: 'a deep field value',
    body: `{"subject":"Disk full","fields":{"host":${deepArray(levels)}}}`,
    field: 'fields',
  },
  { name: 'a deep text', body: `{"subject":"Disk full","text":${deepArray(levels)}}`, field: 'text' },
  {
    name: 'an EventBridge envelope with a deep detail',
    body: `{"version":"0","id":"e-1","detail-type":"Deep","source":"deep.test","account":"123456789012","time":"2026-12-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"a":${deepArray(levels)}}}`,
    field: 'detail',
  },
];

const cases = DEPTHS.flatMap((levels) =>
  deepBodies(levels).map((input) => [`${input.name} (${levels} levels)`, input] as const),
);

const suite = deployForSuite();

describe('JSON nested thousands of levels deep', () => {
  it.each(cases)('HTTP answers %s with 400 naming the member and the depth', async (_name, input) => {
    const response = await suite.http(input.body);

    expect(response.statusCode).toBe(400);
    const { error } = JSON.parse(response.body);
    expect(error.class).toBe('invalid');
    expect(error.fields).toEqual([{ field: input.field, message: 'is nested more than 32 levels deep' }]);
    expect(suite.deployment.gmail.stats.connections).toBe(0);
  });

  it.each(cases)('SQS parks %s as invalid with its reason, not retried', async (_name, input) => {
    const entry = await expectParkedBySqs(suite, sqsRecord(input.body));

    expect(entry.MessageAttributes.failureClass?.StringValue).toBe('invalid');
    expect(entry.MessageAttributes.reason?.StringValue).toBe(
      `Invalid alert: ${input.field}: is nested more than 32 levels deep`,
    );
    expect(suite.deployment.gmail.stats.connections).toBe(0);
  });

  it.each(DEPTHS)(
    'EventBridge renders an event whose detail is %i levels deep, flattened to 16',
    async (levels) => {
      const event = { ...alertEvent(JSON.parse(deepObject(levels))), 'detail-type': 'Deep Event' };
      const mails = suite.deployment.gmail.messages.length;

      const outcome = await suite.eventBridge(event);

      expect(outcome).toBe('delivered');
      const mail = (await suite.deployment.gmail.waitForMessages(mails + 1)).at(-1);
      expect(mail?.parsed.subject).toBe('Deep Event from reliability.test');
      expect(mail?.parsed.text).toContain(
        `\ndetail${'.a'.repeat(16)}: … nested deeper than 16 levels; not shown\n`,
      );
    },
  );

  it.each(DEPTHS)(
    'EventBridge parks a custom alert with a field %i levels deep as invalid, never throwing',
    async (levels) => {
      const event = alertEvent({ subject: 'Disk full', fields: { host: JSON.parse(deepArray(levels)) } });
      const before = suite.deployment.deadLetters().length;
      const connections = suite.deployment.gmail.stats.connections;

      const outcome = await suite.eventBridge(event);

      expect(outcome).toBe('parked');
      const entries = suite.deployment.deadLetters().slice(before);
      expect(entries).toHaveLength(1);
      expect(entries[0]?.MessageAttributes.failureClass?.StringValue).toBe('invalid');
      expect(entries[0]?.MessageAttributes.reason?.StringValue).toBe(
        'Invalid alert: fields.host: must be a string, number or boolean',
      );
      // What cannot be serialised whole is kept to the depth the queue accepts, so it can be sent again.
      const parked = JSON.parse(entries[0]?.Body ?? '{}');
      expect(parked).toMatchObject({ id: event.id, detail: { subject: 'Disk full' } });
      // The event is level 1, detail 2, fields 3: arrays fill levels 4 to 32.
      expect(entries[0]?.Body).toContain(
        `"host":${'['.repeat(29)}"… nested deeper than 32 levels; not kept"${']'.repeat(29)}`,
      );
      expect(suite.deployment.gmail.stats.connections).toBe(connections);
    },
  );

  it('SQS renders an EventBridge envelope nested within the limit, flattened to 16 levels', async () => {
    const body = JSON.stringify({ ...alertEvent(JSON.parse(deepObject(30))), 'detail-type': 'Deep Event' });
    const mails = suite.deployment.gmail.messages.length;

    const batch = await suite.sqs([sqsRecord(body)]);

    expect(batch).toEqual({ batchItemFailures: [] });
    const mail = (await suite.deployment.gmail.waitForMessages(mails + 1)).at(-1);
    expect(mail?.parsed.text).toContain(
      `\ndetail${'.a'.repeat(16)}: … nested deeper than 16 levels; not shown\n`,
    );
  });
});

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gmailReplies } from '../../local/gmail-replies.ts';
import {
  account,
  type Deployment,
  recordFromQueued,
  SECRET_ID,
  sqsRecord,
  withDeployment,
} from './support/deployment.ts';
import { captureFileOutput } from './support/output-capture.ts';

captureFileOutput();

const alert = (dedupKey: string) => JSON.stringify({ subject: `Recovery: ${dedupKey}`, dedupKey });
const deliveredKeys = (deployment: Deployment) =>
  deployment.gmail.messages.map((message) => message.parsed.headers.get('x-alert-key'));

describe('held alerts go out once the fault has passed', () => {
  it('delivers a quota-held SQS record when the queue hands its delayed copy back after the block', async () => {
    await withDeployment({}, async (deployment) => {
      const sqs = await deployment.sqsHandler();
      deployment.gmail.failNext({ at: 'mail', ...gmailReplies.dailyLimitExceeded, times: 2 });
      const record = sqsRecord(alert('quota-held'));

      // Held, not failed: a delayed copy goes back on the queue, carrying when the hold began.
      expect(await sqs([record])).toEqual({ batchItemFailures: [] });
      const [held] = deployment.queued();
      if (!held) throw new Error('the quota-blocked alert was not held on the queue');
      const since = held.MessageAttributes.heldSince?.StringValue;

      // Still blocked 15 minutes later: held again, the start of the hold unchanged.
      expect(await sqs([recordFromQueued(held)])).toEqual({ batchItemFailures: [] });
      const [, again] = deployment.queued();
      if (!again) throw new Error('the second hold was not queued');
      expect(again.MessageAttributes.heldSince?.StringValue).toBe(since);

      expect(await sqs([recordFromQueued(again)])).toEqual({ batchItemFailures: [] });
      expect(deliveredKeys(deployment)).toEqual(['quota-held']);
      expect(deployment.deadLetters()).toEqual([]);
    });
  });

  it('parks a quota-held alert with its reason once the hold has outlasted a Gmail block (25 h)', async () => {
    await withDeployment({}, async (deployment) => {
      const sqs = await deployment.sqsHandler();
      deployment.gmail.failNext({ at: 'mail', ...gmailReplies.dailyLimitExceeded });
      const record = recordFromQueued({
        MessageId: randomUUID(),
        QueueUrl: '',
        Body: alert('held-too-long'),
        MessageAttributes: {
          heldSince: { DataType: 'Number', StringValue: String(Date.now() - 26 * 3_600_000) },
        },
      });

      expect(await sqs([record])).toEqual({ batchItemFailures: [] });
      expect(deployment.queued()).toEqual([]);
      const [parked] = deployment.deadLetters();
      expect(parked?.MessageAttributes.failureClass?.StringValue).toBe('quota');
      expect(parked?.MessageAttributes.heldSince?.StringValue).toBe(
        record.messageAttributes.heldSince?.stringValue,
      );
    });
  });

  it("parks a transient failure with its reason on the queue's last receive, instead of a silent redrive", async () => {
    await withDeployment({}, async (deployment) => {
      const sqs = await deployment.sqsHandler();
      deployment.gmail.failNext({ at: 'mail', ...gmailReplies.tryAgainLater, times: 2 });
      const body = alert('last-receive');

      expect(await sqs([sqsRecord(body, 'm-1', 4)])).toEqual({
        batchItemFailures: [{ itemIdentifier: 'm-1' }],
      });
      expect(await sqs([sqsRecord(body, 'm-1', 5)])).toEqual({ batchItemFailures: [] });
      const [parked] = deployment.deadLetters();
      expect(parked?.Body).toBe(body);
      expect(parked?.MessageAttributes).toMatchObject({
        failureClass: { StringValue: 'transient' },
        receiveCount: { StringValue: '5' },
        reason: { StringValue: expect.stringContaining('421') },
      });
    });
  });

  it('authenticates again on the next invocation after 454, without having retried AUTH in the first', async () => {
    await withDeployment({}, async (deployment) => {
      const sqs = await deployment.sqsHandler();
      deployment.gmail.failNext({ at: 'auth', ...gmailReplies.tooManyLoginAttempts });
      const record = sqsRecord(alert('after-454'));

      expect((await sqs([record])).batchItemFailures).toHaveLength(1);
      expect(deployment.gmail.stats.authAttempts).toBe(1);
      expect(await sqs([sqsRecord(record.body, record.messageId, 2)])).toEqual({ batchItemFailures: [] });

      expect(deployment.gmail.stats).toMatchObject({ authAttempts: 2, authSuccesses: 1 });
      expect(deliveredKeys(deployment)).toEqual(['after-454']);
    });
  });

  it('sends with a password rotated after a 535 in a later invocation, never sending the refused one again', async () => {
    const rotated = { spaced: 'wxyz abcd efgh ijkl', plain: 'wxyzabcdefghijkl' };
    await withDeployment({ gmail: { users: { [account.user]: rotated.plain } } }, async (deployment) => {
      const sqs = await deployment.sqsHandler();

      // Gmail already wants the new password, the secret still holds the old one: parked, with advice.
      expect(await sqs([sqsRecord(alert('before-rotation'))])).toEqual({ batchItemFailures: [] });
      expect(deployment.deadLetters()[0]?.MessageAttributes.failureClass?.StringValue).toBe('auth');
      expect(deployment.gmail.stats.authAttempts).toBe(1);

      // Someone rotates the secret. The cached old password is not sent again; the new one is read and used.
      deployment.secrets.setSecret(
        SECRET_ID,
        JSON.stringify({ username: account.user, password: rotated.spaced }),
      );
      expect(await sqs([sqsRecord(alert('after-rotation'))])).toEqual({ batchItemFailures: [] });

      expect(deployment.gmail.stats).toMatchObject({ authAttempts: 2, authSuccesses: 1 });
      expect(deliveredKeys(deployment)).toEqual(['after-rotation']);
    });
  });

  it('opens a new connection and delivers once a blackholed path is back', async () => {
    await withDeployment({ natPath: true, env: { SMTP_TIMEOUT_MS: '1500' } }, async (deployment) => {
      const sqs = await deployment.sqsHandler();
      expect(await sqs([sqsRecord(alert('warm'))])).toEqual({ batchItemFailures: [] });
      deployment.nat?.setOpenFlows('blackhole');
      deployment.nat?.setNewFlows('blackhole');
      const record = sqsRecord(alert('through-the-blackhole'));

      expect((await sqs([record])).batchItemFailures).toHaveLength(1);
      deployment.nat?.setNewFlows('forward');
      expect(await sqs([sqsRecord(record.body, record.messageId, 2)])).toEqual({ batchItemFailures: [] });

      expect(deliveredKeys(deployment)).toEqual(['warm', 'through-the-blackhole']);
    });
  });
});

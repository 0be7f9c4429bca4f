import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmailReplies } from '../support/gmail-replies.ts';
import {
  account,
  type Deployment,
  type DeploymentOptions,
  deploy,
  SECRET_ID,
  sqsRecord,
} from './support/deployment.ts';
import { captureOutput, type OutputCapture } from './support/output-capture.ts';

let output: OutputCapture;
beforeAll(() => {
  output = captureOutput();
});
afterAll(() => output.stop());

async function withDeployment(options: DeploymentOptions, run: (deployment: Deployment) => Promise<void>) {
  const deployment = await deploy(options);
  try {
    await run(deployment);
  } finally {
    await deployment.close();
  }
}

const alert = (dedupKey: string) => JSON.stringify({ subject: `Recovery: ${dedupKey}`, dedupKey });
const deliveredKeys = (deployment: Deployment) =>
  deployment.gmail.messages.map((message) => message.parsed.headers.get('x-alert-dedup-key'));

describe('held alerts go out once the fault has passed', () => {
  it('delivers a quota-held SQS record when SQS redelivers it after the block', async () => {
    await withDeployment({}, async (deployment) => {
      const sqs = await deployment.sqsHandler();
      deployment.gmail.failNext({ at: 'mail', ...gmailReplies.dailyLimitExceeded });
      const record = sqsRecord(alert('quota-held'));

      expect(await sqs([record])).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      expect(await sqs([sqsRecord(record.body, record.messageId, 2)])).toEqual({ batchItemFailures: [] });

      expect(deliveredKeys(deployment)).toEqual(['quota-held']);
      expect(deployment.deadLetters()).toEqual([]);
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
    await withDeployment({ natPath: true, env: { SMTP_TIMEOUT_MS: '500' } }, async (deployment) => {
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

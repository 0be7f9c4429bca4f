import { describe, expect, it } from 'vitest';
import { gmailReplies } from '../../local/gmail-replies.ts';
import type { SmtpFault } from '../../local/gmail-server.ts';
import { alertEvent, type Deployment, sqsRecord, withDeployment } from './support/deployment.ts';
import { captureFileOutput } from './support/output-capture.ts';

captureFileOutput();

// More SQS failures than the SDK's three attempts: the queue is down for this invocation.
const SQS_DOWN = 6;

/** Gmail refuses the next alert with `refusal`, and the queue and the DLQ are down for this invocation. */
function refuseWithQueuesDown(deployment: Deployment, refusal: SmtpFault) {
  deployment.gmail.failNext(refusal);
  deployment.sqs.failNext(SQS_DOWN, 'internal');
}

describe('nothing is dropped when the durable side fails too', () => {
  it('HTTP answers 503 with Retry-After when Gmail is briefly unavailable and the fallback queue is down', async () => {
    await withDeployment({}, async (deployment) => {
      const http = await deployment.http();
      refuseWithQueuesDown(deployment, { at: 'mail', ...gmailReplies.tryAgainLater });

      const response = await http(JSON.stringify({ subject: 'Queue down too', dedupKey: 'queue-down' }));

      // Not a bare "Internal error": the caller must learn that trying again later is right.
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['Retry-After']).toBe('60');
      expect(JSON.parse(response.body).error).toMatchObject({ class: 'transient' });
      expect(deployment.queued()).toEqual([]);
    });
  });

  it('SQS reports a permanent failure as a batch failure when the DLQ is down, instead of dropping it', async () => {
    await withDeployment({}, async (deployment) => {
      const sqs = await deployment.sqsHandler();
      refuseWithQueuesDown(deployment, { at: 'data', ...gmailReplies.messageTooBig });
      const record = sqsRecord(JSON.stringify({ subject: 'DLQ down', dedupKey: 'dlq-down' }));

      const batch = await sqs([record]);

      expect(batch).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      expect(deployment.deadLetters()).toEqual([]);
    });
  });

  it('EventBridge throws a permanent failure when the DLQ is down, so the on-failure destination keeps it', async () => {
    await withDeployment({}, async (deployment) => {
      const eventBridge = await deployment.eventBridge();
      refuseWithQueuesDown(deployment, { at: 'data', ...gmailReplies.messageTooBig });

      await expect(
        eventBridge(alertEvent({ subject: 'DLQ down', dedupKey: 'eb-dlq-down' })),
      ).rejects.toThrow();
      expect(deployment.deadLetters()).toEqual([]);
    });
  });

  it('SQS settles a mixed batch record by record: delivered, parked and retried, each once', async () => {
    const retried = new Set(['mixed-quota-1', 'mixed-quota-2']);
    await withDeployment(
      {
        gmail: {
          // Gmail refuses two particular alerts for now (451 4.3.0), whatever order the batch runs in.
          onMessage: (message) => {
            if (retried.has(String(message.parsed.headers.get('x-alert-key'))))
              throw new Error('refused for now');
          },
        },
      },
      async (deployment) => {
        const sqs = await deployment.sqsHandler();
        const good = Array.from({ length: 5 }, (_, i) =>
          sqsRecord(JSON.stringify({ subject: `ok ${i}`, dedupKey: `mixed-ok-${i}` })),
        );
        const invalid = [
          sqsRecord(JSON.stringify({ subject: 'a\r\nBcc: x@evil.example' })),
          sqsRecord('not json'),
          sqsRecord(JSON.stringify({ subject: 'relay', to: ['mallory@evil.example'] })),
        ];
        const transient = [...retried].map((dedupKey) =>
          sqsRecord(JSON.stringify({ subject: dedupKey, dedupKey })),
        );

        const batch = await sqs([...good, ...invalid, ...transient]);

        expect(batch.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
          transient.map((record) => record.messageId).sort(),
        );
        expect(
          deployment
            .deadLetters()
            .map((entry) => entry.MessageAttributes.sourceId?.StringValue)
            .sort(),
        ).toEqual(invalid.map((record) => record.messageId).sort());
        const delivered = deployment.gmail.messages
          .map((message) => message.parsed.headers.get('x-alert-key'))
          .sort();
        expect(delivered).toEqual(good.map((_, i) => `mixed-ok-${i}`));
      },
    );
  });
});

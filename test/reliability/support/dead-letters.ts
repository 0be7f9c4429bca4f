import type { SQSRecord } from 'aws-lambda';
import { expect } from 'vitest';
import type { SqsStoredMessage } from '../../../local/sqs-endpoint.ts';
import type { SuiteDeployment } from './deployment.ts';

/**
 * Sends `record` through the suite's SQS handler and expects it settled, not retried: the batch
 * reports no failure and exactly one DLQ entry holds the body as it came. Returns that entry, whose
 * reason and class each caller checks.
 */
export async function expectParkedBySqs(
  suite: SuiteDeployment,
  record: SQSRecord,
): Promise<SqsStoredMessage> {
  const before = suite.deployment.deadLetters().length;

  const batch = await suite.sqs([record]);

  expect(batch).toEqual({ batchItemFailures: [] });
  const entries = suite.deployment.deadLetters().slice(before);
  expect(entries).toHaveLength(1);
  const [entry] = entries as [SqsStoredMessage];
  expect(entry.Body).toBe(record.body);
  return entry;
}

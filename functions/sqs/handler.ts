import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sendDeadline } from '../core/deadline.ts';
import { deliverDigest, deliverOnceOrPark } from '../core/deliver-or-park.ts';
import { logger } from '../core/logger.ts';
import { publishDeliveryMetrics } from '../core/metrics.ts';
import { digestKeyOfRecord, queuedHistoryOf } from '../core/queues.ts';
import { alertFromQueuedBody } from '../core/record-alert.ts';
import { deliverOnce, initRuntime } from '../core/runtime.ts';

const runtime = initRuntime();
const processor = new BatchProcessor(EventType.SQS);

// Records of one batch are sent in parallel; the pool's maxConnections bounds what Gmail sees.
const SQS_SEND_CAP_MS = 25_000;

async function processAlertRecord(record: SQSRecord, context: Context): Promise<void> {
  const current = runtime();
  const deadlineMs = sendDeadline(context, SQS_SEND_CAP_MS);
  const origin = { trigger: 'sqs' as const, id: record.messageId };
  const digestKey = digestKeyOfRecord(record.messageAttributes);
  // Once per message id: a redelivered record sends nothing twice. Per-recipient copies are new messages.
  if (digestKey) {
    await deliverOnce(current, 'sqs', record.messageId, context, () =>
      deliverDigest(current, origin, digestKey, deadlineMs),
    );
    return;
  }
  await deliverOnceOrPark(
    current,
    {
      ...origin,
      receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
      ...queuedHistoryOf(record.messageAttributes),
    },
    { key: record.messageId, context },
    () => record.body,
    () => alertFromQueuedBody(record.body, current.config),
    deadlineMs,
    (outcome) => outcome.status,
  );
}

/** SQS alerts queue: partial batch failures, so only the records that can succeed later come back. */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(publishDeliveryMetrics())
  .handler((event, context) =>
    processPartialResponse(event, (record: SQSRecord) => processAlertRecord(record, context), processor, {
      context,
      processInParallel: true,
      // A batch that fails whole is still answered record by record, never thrown away as one error.
      throwOnFullBatchFailure: false,
    }),
  );

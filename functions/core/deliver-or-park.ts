import type { Alert } from './alert.ts';
import { AlertError } from './errors.ts';
import type { DeliveryReceipt } from './gmail-sender.ts';
import { describeFailure, logger } from './logger.ts';
import { type AlertOrigin, sendToDeadLetterQueue } from './queues.ts';
import type { AlertRuntime } from './runtime.ts';

export type DeliveryOutcome =
  | { status: 'delivered'; receipt: DeliveryReceipt }
  | { status: 'parked'; failure: AlertError };

/**
 * The rule that nothing is lost, for triggers that can retry (SQS, EventBridge): an alert is
 * delivered; or, if a later attempt could succeed (transient, quota, configuration), this throws so
 * the trigger retries it; or, if it can never succeed as it is, it is parked in the dead-letter queue
 * with its reason. If parking is impossible, this throws too, so the trigger keeps the alert.
 */
export async function deliverOrPark(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  body: string,
  toAlert: () => Alert,
  deadlineMs: number,
): Promise<DeliveryOutcome> {
  const { config, sender } = runtime;
  try {
    const alert = toAlert();
    const receipt = await sender.send(alert, { deadlineMs });
    logger.info('Alert delivered', {
      ...origin,
      messageId: receipt.messageId,
      accepted: receipt.accepted.length,
      rejected: receipt.rejected.length,
    });
    return { status: 'delivered', receipt };
  } catch (error) {
    if (!(error instanceof AlertError) || error.retryable || error.failureClass === 'config') {
      logger.warn('Alert not delivered; left for retry', { ...origin, ...describeFailure(error) });
      throw error;
    }
    if (!config.deadLetterQueueUrl) {
      logger.error('Alert cannot be delivered and ALERT_DLQ_URL is not set; left for retry', {
        ...origin,
        ...describeFailure(error),
      });
      throw error;
    }
    await sendToDeadLetterQueue(config.deadLetterQueueUrl, body, error, origin);
    logger.warn('Alert parked in the dead-letter queue', { ...origin, ...describeFailure(error) });
    return { status: 'parked', failure: error };
  }
}

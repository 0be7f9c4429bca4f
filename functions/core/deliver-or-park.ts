import type { Alert } from './alert.ts';
import { AlertError } from './errors.ts';
import type { DeliveryReceipt } from './gmail-sender.ts';
import { describeFailure, logger } from './logger.ts';
import { type AlertOrigin, enqueueAlert, sendToDeadLetterQueue } from './queues.ts';
import type { AlertRuntime } from './runtime.ts';

export type DeliveryOutcome =
  | { status: 'delivered'; receipt: DeliveryReceipt }
  | { status: 'held'; failure: AlertError }
  | { status: 'parked'; failure: AlertError };

/** How long a quota-blocked alert waits between attempts (SQS's longest delay). */
export const QUOTA_HOLD_DELAY_SECONDS = 900;
/** Gmail blocks an account for up to 24 h; past that, holding longer would hide a different problem. */
export const QUOTA_HOLD_LIMIT_MS = 25 * 60 * 60 * 1000;

/**
 * The rule that nothing is lost, for triggers that can retry (SQS, EventBridge). An alert is
 * - delivered; or
 * - held on the alerts queue, 15 minutes at a time for up to 25 hours, when Gmail's daily quota
 *   blocks the account (a retry on the trigger's own schedule would exhaust it within minutes); or
 * - left to the trigger's retry (this throws) when a later attempt could succeed (transient, or a
 *   configuration someone can fix); or
 * - parked in the dead-letter queue with its class, reason and advice when it can never succeed as
 *   it is, or when this is the queue's last receive (so even an exhausted retry arrives with a reason).
 * If holding or parking is impossible, this throws too, so the trigger keeps the alert.
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
    if (!(error instanceof AlertError)) {
      logger.error('Alert not delivered: unexpected error; left for retry', {
        ...origin,
        ...describeFailure(error),
      });
      throw error;
    }
    const heldSince = origin.heldSince ?? Date.now();
    const holdExpired = Date.now() - heldSince >= QUOTA_HOLD_LIMIT_MS;
    if (error.failureClass === 'quota' && config.queueUrl && !holdExpired) {
      await enqueueAlert(config.queueUrl, body, QUOTA_HOLD_DELAY_SECONDS, heldSince);
      logger.warn('Alert held on the queue while Gmail blocks sending', {
        ...origin,
        ...describeFailure(error),
      });
      return { status: 'held', failure: error };
    }
    const lastReceive =
      config.maxReceives !== undefined &&
      origin.receiveCount !== undefined &&
      origin.receiveCount >= config.maxReceives;
    const worthRetrying = error.retryable || error.failureClass === 'config';
    if (worthRetrying && !lastReceive && !holdExpired) {
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

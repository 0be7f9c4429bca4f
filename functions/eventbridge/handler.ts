import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { sendDeadline } from '../core/deadline.ts';
import { type DeliveryOutcome, deliverOnceOrPark } from '../core/deliver-or-park.ts';
import { alertFromEvent, serialiseEvent } from '../core/event-alert.ts';
import { logger } from '../core/logger.ts';
import { publishDeliveryMetrics } from '../core/metrics.ts';
import { initRuntime } from '../core/runtime.ts';

const runtime = initRuntime();

const EVENT_SEND_CAP_MS = 25_000;

/**
 * EventBridge rule target (asynchronous invoke): any event becomes a readable alert. A failure a
 * retry can fix throws, so Lambda's async retries and the on-failure destination take over.
 */
export const handler = middy<EventBridgeEvent<string, unknown>, DeliveryOutcome['status']>()
  .use(injectLambdaContext(logger))
  .use(publishDeliveryMetrics())
  .handler(async (event, context: Context) => {
    const current = runtime();
    // Once per event id: a retried event sends nothing twice.
    return deliverOnceOrPark(
      current,
      { trigger: 'eventbridge', id: event.id },
      { key: event.id, context },
      () => serialiseEvent(event),
      () => alertFromEvent(event, current.config),
      sendDeadline(context, EVENT_SEND_CAP_MS),
      (outcome) => outcome.status,
    );
  });

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  Context,
} from 'aws-lambda';
import { parseAlert, parseJsonBody } from '../core/alert.ts';
import { sendDeadline } from '../core/deadline.ts';
import { QUOTA_HOLD_DELAY_SECONDS } from '../core/deliver-or-park.ts';
import { AlertError } from '../core/errors.ts';
import { toHttpError } from '../core/http-response.ts';
import { describeFailure, logger } from '../core/logger.ts';
import { enqueueAlert } from '../core/queues.ts';
import { initRuntime } from '../core/runtime.ts';

const runtime = initRuntime();

// API Gateway waits 29 s at most; answer well before that, with the queue as the fallback.
const HTTP_SEND_CAP_MS = 20_000;

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

async function handleAlertRequest(
  event: APIGatewayProxyEvent | APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyResult> {
  const { config, sender } = runtime();
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  const alert = parseAlert(parseJsonBody(body), config);
  try {
    const receipt = await sender.send(alert, { deadlineMs: sendDeadline(context, HTTP_SEND_CAP_MS) });
    logger.info('Alert delivered', { messageId: receipt.messageId, accepted: receipt.accepted.length });
    return json(200, receipt);
  } catch (error) {
    if (!(error instanceof AlertError) || !error.retryable) throw error;
    if (!config.queueUrl) throw toHttpError(error, { 'Retry-After': '60' });
    try {
      if (error.failureClass === 'quota')
        await enqueueAlert(config.queueUrl, body, QUOTA_HOLD_DELAY_SECONDS, Date.now());
      else await enqueueAlert(config.queueUrl, body, 0);
    } catch {
      // Neither Gmail nor the queue took it: tell the caller to try again, not "internal error".
      logger.error('Alert could not be queued either', describeFailure(error));
      throw toHttpError(error, { 'Retry-After': '60' });
    }
    logger.warn('Alert queued for a later attempt', describeFailure(error));
    return json(202, { queued: true, reason: { class: error.failureClass, advice: error.advice } });
  }
}

/** API Gateway `POST /alerts` (REST v1 proxy or HTTP API v2 events). */
export const handler = middy<APIGatewayProxyEvent | APIGatewayProxyEventV2, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(
    httpErrorHandler({
      logger: false,
      fallbackMessage: JSON.stringify({ error: { class: 'internal', message: 'Internal error' } }),
    }),
  )
  // Registered last so its onError runs first: it turns our classified errors into HTTP errors.
  .use({
    onError: (request) => {
      logger.warn('Alert request failed', describeFailure(request.error));
      request.error = toHttpError(request.error) as Error;
    },
  })
  .handler(handleAlertRequest);

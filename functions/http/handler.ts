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
import { deliverOrPark } from '../core/deliver-or-park.ts';
import { deliveryAnswer, idempotencyKeyOf, toHttpError } from '../core/http-response.ts';
import { describeFailure, logger } from '../core/logger.ts';
import { deliverOnce, initRuntime } from '../core/runtime.ts';

const runtime = initRuntime();

// API Gateway waits 29 s at most; answer well before that, with the queue as the fallback.
const HTTP_SEND_CAP_MS = 20_000;

async function handleAlertRequest(
  event: APIGatewayProxyEvent | APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyResult> {
  const current = runtime();
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  // Validated before anything is sent, so a bad request is answered 400 and never queued.
  const alert = parseAlert(parseJsonBody(body), current.config);
  // Once per Idempotency-Key: a repeated request gets the first answer and sends nothing; the same
  // key with another body is refused.
  return deliverOnce(
    current,
    'http',
    idempotencyKeyOf(event.headers),
    context,
    async () => {
      const outcome = await deliverOrPark(
        current,
        { trigger: 'http', id: context.awsRequestId },
        () => body,
        () => alert,
        sendDeadline(context, HTTP_SEND_CAP_MS),
      );
      return deliveryAnswer(outcome);
    },
    body,
  );
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

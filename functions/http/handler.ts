import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpRouterHandler from '@middy/http-router';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  Context,
} from 'aws-lambda';
import { parseAlert, parseJsonBody } from '../core/alert.ts';
import { sendDeadline } from '../core/deadline.ts';
import { deliverOnceOrPark } from '../core/deliver-or-park.ts';
import { deliveryAnswer, idempotencyKeyOf, toHttpError } from '../core/http-response.ts';
import { describeFailure, logger } from '../core/logger.ts';
import { publishDeliveryMetrics } from '../core/metrics.ts';
import { type AlertRuntime, initRuntime } from '../core/runtime.ts';
import { notFoundPage, unavailablePage } from '../core/silence-pages.ts';
import { handleSilenceRequest } from '../core/silence-requests.ts';

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
  return deliverOnceOrPark(
    current,
    { trigger: 'http', id: context.awsRequestId },
    { key: idempotencyKeyOf(event.headers), context, content: body },
    () => body,
    () => alert,
    sendDeadline(context, HTTP_SEND_CAP_MS),
    deliveryAnswer,
  );
}

type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** `POST /alerts`: an alert, answered in JSON. */
const alertRoute = middy<HttpEvent, APIGatewayProxyResult>()
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

/** `GET` and `POST /silences/{token}`: the pages of a silence link (silence-requests.ts). */
const silenceRoute = (method: 'GET' | 'POST') =>
  middy<HttpEvent, APIGatewayProxyResult>().handler((event) => {
    let current: AlertRuntime;
    try {
      current = runtime();
    } catch {
      // The configuration error was logged at cold start; the page says only that nothing changed.
      return unavailablePage(500);
    }
    return handleSilenceRequest(current, event, method);
  });

/**
 * API Gateway (REST v1 proxy or HTTP API v2 events): `POST /alerts` with the API key, and the silence
 * link's `GET`/`POST /silences/{token}` without one (the token is the credential). A POST to any other
 * path is an alert, as it was before the routes existed; anything else is a 404 page.
 */
export const handler = middy<HttpEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(publishDeliveryMetrics())
  .handler(
    httpRouterHandler<HttpEvent, APIGatewayProxyResult>({
      routes: [
        { method: 'POST', path: '/alerts', handler: alertRoute },
        { method: 'GET', path: '/silences/{token}', handler: silenceRoute('GET') },
        { method: 'POST', path: '/silences/{token}', handler: silenceRoute('POST') },
        // Dynamic routes are tried in order, so this one only takes what the silence route did not.
        { method: 'POST', path: '/{proxy+}', handler: alertRoute },
      ],
      notFoundResponse: () => notFoundPage(),
    }) as never,
  );

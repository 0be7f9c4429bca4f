import type { APIGatewayProxyEvent, SQSEvent } from 'aws-lambda';
import { sqsEvent, sqsRecord } from '../local/lambda-events.ts';
import { loadEvent } from '../local/sample-events.ts';

const severities = ['critical', 'high', 'warning', 'info'] as const;
let sequence = 0;

/** An SQS event of `count` distinct alerts, as the event source mapping delivers them. */
export function sqsAlertEvent(count: number): SQSEvent {
  return sqsEvent(
    Array.from({ length: count }, () => {
      sequence += 1;
      const body = JSON.stringify({
        subject: `Benchmark alert ${sequence}: queue backlog above 10,000`,
        text: 'The orders queue has been growing for 15 minutes.',
        severity: severities[sequence % severities.length],
        source: 'bench',
        dedupKey: `bench-${sequence}`,
        fields: { queue: 'orders', depth: 12873 + sequence },
      });
      return sqsRecord(body);
    }),
  );
}

/**
 * The sample API Gateway `POST /alerts` request (`events/http-alert.json`), with a fresh request id
 * and a key of its own, so the repeat interval mails every one.
 */
export function httpAlertEvent(): APIGatewayProxyEvent {
  const event = loadEvent<APIGatewayProxyEvent>('http-alert');
  sequence += 1;
  const body = { ...JSON.parse(event.body ?? '{}'), dedupKey: `bench-http-${sequence}` };
  return {
    ...event,
    body: JSON.stringify(body),
    requestContext: { ...event.requestContext, requestId: crypto.randomUUID() },
  };
}

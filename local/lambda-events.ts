// The events AWS would hand the functions, built from local requests: API Gateway REST (v1) proxy
// events, EventBridge events and SQS batches, shaped like the samples in events/.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  EventBridgeEvent,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/** Headers as API Gateway passes them: the client's spelling, last value wins, and every value in multiValueHeaders. */
function gatewayHeaders(request: IncomingMessage) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index] as string;
    const value = request.rawHeaders[index + 1] as string;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  return { headers, multiValueHeaders };
}

/** A REST API (v1) proxy event for `POST /alerts`, as API Gateway sends it after the API key check. */
export function apiGatewayEvent(
  request: IncomingMessage,
  body: string,
  apiKey: string,
): APIGatewayProxyEvent {
  const url = new URL(request.url ?? '/', 'http://local');
  const query = [...url.searchParams.keys()];
  const { headers, multiValueHeaders } = gatewayHeaders(request);
  const now = new Date();
  return {
    resource: url.pathname,
    path: url.pathname,
    httpMethod: request.method ?? 'POST',
    headers,
    multiValueHeaders,
    queryStringParameters: query.length > 0 ? Object.fromEntries(url.searchParams) : null,
    multiValueQueryStringParameters:
      query.length > 0 ? Object.fromEntries(query.map((key) => [key, url.searchParams.getAll(key)])) : null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'local',
      resourceId: 'local',
      resourcePath: url.pathname,
      httpMethod: request.method ?? 'POST',
      path: `/local${url.pathname}`,
      stage: 'local',
      protocol: `HTTP/${request.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: now.getTime(),
      authorizer: null,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey,
        apiKeyId: 'local-dev',
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: request.headers['user-agent'] ?? null,
        userArn: null,
      },
    },
    body,
    isBase64Encoded: false,
  };
}

/** The HTTP answer API Gateway makes of a proxy integration's result. */
export function gatewayResponse(result: APIGatewayProxyResult): {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
} {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name] = values.map(String).join(', ');
  const body = result.isBase64Encoded
    ? Buffer.from(result.body ?? '', 'base64')
    : Buffer.from(result.body ?? '', 'utf8');
  return { status: result.statusCode, headers, body };
}

/**
 * An EventBridge event as a rule delivers it, from either that shape or a PutEvents entry
 * (`Source`, `DetailType`, `Detail` as a JSON string). Returns a problem instead when neither fits.
 */
export function eventBridgeEvent(input: unknown): EventBridgeEvent<string, unknown> | { problem: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { problem: 'the body must be a JSON object: an EventBridge event' };
  }
  const value = input as Record<string, unknown>;
  const entry = 'DetailType' in value || 'Source' in value;
  const detailType = entry ? value.DetailType : value['detail-type'];
  const source = entry ? value.Source : value.source;
  if (typeof detailType !== 'string' || typeof source !== 'string') {
    return {
      problem:
        'an EventBridge event needs "source" and "detail-type" (or a PutEvents entry with Source and DetailType)',
    };
  }
  let detail: unknown = entry ? value.Detail : value.detail;
  if (entry && typeof detail === 'string') {
    try {
      detail = JSON.parse(detail);
    } catch {
      return { problem: 'Detail must be a JSON object in a string, as PutEvents takes it' };
    }
  }
  return {
    version: '0',
    id: typeof value.id === 'string' ? value.id : randomUUID(),
    'detail-type': detailType,
    source,
    account: typeof value.account === 'string' ? value.account : ACCOUNT,
    time: typeof value.time === 'string' ? value.time : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: typeof value.region === 'string' ? value.region : REGION,
    resources: Array.isArray(value.resources ?? value.Resources)
      ? ((value.resources ?? value.Resources) as string[])
      : [],
    detail: detail ?? {},
  };
}

/** A message as the local queue holds it (the SQS endpoint's stored form; `BinaryValue` is base64). */
export interface QueuedMessage {
  MessageId: string;
  Body: string;
  MessageAttributes: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
}

export interface SqsRecordOptions {
  /** Default: a fresh id. */
  messageId?: string;
  /** ApproximateReceiveCount (default 1). */
  receiveCount?: number;
  /** SentTimestamp in ms (default now). */
  sentAt?: number;
  /** The message attributes in the queue's stored form. */
  attributes?: QueuedMessage['MessageAttributes'];
  /** Default `gmail-alerts-queue`. */
  queueName?: string;
}

/** One SQS record as the event source mapping hands it to the function. */
export function sqsRecord(body: string, options: SqsRecordOptions = {}): SQSRecord {
  const sentAt = options.sentAt ?? Date.now();
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: randomUUID(),
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(sentAt),
      SenderId: 'AIDALOCAL',
      ApproximateFirstReceiveTimestamp: String(sentAt),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(options.attributes ?? {}).map(([name, attribute]) => [
        name,
        {
          dataType: attribute.DataType,
          ...(attribute.StringValue === undefined ? {} : { stringValue: attribute.StringValue }),
          ...(attribute.BinaryValue === undefined ? {} : { binaryValue: attribute.BinaryValue }),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:${options.queueName ?? 'gmail-alerts-queue'}`,
    awsRegion: REGION,
  };
}

/** The record of a message the functions (or anyone) put on a local queue, on its `receiveCount`th receive. */
export function recordFromQueued(
  message: QueuedMessage,
  options: Omit<SqsRecordOptions, 'messageId' | 'attributes'> = {},
): SQSRecord {
  return sqsRecord(message.Body, {
    ...options,
    messageId: message.MessageId,
    attributes: message.MessageAttributes,
  });
}

/** An SQS batch as the event source mapping delivers it. */
export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

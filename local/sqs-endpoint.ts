import { createHash, randomUUID } from 'node:crypto';
import {
  AwsServiceError,
  serviceMembers,
  startAwsJsonEndpoint,
  unknownOperation,
} from './aws-json-endpoint.ts';

/** A message attribute as SendMessage carries it in JSON (`BinaryValue` is base64). */
export interface SqsMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export interface SqsStoredMessage {
  MessageId: string;
  QueueUrl: string;
  Body: string;
  MessageAttributes: Record<string, SqsMessageAttribute>;
  DelaySeconds?: number;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

export type SqsFault = 'throttle' | 'internal';

export interface SqsEndpoint {
  /** For `AWS_ENDPOINT_URL_SQS`. */
  readonly url: string;
  /** SendMessage and SendMessageBatch calls answered, faults included. */
  readonly calls: number;
  /** Added before every answer. */
  delayMs: number;
  /** A queue URL on this endpoint, so the SDK does not redirect the call to the URL's own host. */
  queueUrl(name: string): string;
  /** Messages sent to `queueUrl`, oldest first. */
  messages(queueUrl: string): SqsStoredMessage[];
  failNext(times?: number, fault?: SqsFault): void;
  close(): Promise<void>;
}

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

const lengthPrefixed = (bytes: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, bytes];
};

/**
 * MD5OfMessageAttributes as SQS computes it: attributes sorted by name, each encoded as
 * length-prefixed name, length-prefixed data type, a transport byte (1 string, 2 binary) and the
 * length-prefixed value. (The SDK only verifies the body's MD5, but a consumer may check this one.)
 */
export function md5OfMessageAttributes(attributes: Record<string, SqsMessageAttribute>): string {
  const parts: Buffer[] = [];
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name] as SqsMessageAttribute;
    const binary = attribute.DataType.startsWith('Binary');
    const value = binary
      ? Buffer.from(attribute.BinaryValue ?? '', 'base64')
      : Buffer.from(attribute.StringValue ?? '', 'utf8');
    parts.push(
      ...lengthPrefixed(Buffer.from(name, 'utf8')),
      ...lengthPrefixed(Buffer.from(attribute.DataType, 'utf8')),
      Buffer.from([binary ? 2 : 1]),
      ...lengthPrefixed(value),
    );
  }
  return md5(Buffer.concat(parts));
}

const faultErrors: Record<SqsFault, () => AwsServiceError> = {
  // SQS speaks JSON with AWS Query compatibility: the SDK reads the legacy code from this header.
  throttle: () =>
    new AwsServiceError(400, 'com.amazonaws.sqs#RequestThrottled', 'Request is throttled.', {
      'x-amzn-query-error': 'RequestThrottled;Sender',
    }),
  internal: () =>
    new AwsServiceError(500, 'com.amazonaws.sqs#InternalError', 'We encountered an internal error.', {
      'x-amzn-query-error': 'InternalError;Receiver',
    }),
};

const invalid = (message: string) =>
  new AwsServiceError(400, 'com.amazonaws.sqs#InvalidParameterValue', message, {
    'x-amzn-query-error': 'InvalidParameterValue;Sender',
  });

/**
 * Starts a loopback SQS that accepts `SendMessage` and `SendMessageBatch` in the AWS JSON 1.0 protocol
 * (what `@aws-sdk/client-sqs` speaks) and keeps every message per queue URL.
 */
export async function startSqsEndpoint(): Promise<SqsEndpoint> {
  const queues = new Map<string, SqsStoredMessage[]>();
  const faults: SqsFault[] = [];
  let calls = 0;

  const store = (queueUrl: string, entry: Record<string, unknown>) => {
    const body = entry.MessageBody;
    if (typeof body !== 'string' || body.length === 0)
      throw invalid('The request must contain the parameter MessageBody.');
    const delay = entry.DelaySeconds;
    if (delay !== undefined && (typeof delay !== 'number' || delay < 0 || delay > 900)) {
      throw invalid('Value for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= 900.');
    }
    const attributes = (entry.MessageAttributes ?? {}) as Record<string, SqsMessageAttribute>;
    const message: SqsStoredMessage = {
      MessageId: randomUUID(),
      QueueUrl: queueUrl,
      Body: body,
      MessageAttributes: attributes,
      ...(delay === undefined ? {} : { DelaySeconds: delay }),
      ...(typeof entry.MessageGroupId === 'string' ? { MessageGroupId: entry.MessageGroupId } : {}),
      ...(typeof entry.MessageDeduplicationId === 'string'
        ? { MessageDeduplicationId: entry.MessageDeduplicationId }
        : {}),
    };
    queues.set(queueUrl, [...(queues.get(queueUrl) ?? []), message]);
    return {
      MessageId: message.MessageId,
      MD5OfMessageBody: md5(body),
      ...(Object.keys(attributes).length > 0
        ? { MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }
        : {}),
    };
  };

  const sendMessageBatch = (queueUrl: string, entries: Record<string, unknown>[]) => {
    if (entries.length === 0) {
      throw new AwsServiceError(
        400,
        'com.amazonaws.sqs#EmptyBatchRequest',
        'There should be at least one SendMessageBatchRequestEntry in the request.',
        { 'x-amzn-query-error': 'AWS.SimpleQueueService.EmptyBatchRequest;Sender' },
      );
    }
    if (entries.length > 10) {
      throw new AwsServiceError(
        400,
        'com.amazonaws.sqs#TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
        { 'x-amzn-query-error': 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender' },
      );
    }
    if (new Set(entries.map((entry) => entry.Id)).size !== entries.length) {
      throw new AwsServiceError(
        400,
        'com.amazonaws.sqs#BatchEntryIdsNotDistinct',
        'Id values must be distinct.',
        { 'x-amzn-query-error': 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender' },
      );
    }
    // An invalid entry fails alone, as in SQS; the others are still sent.
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id, ...store(queueUrl, entry) });
      } catch (err) {
        if (!(err instanceof AwsServiceError)) throw err;
        Failed.push({ Id: entry.Id, SenderFault: true, Code: 'InvalidParameterValue', Message: err.message });
      }
    }
    return { Successful, Failed };
  };

  const endpoint = await startAwsJsonEndpoint({
    jsonVersion: '1.0',
    handle(target, input) {
      calls += 1;
      const fault = faults.shift();
      if (fault) throw faultErrors[fault]();
      const queueUrl = String(input.QueueUrl ?? '');
      if (target === 'AmazonSQS.SendMessage') return store(queueUrl, input);
      if (target === 'AmazonSQS.SendMessageBatch') {
        return sendMessageBatch(queueUrl, (input.Entries ?? []) as Record<string, unknown>[]);
      }
      throw unknownOperation(target);
    },
  });

  // Object.assign keeps the shared members' getters and setters.
  return Object.assign(
    serviceMembers(endpoint, () => calls),
    {
      queueUrl: (name: string) => `${endpoint.url}/123456789012/${name}`,
      messages: (queueUrl: string) => queues.get(queueUrl) ?? [],
      failNext(times = 1, fault: SqsFault = 'internal') {
        for (let i = 0; i < times; i += 1) faults.push(fault);
      },
    },
  );
}

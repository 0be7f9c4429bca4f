// Plays the SQS event source mapping for the local queue: whatever lands on it (the http handler's
// fallback, POST /queue) is delivered in batches to the built sqs handler; records it reports as
// failed come back after a short visibility timeout, and after maxReceiveCount go to the DLQ.
import { type MessageAttributeValue, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { type QueuedMessage, recordFromQueued, sqsEvent } from './lambda-events.ts';
import type { LambdaHost } from './lambda-host.ts';
import type { SqsEndpoint } from './sqs-endpoint.ts';

const POLL_MS = 200;
const BATCH_SIZE = 10;
/** Short, so a local retry is seen; the stack sets 6× the function timeout. */
const VISIBILITY_TIMEOUT_MS = 5_000;
export const MAX_RECEIVE_COUNT = 3;

export interface QueueRelay {
  /** Sends a body to the alerts queue through the SQS API, as an application would. */
  enqueue(body: string): Promise<string>;
  close(): void;
}

interface InFlight {
  message: QueuedMessage;
  receiveCount: number;
  sentAt: number;
}

export interface QueueRelayOptions {
  sqs: SqsEndpoint;
  queueUrl: string;
  deadLetterQueueUrl: string;
  env: Record<string, string>;
  host: LambdaHost;
  log: (line: string) => void;
}

// The stored form has BinaryValue as base64 text (JSON wire form); the SDK wants bytes.
const sdkAttributes = (message: QueuedMessage): Record<string, MessageAttributeValue> =>
  Object.fromEntries(
    Object.entries(message.MessageAttributes).map(([name, { DataType, StringValue, BinaryValue }]) => [
      name,
      {
        DataType,
        ...(StringValue === undefined ? {} : { StringValue }),
        ...(BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(BinaryValue, 'base64') }),
      },
    ]),
  );

/** Starts polling the local alerts queue and delivering to the sqs handler. */
export function startQueueRelay(options: QueueRelayOptions): QueueRelay {
  const client = new SQSClient({
    region: options.env.AWS_REGION,
    endpoint: options.env.AWS_ENDPOINT_URL_SQS,
    credentials: {
      accessKeyId: options.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: options.env.AWS_SECRET_ACCESS_KEY ?? '',
    },
  });
  const queueName = options.queueUrl.split('/').at(-1) ?? 'queue';
  const ready: InFlight[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let seen = 0;
  let delivering = false;
  let closed = false;

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  const deliver = async () => {
    if (delivering || closed || ready.length === 0) return;
    delivering = true;
    const batch = ready.splice(0, BATCH_SIZE);
    const invocation = await options.host.invoke<SQSBatchResponse>(
      'sqs',
      sqsEvent(
        batch.map(({ message, receiveCount, sentAt }) =>
          recordFromQueued(message, { receiveCount, sentAt, queueName }),
        ),
      ),
    );
    const failed = new Set(
      invocation.ok
        ? invocation.result.batchItemFailures.map((failure) => failure.itemIdentifier)
        : batch.map((item) => item.message.MessageId),
    );
    const detail = invocation.ok ? '' : ` (${invocation.error.errorType}: ${invocation.error.errorMessage})`;
    options.log(
      `queue → sqs handler: ${batch.length} record${batch.length === 1 ? '' : 's'}, ${failed.size} failed${detail}, ${invocation.durationMs} ms`,
    );
    for (const item of batch.filter((entry) => failed.has(entry.message.MessageId))) {
      if (item.receiveCount >= MAX_RECEIVE_COUNT) {
        // As a redrive policy does: the message moves unchanged.
        await client
          .send(
            new SendMessageCommand({
              QueueUrl: options.deadLetterQueueUrl,
              MessageBody: item.message.Body,
              MessageAttributes: sdkAttributes(item.message),
            }),
          )
          .catch(() => {});
        options.log(
          `queue: ${item.message.MessageId} moved to the dead-letter queue after ${item.receiveCount} receives`,
        );
      } else {
        later(VISIBILITY_TIMEOUT_MS, () => {
          ready.push({ ...item, receiveCount: item.receiveCount + 1 });
          void deliver();
        });
      }
    }
    delivering = false;
    void deliver();
  };

  const poll = setInterval(() => {
    const messages = options.sqs.messages(options.queueUrl);
    for (; seen < messages.length; seen += 1) {
      const message = messages[seen];
      if (!message) continue;
      const item: InFlight = { message, receiveCount: 1, sentAt: Date.now() };
      const delay = (message.DelaySeconds ?? 0) * 1000;
      if (delay > 0) {
        options.log(
          `queue: ${message.MessageId} waits ${message.DelaySeconds} s (DelaySeconds) before delivery`,
        );
        later(delay, () => {
          ready.push(item);
          void deliver();
        });
      } else ready.push(item);
    }
    void deliver();
  }, POLL_MS);

  return {
    async enqueue(body) {
      const output = await client.send(
        new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: body }),
      );
      return output.MessageId ?? '';
    },
    close() {
      closed = true;
      clearInterval(poll);
      for (const timer of timers) clearTimeout(timer);
      client.destroy();
    },
  };
}

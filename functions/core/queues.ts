import { type MessageAttributeValue, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes } from 'aws-lambda';
import type { AlertError } from './errors.ts';

// Module scope: one SQS client per container, created on first use (most invocations never need it).
let client: SQSClient | undefined;

function sqs(): SQSClient {
  client ??= new SQSClient({ maxAttempts: 3 });
  return client;
}

const text = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value.slice(0, 1024),
});

/** Where an alert came from, carried into the dead-letter entry so it can be traced and redriven. */
export interface AlertOrigin {
  trigger: 'http' | 'sqs' | 'eventbridge';
  id: string;
  /** SQS: how many times this record has been received, this time included. */
  receiveCount?: number;
  /** When Gmail's quota first held this alert back (epoch ms), carried from one hold to the next. */
  heldSince?: number;
}

/** The message attribute that carries {@link AlertOrigin.heldSince} through the queue. */
export const HELD_SINCE_ATTRIBUTE = 'heldSince';

/** Reads {@link AlertOrigin.heldSince} back from a received record's message attributes. */
export function heldSinceOf(attributes: SQSMessageAttributes): { heldSince?: number } {
  const value = Number(attributes[HELD_SINCE_ATTRIBUTE]?.stringValue);
  return Number.isFinite(value) && value > 0 ? { heldSince: value } : {};
}

/**
 * Parks an alert that can never be delivered as it is, with its failure class and advice as message
 * attributes. The body is the original input, unchanged, so it can be fixed and sent again.
 */
export async function sendToDeadLetterQueue(
  queueUrl: string,
  body: string,
  failure: AlertError,
  origin: AlertOrigin,
): Promise<void> {
  const attributes: Record<string, MessageAttributeValue> = {
    failureClass: text(failure.failureClass),
    reason: text(failure.message),
    advice: text(failure.advice),
    trigger: text(origin.trigger),
    sourceId: text(origin.id || 'unknown'),
  };
  const details = failure as { code?: string; responseCode?: number };
  if (origin.receiveCount !== undefined) {
    attributes.receiveCount = { DataType: 'Number', StringValue: String(origin.receiveCount) };
  }
  if (origin.heldSince !== undefined) {
    attributes[HELD_SINCE_ATTRIBUTE] = { DataType: 'Number', StringValue: String(origin.heldSince) };
  }
  if (details.code) attributes.errorCode = text(details.code);
  if (details.responseCode)
    attributes.responseCode = { DataType: 'Number', StringValue: String(details.responseCode) };
  await sqs().send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }),
  );
}

/**
 * Hands an alert to the durable queue for a later attempt (the HTTP path's fallback when Gmail is
 * briefly unavailable, and the hold for a Gmail quota block). `delaySeconds` keeps quota-blocked
 * alerts away from Gmail for a while; `heldSince` travels with the message so a hold has an end.
 */
export async function enqueueAlert(
  queueUrl: string,
  body: string,
  delaySeconds: number,
  heldSince?: number,
): Promise<void> {
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      DelaySeconds: delaySeconds,
      ...(heldSince === undefined
        ? {}
        : {
            MessageAttributes: {
              [HELD_SINCE_ATTRIBUTE]: { DataType: 'Number', StringValue: String(heldSince) },
            },
          }),
    }),
  );
}

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
  /** Which attempt this is of a copy for one recipient Gmail deferred (the first send is attempt 1). */
  attempt?: number;
  /** The one recipient a dead-letter entry is addressed to, when the others got the alert. */
  recipient?: string;
}

/** The message attribute that carries {@link AlertOrigin.heldSince} through the queue. */
export const HELD_SINCE_ATTRIBUTE = 'heldSince';
/** The message attribute that carries {@link AlertOrigin.attempt} through the queue. */
export const ATTEMPT_ATTRIBUTE = 'attempt';
/**
 * The message attribute that marks a copy for one recipient (queued or parked): the alert itself
 * already went out, so the copy is never counted as a repeat of its key.
 */
export const RECIPIENT_ATTRIBUTE = 'recipient';
/** The message attribute of a digest's scheduled sending: the digest's key in the state table. */
export const DIGEST_ATTRIBUTE = 'digest';

/** The digest a record asks to send, if it is a digest's scheduled sending rather than an alert. */
export function digestKeyOfRecord(attributes: SQSMessageAttributes): string | undefined {
  return attributes[DIGEST_ATTRIBUTE]?.stringValue || undefined;
}

/**
 * Schedules the sending of a digest: a message on the alerts queue, `delaySeconds` from now, that
 * the sqs function turns into the digest mail. The queue keeps it until it is sent, held or parked.
 */
export async function enqueueDigestSending(
  queueUrl: string,
  digestKey: string,
  delaySeconds: number,
): Promise<void> {
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({ digest: digestKey }),
      DelaySeconds: delaySeconds,
      MessageAttributes: { [DIGEST_ATTRIBUTE]: text(digestKey) },
    }),
  );
}

const number = (value: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(value) });

/**
 * Reads what a queued copy carries of its history ({@link AlertOrigin.heldSince}, `attempt`,
 * `recipient`) back from a record.
 */
export function queuedHistoryOf(attributes: SQSMessageAttributes): {
  heldSince?: number;
  attempt?: number;
  recipient?: string;
} {
  const heldSince = Number(attributes[HELD_SINCE_ATTRIBUTE]?.stringValue);
  const attempt = Number(attributes[ATTEMPT_ATTRIBUTE]?.stringValue);
  const recipient = attributes[RECIPIENT_ATTRIBUTE]?.stringValue;
  return {
    ...(Number.isFinite(heldSince) && heldSince > 0 ? { heldSince } : {}),
    ...(Number.isInteger(attempt) && attempt > 1 ? { attempt } : {}),
    ...(recipient ? { recipient } : {}),
  };
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
  if (origin.receiveCount !== undefined) attributes.receiveCount = number(origin.receiveCount);
  if (origin.heldSince !== undefined) attributes[HELD_SINCE_ATTRIBUTE] = number(origin.heldSince);
  if (origin.attempt !== undefined) attributes[ATTEMPT_ATTRIBUTE] = number(origin.attempt);
  if (origin.recipient !== undefined) attributes[RECIPIENT_ATTRIBUTE] = text(origin.recipient);
  if (details.code) attributes.errorCode = text(details.code);
  if (details.responseCode) attributes.responseCode = number(details.responseCode);
  await sqs().send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }),
  );
}

/**
 * Hands an alert to the durable queue for a later attempt (the HTTP path's fallback when Gmail is
 * briefly unavailable, and the hold for a Gmail quota block). `delaySeconds` keeps quota-blocked
 * alerts away from Gmail for a while; `heldSince` and `attempt` travel with the message so a hold and
 * the retries of one recipient have an end; `recipient` marks a copy for one recipient.
 */
export async function enqueueAlert(
  queueUrl: string,
  body: string,
  delaySeconds: number,
  heldSince?: number,
  attempt?: number,
  recipient?: string,
): Promise<void> {
  const attributes: Record<string, MessageAttributeValue> = {};
  if (heldSince !== undefined) attributes[HELD_SINCE_ATTRIBUTE] = number(heldSince);
  if (attempt !== undefined) attributes[ATTEMPT_ATTRIBUTE] = number(attempt);
  if (recipient !== undefined) attributes[RECIPIENT_ATTRIBUTE] = text(recipient);
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      DelaySeconds: delaySeconds,
      ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    }),
  );
}

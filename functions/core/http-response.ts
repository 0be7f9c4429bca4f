import { createError } from '@middy/util';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { DeliveryOutcome } from './deliver-or-park.ts';
import { AlertError, AlertValidationError, type DeliveryError } from './errors.ts';

const STATUS_BY_CLASS: Record<string, number> = {
  invalid: 400,
  'too-large': 413,
  config: 500,
  transient: 503,
  quota: 503,
  auth: 502,
  tls: 502,
  recipient: 502,
  permanent: 502,
};

/**
 * Turns a failure into an HTTP error that Middy's http-error-handler answers with a JSON body:
 * `{error: {class, message, advice, fields?}}`. Unexpected errors become a bare 500, never a stack trace.
 */
export function toHttpError(error: unknown) {
  if (!(error instanceof AlertError)) return error;
  // A failure that passes (Gmail or the queue unavailable): the caller may send the same alert again.
  const headers: Record<string, string> = error.retryable ? { 'Retry-After': '60' } : {};
  const status = STATUS_BY_CLASS[error.failureClass] ?? 500;
  const body = {
    error: {
      class: error.failureClass,
      message: error.message,
      advice: error.advice,
      ...(error instanceof AlertValidationError ? { fields: error.issues } : {}),
    },
  };
  // Middy's createError ignores headers in its options; http-error-handler reads them off the error.
  return Object.assign(createError(status, JSON.stringify(body), { expose: true }), { headers });
}

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

const reason = (failure: AlertError) => ({ class: failure.failureClass, advice: failure.advice });

const refusal = (address: string, failure: DeliveryError) => ({
  address,
  class: failure.failureClass,
  reason: failure.message,
  advice: failure.advice,
});

/**
 * The answer to `POST /alerts`, per recipient: `accepted` got it, `queued` wait on the alerts queue
 * in a copy addressed to them, `refused` never will (with class, reason and advice). 200 when anyone
 * got it, 202 when it waits for everyone still to get it, 502 when nobody will. A repeat of a key
 * mailed within ALERT_REPEAT_SECONDS is answered 202 `{counted: true, repeats, since, lastMailAt}`, a
 * firing alert of a silenced key 202 `{silenced: true, hidden, until}`.
 */
export function deliveryAnswer(outcome: DeliveryOutcome): APIGatewayProxyResult {
  if (outcome.status === 'counted') {
    // Taken, and told in the key's next mail: nothing to send again.
    const { repeats, since, lastMailAt } = outcome;
    return json(202, { counted: true, repeats, since, lastMailAt });
  }
  if (outcome.status === 'silenced') {
    // Its key is silenced: counted, and told in the key's first mail after the silence.
    const { hidden, until } = outcome;
    return json(202, { silenced: true, hidden, until });
  }
  if (outcome.status === 'folded') {
    // Near Gmail's daily limit: in the digest of its recipients, which goes out within minutes.
    return json(202, { folded: true });
  }
  if (outcome.status !== 'delivered') {
    return json(202, { queued: true, reason: reason(outcome.failure) });
  }
  const accepted: string[] = [];
  const queued: string[] = [];
  const refused: ReturnType<typeof refusal>[] = [];
  for (const recipient of outcome.recipients) {
    if (recipient.status === 'accepted') accepted.push(recipient.address);
    else if (recipient.status === 'queued') queued.push(recipient.address);
    else refused.push(refusal(recipient.address, recipient.failure));
  }
  const statusCode = accepted.length > 0 ? 200 : queued.length > 0 ? 202 : 502;
  return json(statusCode, { messageId: outcome.messageId, accepted, queued, refused });
}

/** The request header that makes a `POST /alerts` idempotent (as Stripe and the IETF draft name it). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const IDEMPOTENCY_KEY_MAX = 255;

/**
 * The Idempotency-Key of a request (header names are case-insensitive), or undefined without one.
 * Throws {@link AlertValidationError} for a key that is empty, too long or not printable ASCII.
 */
export function idempotencyKeyOf(
  headers: Record<string, string | undefined> | null | undefined,
): string | undefined {
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === IDEMPOTENCY_KEY_HEADER);
  if (entry?.[1] === undefined) return undefined;
  const key = entry[1].trim();
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX || !/^[\x21-\x7e]+$/.test(key)) {
    throw new AlertValidationError([
      {
        field: 'Idempotency-Key',
        message: `must be 1 to ${IDEMPOTENCY_KEY_MAX} printable ASCII characters without spaces`,
      },
    ]);
  }
  return key;
}

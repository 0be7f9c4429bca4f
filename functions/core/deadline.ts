import type { Context } from 'aws-lambda';

/**
 * How long a send may take: what is left of the invocation minus a margin to report the outcome,
 * and never more than `capMs` (API Gateway gives up after 29 s).
 */
export function sendDeadline(context: Pick<Context, 'getRemainingTimeInMillis'>, capMs: number): number {
  const remaining = context.getRemainingTimeInMillis?.() ?? capMs;
  return Math.max(1000, Math.min(capMs, remaining - 2000));
}

import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LambdaContextOptions {
  functionName?: string;
  /** The function's configured timeout; `getRemainingTimeInMillis` counts down from it. */
  timeoutMs?: number;
  awsRequestId?: string;
}

/**
 * A Lambda `Context` as the Node runtime passes it, with a fresh request id and a remaining time that
 * really decreases, so code that budgets its SMTP timeouts against the deadline can be tested.
 */
export function createLambdaContext(options: LambdaContextOptions = {}): Context {
  const functionName = options.functionName ?? 'gmail-alerts-test';
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const unsupported = () => {
    throw new Error('done/fail/succeed are not supported by the Node 24 runtime; return or throw instead');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: options.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

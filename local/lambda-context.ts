import type { Context } from 'aws-lambda';

export interface LambdaContextOptions {
  functionName?: string;
  /** The function's configured timeout; `getRemainingTimeInMillis` counts down from it. */
  timeoutMs?: number;
  awsRequestId?: string;
  memoryLimitInMB?: string;
  /** The Node runtime's default is `true`; a host that answers before the loop is empty says `false`. */
  callbackWaitsForEmptyEventLoop?: boolean;
}

/**
 * A Lambda `Context` as the Node runtime passes it, with a fresh request id and a remaining time that
 * really decreases, so code that budgets its SMTP timeouts against the deadline can be tested. Uses
 * the global `crypto` only, so a process that bundles it loads no module before the function's own.
 */
export function createLambdaContext(options: LambdaContextOptions = {}): Context {
  const functionName = options.functionName ?? 'gmail-alerts-test';
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const unsupported = () => {
    throw new Error('done/fail/succeed are not supported by the Node 24 runtime; return or throw instead');
  };
  return {
    callbackWaitsForEmptyEventLoop: options.callbackWaitsForEmptyEventLoop ?? true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: options.memoryLimitInMB ?? '256',
    awsRequestId: options.awsRequestId ?? crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${crypto.randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

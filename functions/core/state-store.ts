import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STATE_STORE_FAILURE_MESSAGE } from './config-contract.ts';
import { logger } from './logger.ts';
import { BatchedReads } from './state-reads.ts';

export { STATE_STORE_FAILURE_MESSAGE };

/** What the functions were doing with the table when it failed. */
export type StateOperation =
  | 'idempotency'
  | 'repeat-check'
  | 'repeat-release'
  | 'quota-check'
  | 'quota-fold'
  | 'quota-count'
  | 'silence-check'
  | 'silence-release';

/** The state table did not answer as expected; the alert goes out without it. */
export class StateStoreError extends Error {
  readonly operation: StateOperation;

  constructor(operation: StateOperation, options?: ErrorOptions) {
    super(`The alert state table failed during ${operation}`, options);
    this.name = 'StateStoreError';
    this.operation = operation;
  }
}

// A table that does not answer must not hold an alert back for long: a duplicate is better than a
// silence, so the SDK gives up quickly and the alert goes out without the table.
const CONNECTION_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
/**
 * After the table could not be reached, the container leaves it alone this long: one invocation
 * uses the table several times (idempotency, repeat key, quota), and each would wait out the
 * timeouts again before the alert goes out.
 */
export const STATE_BREAK_MS = 30_000;

/** The table was unreachable a moment ago; this operation was not tried. */
export class StateStoreUnavailableError extends Error {
  constructor() {
    super('The alert state table was unreachable moments ago; not tried again yet');
    this.name = 'StateStoreUnavailableError';
  }
}

// A network failure, a timeout or a 5xx after the SDK's own retries; not a refused condition or a
// validation error, which show the table answering.
const unreachable = (error: unknown) => {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
};

/**
 * The table's clients: the low-level one Powertools Idempotency takes, a document client over it, and
 * the reads by key gathered per turn of the event loop.
 */
export interface StateClients {
  tableName: string;
  client: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  reads: BatchedReads;
}

/** Creates the DynamoDB clients of one container (module scope keeps them between invocations). */
export function createStateClients(tableName: string): StateClients {
  const client = new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      // Without it the SDK only warns when the request timeout passes, and goes on waiting.
      throwOnRequestTimeout: true,
    },
  });
  let brokenUntil = 0;
  // Outermost step, so it sees each operation once, after the SDK's retries.
  client.middlewareStack.add(
    (next) => async (args) => {
      if (Date.now() < brokenUntil) throw new StateStoreUnavailableError();
      try {
        return await next(args);
      } catch (error) {
        if (unreachable(error)) brokenUntil = Date.now() + STATE_BREAK_MS;
        throw error;
      }
    },
    { step: 'initialize', name: 'stateTableBreaker', priority: 'high' },
  );
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { tableName, client, documents, reads: new BatchedReads(documents, tableName) };
}

/** Logs a state-store failure with the stable message the stack's alarm counts. */
export function reportStateStoreFailure(
  failure: StateStoreError,
  context: Record<string, unknown> = {},
): void {
  const cause = failure.cause as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  logger.error(STATE_STORE_FAILURE_MESSAGE, {
    ...context,
    stateOperation: failure.operation,
    error: typeof cause?.name === 'string' ? cause.name : failure.name,
    ...(typeof cause?.$metadata?.httpStatusCode === 'number'
      ? { httpStatusCode: cause.$metadata.httpStatusCode }
      : {}),
  });
}

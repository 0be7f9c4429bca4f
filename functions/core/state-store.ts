import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STATE_STORE_FAILURE_MESSAGE } from './config-contract.ts';
import { logger } from './logger.ts';

export { STATE_STORE_FAILURE_MESSAGE };

/** What the functions were doing with the table when it failed. */
export type StateOperation =
  | 'idempotency'
  | 'repeat-check'
  | 'repeat-release'
  | 'quota-check'
  | 'quota-fold'
  | 'quota-count';

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

/** The table's clients: the low-level one Powertools Idempotency takes, and a document client over it. */
export interface StateClients {
  tableName: string;
  client: DynamoDBClient;
  documents: DynamoDBDocumentClient;
}

/** Creates the DynamoDB clients of one container (module scope keeps them between invocations). */
export function createStateClients(tableName: string): StateClients {
  const client = new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  });
  return {
    tableName,
    client,
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
  };
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

import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import { STATE_TABLE_SCHEMA } from './config-contract.ts';
import { AlertError, AlertValidationError } from './errors.ts';
import type { AlertOrigin } from './queues.ts';
import { reportStateStoreFailure, type StateClients, StateStoreError } from './state-store.ts';

/**
 * How long a delivery is remembered by its id. EventBridge retries for up to 24 h by default, SQS
 * redelivers within its visibility timeouts, a caller repeats a request within minutes.
 */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60;

/** The same delivery is being sent right now by another invocation; try again shortly. */
export class DeliveryInProgressError extends AlertError {
  constructor(options?: ErrorOptions) {
    super(
      'The same alert (same message id, event id or Idempotency-Key) is being delivered right now',
      'transient',
      'Wait a minute and send it again with the same Idempotency-Key; it will not be mailed twice.',
      options,
    );
    this.name = 'DeliveryInProgressError';
  }
}

/**
 * Runs `deliver` once per `key`: a repeat of a key whose delivery completed gets the stored result
 * and sends nothing. A delivery that throws is forgotten, so the trigger's retry runs it again.
 * `key` undefined (an HTTP request without Idempotency-Key) runs it unguarded. The result must be
 * plain JSON: it is what the table keeps and what a repeat gets. `content`, when given, must be the
 * same on every repeat: the same key with other content is refused (an Idempotency-Key reused for
 * another alert), never answered with the first alert's result.
 */
export type DeliverOnce = <T>(
  key: string | undefined,
  context: Context,
  deliver: () => Promise<T>,
  content?: string,
) => Promise<T>;

/**
 * Powertools Idempotency over the state table, one key prefix per trigger (`idempotency#sqs#…`).
 * If the table fails, the alert is delivered anyway and the failure is logged: a duplicate is better
 * than a silence.
 */
export function idempotentDelivery(state: StateClients, trigger: AlertOrigin['trigger']): DeliverOnce {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'content',
    expiresAfterSeconds: IDEMPOTENCY_WINDOW_SECONDS,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: state.tableName,
    keyAttr: STATE_TABLE_SCHEMA.partitionKey,
    expiryAttr: STATE_TABLE_SCHEMA.ttlAttribute,
    awsSdkV3Client: state.client,
  });
  const guarded = makeIdempotent(
    (_request: { key: string; content: string }, deliver: () => Promise<unknown>) => deliver(),
    {
      persistenceStore,
      config,
      keyPrefix: `${STATE_TABLE_SCHEMA.prefixes.idempotency}${trigger}`,
    },
  );

  return async <T>(
    key: string | undefined,
    context: Context,
    deliver: () => Promise<T>,
    content = '',
  ): Promise<T> => {
    if (key === undefined) return deliver();
    // The in-progress record expires with the invocation, so a crashed attempt does not block the retry.
    config.registerLambdaContext(context);
    let attempt: { result: T } | { error: unknown } | undefined;
    const tracked = async () => {
      try {
        const result = await deliver();
        attempt = { result };
        return result;
      } catch (error) {
        attempt = { error };
        throw error;
      }
    };
    try {
      return (await guarded({ key, content }, tracked)) as T;
    } catch (error) {
      if (error instanceof IdempotencyValidationError) {
        throw new AlertValidationError([
          { field: 'Idempotency-Key', message: 'was used before for a different alert; use a new key' },
        ]);
      }
      if (error instanceof IdempotencyAlreadyInProgressError) {
        throw new DeliveryInProgressError({ cause: error });
      }
      if (!(error instanceof IdempotencyPersistenceLayerError)) throw error;
      reportStateStoreFailure(new StateStoreError('idempotency', { cause: error.cause ?? error }), {
        trigger,
        id: key,
      });
      // The table failed before, after or instead of the delivery: never send twice in one invocation.
      if (attempt === undefined) return deliver();
      if ('error' in attempt) throw attempt.error;
      return attempt.result;
    }
  };
}

import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STATE_TABLE_SCHEMA } from './config-contract.ts';

/** DynamoDB's limit of keys per BatchGetItem. */
const KEYS_PER_BATCH = 100;
/** Rounds for keys DynamoDB leaves unprocessed (throttling) before their reads fail. */
const UNPROCESSED_ROUNDS = 3;

type Item = Record<string, unknown>;

interface Waiting {
  resolve: (item: Item | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Strongly consistent reads of the state table by key, gathered into one BatchGetItem per turn of
 * the event loop: an alert's silence and the quota counters, or those of a whole SQS batch, cost one
 * request instead of one each.
 */
export class BatchedReads {
  readonly #documents: DynamoDBDocumentClient;
  readonly #tableName: string;
  #waiting = new Map<string, Waiting[]>();

  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    this.#documents = documents;
    this.#tableName = tableName;
  }

  /** The item under `key`, or undefined when there is none. */
  get(key: string): Promise<Item | undefined> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.size === 0) queueMicrotask(() => this.#flush());
      const waiting = this.#waiting.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.#waiting.set(key, [{ resolve, reject }]);
    });
  }

  #flush(): void {
    const batch = this.#waiting;
    this.#waiting = new Map();
    const keys = [...batch.keys()];
    for (let start = 0; start < keys.length; start += KEYS_PER_BATCH) {
      const chunk = keys.slice(start, start + KEYS_PER_BATCH);
      this.#read(chunk).then(
        (items) => {
          for (const key of chunk)
            for (const waiting of batch.get(key) ?? []) waiting.resolve(items.get(key));
        },
        (error: unknown) => {
          for (const key of chunk) for (const waiting of batch.get(key) ?? []) waiting.reject(error);
        },
      );
    }
  }

  async #read(keys: string[]): Promise<Map<string, Item>> {
    const { partitionKey } = STATE_TABLE_SCHEMA;
    const items = new Map<string, Item>();
    let pending = keys.map((key) => ({ [partitionKey]: key }));
    for (let round = 0; round < UNPROCESSED_ROUNDS && pending.length > 0; round += 1) {
      const { Responses, UnprocessedKeys } = await this.#documents.send(
        new BatchGetCommand({
          RequestItems: { [this.#tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      for (const item of Responses?.[this.#tableName] ?? []) items.set(String(item[partitionKey]), item);
      pending = (UnprocessedKeys?.[this.#tableName]?.Keys ?? []) as typeof pending;
    }
    if (pending.length > 0) {
      throw new Error(`DynamoDB left ${pending.length} keys of the state table unprocessed`);
    }
    return items;
  }
}

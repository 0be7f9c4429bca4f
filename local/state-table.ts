import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { STATE_TABLE_SCHEMA } from '../functions/core/config-contract.ts';
import { BatchedReads } from '../functions/core/state-reads.ts';
import type { StateClients } from '../functions/core/state-store.ts';

export const LOCAL_STATE_TABLE = 'gmail-alerts-state';

export interface StateTableEndpoint {
  /** For `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly url: string;
  /** For `ALERT_STATE_TABLE`. */
  readonly tableName: string;
  /** Clients for this endpoint, for the functions' own classes (the quota guard's count on the outbox page). */
  readonly clients: StateClients;
  /** Every item of the table, unmarshalled (for tests and the outbox page). */
  items(): Promise<Record<string, unknown>[]>;
  /** Deletes the items whose key starts with `prefix`, as their expiry would (tests of a window that has passed). */
  forget(prefix: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts DynamoDB on loopback (dynalite: the DynamoDB API over LevelDB, here in memory) with the
 * state table of the configuration contract: partition key `pk`, no sort key.
 */
export async function startStateTable(tableName: string = LOCAL_STATE_TABLE): Promise<StateTableEndpoint> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  // The endpoint wants a signed request, as AWS does; it does not check the signature.
  const client = new DynamoDBClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIALOCALONLY', secretAccessKey: 'local-only' },
  });
  const key = STATE_TABLE_SCHEMA.partitionKey;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const documents = DynamoDBDocumentClient.from(client);
  const items = async () => {
    const { Items = [] } = await documents.send(new ScanCommand({ TableName: tableName }));
    return Items;
  };
  return {
    url,
    tableName,
    clients: { tableName, client, documents, reads: new BatchedReads(documents, tableName) },
    items,
    async forget(prefix) {
      const keys = (await items()).map((item) => String(item[key])).filter((pk) => pk.startsWith(prefix));
      for (const pk of keys)
        await documents.send(new DeleteCommand({ TableName: tableName, Key: { [key]: pk } }));
      return keys.length;
    },
    async close() {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

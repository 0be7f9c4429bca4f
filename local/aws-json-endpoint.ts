import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** An error answer of an AWS JSON service: HTTP status, `__type`, message, and any extra headers. */
export class AwsServiceError extends Error {
  readonly status: number;
  readonly type: string;
  readonly headers: Record<string, string>;

  constructor(status: number, type: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AwsServiceError';
    this.status = status;
    this.type = type;
    this.headers = headers;
  }
}

export interface AwsJsonEndpointOptions {
  /** `1.0` (SQS) or `1.1` (Secrets Manager): only the content type differs. */
  jsonVersion: '1.0' | '1.1';
  /** Answers one call; `target` is the `x-amz-target` header, e.g. `AmazonSQS.SendMessage`. */
  handle: (target: string, input: Record<string, unknown>) => unknown;
}

export interface AwsJsonEndpoint {
  readonly url: string;
  readonly port: number;
  /** Added before every answer, to imitate a slow or distant endpoint. */
  delayMs: number;
  close(): Promise<void>;
}

const readJson = async (request: IncomingMessage): Promise<Record<string, unknown>> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
};

/**
 * Serves an AWS JSON-RPC protocol (`POST /`, operation in `x-amz-target`, JSON in and out) on loopback,
 * so the real SDK clients can be pointed at it with `AWS_ENDPOINT_URL_<SERVICE>`. Requests must carry
 * a SigV4 `Authorization` header (its signature is not checked), as AWS rejects unsigned ones.
 */
export async function startAwsJsonEndpoint(options: AwsJsonEndpointOptions): Promise<AwsJsonEndpoint> {
  const contentType = `application/x-amz-json-${options.jsonVersion}`;
  const endpoint = { delayMs: 0 };

  const answer = async (request: IncomingMessage) => {
    const input = await readJson(request);
    const target = String(request.headers['x-amz-target'] ?? '');
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      throw new AwsServiceError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    if (endpoint.delayMs > 0) await sleep(endpoint.delayMs);
    return options.handle(target, input);
  };

  const server = createServer((request, response) => {
    const headers = { 'content-type': contentType, 'x-amzn-requestid': randomUUID() };
    answer(request).then(
      (output) => response.writeHead(200, headers).end(JSON.stringify(output ?? {})),
      (err: unknown) => {
        const error =
          err instanceof AwsServiceError ? err : new AwsServiceError(500, 'InternalFailure', String(err));
        response
          .writeHead(error.status, { ...headers, ...error.headers })
          .end(JSON.stringify({ __type: error.type, message: error.message }));
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('AWS endpoint has no TCP address');

  return Object.assign(endpoint, {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    async close() {
      // The SDK keeps connections alive; without this, close() would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** The answer to an operation the loopback endpoint does not serve. */
export const unknownOperation = (target: string) =>
  new AwsServiceError(400, 'UnknownOperationException', `${target} is not served by the loopback endpoint`);

/** What every loopback AWS service exposes: its URL, the calls it answered, its delay, close(). */
export interface ServiceMembers {
  readonly url: string;
  readonly calls: number;
  delayMs: number;
  close(): Promise<void>;
}

/** {@link ServiceMembers} over `endpoint`, with `calls` read from the service. */
export function serviceMembers(endpoint: AwsJsonEndpoint, calls: () => number): ServiceMembers {
  return {
    url: endpoint.url,
    get calls() {
      return calls();
    },
    get delayMs() {
      return endpoint.delayMs;
    },
    set delayMs(value) {
      endpoint.delayMs = value;
    },
    close: () => endpoint.close(),
  };
}

// The local HTTP front door: API Gateway for POST /alerts (API key checked, REST v1 proxy event to the
// real http handler) and GET/POST /silences/{token} (no key: the token is the credential), POST
// /events for EventBridge, POST /queue for SQS, and the outbox pages.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { apiGatewayEvent, eventBridgeEvent, gatewayResponse } from '../../local/lambda-events.ts';
import type { LambdaHost } from '../../local/lambda-host.ts';
import type { QueueRelay } from '../../local/queue-relay.ts';
import type { Outbox } from './outbox.ts';
import { type DeadLetter, messagePage, notFoundPage, outboxPage, threadPage } from './outbox-page.ts';
import type { StateView } from './state-view.ts';

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

// Our own pages: no scripts at all, frames only from this server.
const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// A message's HTML part is content from elsewhere: a sandboxed, script-less document (its own opaque
// origin) that only this server's message page may frame.
const MAIL_CSP =
  "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";
// The text part is served as text/plain with nosniff, which no browser executes. (A `sandbox` here
// would also be safe, but Chromium moves a top-level sandboxed document to another process, which
// headless automation loses track of.)
const TEXT_CSP = "default-src 'none'; frame-ancestors 'none'";

export interface LocalApiOptions {
  port: number;
  apiKey: string;
  host: LambdaHost;
  outbox: Outbox;
  relay: QueueRelay;
  /** Parked alerts to list under the outbox. */
  deadLetters: () => DeadLetter[];
  /** What the guards are doing (quota, repeat windows, digests, silences), shown above the outbox. */
  state?: () => Promise<StateView | undefined>;
  /** The ready-to-paste curl line, shown on the empty outbox page. */
  curl: (baseUrl: string) => string;
  log: (line: string) => void;
}

export interface LocalApi {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

class HttpProblem extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpProblem';
    this.status = status;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, 'Request Too Long');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sendJson = (
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  response
    .writeHead(status, { 'content-type': 'application/json', ...headers })
    .end(`${JSON.stringify(body)}\n`);
};

const sendHtml = (response: ServerResponse, status: number, html: string, csp = PAGE_CSP) => {
  response
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    })
    .end(html);
};

/** What every request handler needs: the options, and where the server listens once it does. */
interface ApiState {
  options: LocalApiOptions;
  baseUrl: string;
  /** `Host` values this server answers to: its own loopback names and port. */
  allowedHosts: Set<string>;
}

/** POST /alerts: API Gateway's key check, then the http handler with a REST (v1) proxy event. */
async function postAlert(api: ApiState, request: IncomingMessage, response: ServerResponse) {
  // API Gateway checks the key before the function runs; a request without one never reaches it.
  const key = request.headers['x-api-key'];
  if (key === undefined) return sendJson(response, 401, { message: 'Missing x-api-key header' });
  if (key !== api.options.apiKey) return sendJson(response, 403, { message: 'Forbidden' });
  const body = await readBody(request);
  const invocation = await api.options.host.invoke<APIGatewayProxyResult>(
    'http',
    apiGatewayEvent(request, body, key),
  );
  if (!invocation.ok) {
    const timedOut = invocation.error.errorType === 'Sandbox.Timedout';
    api.options.log(
      `POST /alerts → http handler failed: ${invocation.error.errorType}: ${invocation.error.errorMessage}`,
    );
    return sendJson(response, timedOut ? 504 : 502, {
      message: timedOut ? 'Endpoint request timed out' : 'Internal server error',
    });
  }
  const answer = gatewayResponse(invocation.result);
  api.options.log(`POST /alerts → http handler ${answer.status}, ${invocation.durationMs} ms`);
  response.writeHead(answer.status, answer.headers).end(answer.body);
}

/**
 * GET and POST /silences/{token}: the silence link's pages, straight to the http handler as API
 * Gateway sends them (no API key: the stack's methods ask for none).
 */
async function silenceRequest(
  api: ApiState,
  request: IncomingMessage,
  response: ServerResponse,
  token: string,
) {
  const body = request.method === 'POST' ? await readBody(request) : '';
  const event = apiGatewayEvent(request, body, '');
  const invocation = await api.options.host.invoke<APIGatewayProxyResult>('http', {
    ...event,
    resource: '/silences/{token}',
    pathParameters: { token },
    body: request.method === 'POST' ? body : null,
    requestContext: {
      ...event.requestContext,
      resourcePath: '/silences/{token}',
      identity: { ...event.requestContext.identity, apiKey: null, apiKeyId: null },
    },
  });
  if (!invocation.ok) {
    api.options.log(
      `${request.method} /silences → http handler failed: ${invocation.error.errorType}: ${invocation.error.errorMessage}`,
    );
    return sendJson(response, 502, { message: 'Internal server error' });
  }
  const answer = gatewayResponse(invocation.result);
  api.options.log(
    `${request.method} /silences/… → http handler ${answer.status}, ${invocation.durationMs} ms`,
  );
  response.writeHead(answer.status, answer.headers).end(answer.body);
}

/** POST /events: an EventBridge event (or a PutEvents entry) to the eventbridge handler. */
async function postEvent(api: ApiState, request: IncomingMessage, response: ServerResponse) {
  let input: unknown;
  try {
    input = JSON.parse(await readBody(request));
  } catch (error) {
    if (error instanceof HttpProblem) throw error;
    throw new HttpProblem(400, 'the body is not JSON: send an EventBridge event');
  }
  const event = eventBridgeEvent(input);
  if ('problem' in event) throw new HttpProblem(400, event.problem);
  const invocation = await api.options.host.invoke<string>('eventbridge', event);
  if (!invocation.ok) {
    api.options.log(
      `POST /events → eventbridge handler threw ${invocation.error.errorType}: ${invocation.error.errorMessage}`,
    );
    return sendJson(response, 502, {
      error: invocation.error,
      note: 'EventBridge would retry this asynchronously, then use the on-failure destination.',
    });
  }
  api.options.log(
    `POST /events → eventbridge handler: ${String(invocation.result)}, ${invocation.durationMs} ms`,
  );
  sendJson(response, 200, { id: event.id, status: invocation.result });
}

/** POST /queue: onto the alerts queue, for the relay to deliver to the sqs handler. */
async function postQueue(api: ApiState, request: IncomingMessage, response: ServerResponse) {
  const body = await readBody(request);
  if (!body.trim()) throw new HttpProblem(400, 'the body is empty: send an alert or an EventBridge event');
  const messageId = await api.options.relay.enqueue(body);
  api.options.log(`POST /queue → message ${messageId} on the alerts queue`);
  sendJson(response, 202, { queued: true, messageId });
}

/** GET /: the outbox; /threads/<id>: one conversation; /messages/<id>[/html|/text|/eml]: one message. */
async function getPage(api: ApiState, path: string, response: ServerResponse) {
  if (path === '/') {
    const entries = await api.options.outbox.list();
    const html = outboxPage({
      entries,
      deadLetters: api.options.deadLetters(),
      state: await api.options.state?.(),
      outboxDir: api.options.outbox.shownDir,
      curl: api.options.curl(api.baseUrl),
    });
    return sendHtml(response, 200, html);
  }
  const thread = /^\/threads\/([0-9a-f]{32})$/.exec(path)?.[1];
  if (thread) {
    const entries = await api.options.outbox.thread(thread);
    return entries.length > 0
      ? sendHtml(response, 200, threadPage(entries))
      : sendHtml(response, 404, notFoundPage());
  }
  const match = /^\/messages\/([^/]+)(?:\/(html|text|eml))?$/.exec(path);
  const message = match?.[1] ? await api.options.outbox.read(match[1]) : undefined;
  if (!match || !message) return sendHtml(response, 404, notFoundPage());
  const view = match[2];
  if (view === 'html') {
    return sendHtml(response, 200, message.html ?? '<p>This message has no HTML part.</p>', MAIL_CSP);
  }
  if (view === 'text') {
    response
      .writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-security-policy': TEXT_CSP,
        'x-content-type-options': 'nosniff',
      })
      .end(message.text);
    return;
  }
  if (view === 'eml') {
    response
      .writeHead(200, {
        'content-type': 'message/rfc822',
        'content-disposition': `attachment; filename="${message.id}.eml"`,
        'x-content-type-options': 'nosniff',
      })
      .end(message.raw);
    return;
  }
  sendHtml(response, 200, messagePage(message, api.options.outbox.shownDir));
}

/** Checks the Host header and dispatches by path and method. */
async function route(api: ApiState, request: IncomingMessage, response: ServerResponse) {
  // Only this machine's names: a web page elsewhere cannot rebind its DNS name onto this server.
  if (!api.allowedHosts.has(String(request.headers.host ?? '').toLowerCase())) {
    throw new HttpProblem(421, 'use http://127.0.0.1 or http://localhost');
  }
  const path = new URL(request.url ?? '/', 'http://local').pathname;
  const method = request.method ?? 'GET';
  const posts: Record<string, typeof postAlert> = {
    '/alerts': postAlert,
    '/events': postEvent,
    '/queue': postQueue,
  };
  const token = /^\/silences\/([^/]+)$/.exec(path)?.[1];
  if (token) {
    if (method !== 'GET' && method !== 'POST') throw new HttpProblem(405, 'a silence link takes GET or POST');
    return silenceRequest(api, request, response, token);
  }
  const post = posts[path];
  if (post) {
    if (method !== 'POST') throw new HttpProblem(405, `${path} takes POST`);
    return post(api, request, response);
  }
  if (method !== 'GET' && method !== 'HEAD') throw new HttpProblem(405, 'the outbox pages take GET');
  return getPage(api, path, response);
}

/** Starts the HTTP API and the outbox on 127.0.0.1 (`port` 0 picks a free one). */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const api: ApiState = { options, baseUrl: '', allowedHosts: new Set() };
  const server: Server = createServer((request, response) => {
    route(api, request, response).catch((error: unknown) => {
      const status = error instanceof HttpProblem ? error.status : 500;
      if (!(error instanceof HttpProblem))
        api.options.log(`${request.method} ${request.url} failed: ${(error as Error).message}`);
      if (!response.headersSent)
        sendJson(response, status, {
          message: error instanceof HttpProblem ? error.message : 'Internal error',
        });
      else response.destroy();
    });
  });
  server.listen(options.port, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  api.baseUrl = `http://127.0.0.1:${port}`;
  for (const name of ['127.0.0.1', 'localhost']) api.allowedHosts.add(`${name}:${port}`);

  return {
    url: api.baseUrl,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// The child process of the local Lambda host: imports built bundles the way Lambda does (import = cold
// start, handler(event, context) = invocation) and answers invocations from the parent over IPC.
// It runs with exactly the environment the parent gives it, as a function runs with its configuration.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { jsonText } from './json-text.ts';
import { createLambdaContext } from './lambda-context.ts';
import type { HostReply, HostRequest } from './lambda-host.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const [distDir = '', ...preload] = process.argv.slice(2);
const handlers = new Map<string, Promise<Handler>>();

function load(name: string): Promise<Handler> {
  let handler = handlers.get(name);
  if (!handler) {
    const file = pathToFileURL(join(distDir, name, 'index.mjs')).href;
    handler = import(file).then((module: { handler: Handler }) => module.handler);
    handlers.set(name, handler);
  }
  return handler;
}

const reply = (message: HostReply) => process.send?.(message);

process.on('message', async (request: HostRequest) => {
  try {
    const handler = await load(request.name);
    // Lambda hands a handler the parsed event; JSON.parse does not recurse, so any depth parses.
    const context = createLambdaContext({
      functionName: `gmail-alerts-local-${request.name}`,
      timeoutMs: request.timeoutMs,
      callbackWaitsForEmptyEventLoop: false,
    });
    const result = await handler(JSON.parse(request.eventJson), context);
    reply({ id: request.id, ok: true, resultJson: jsonText(result ?? null) });
  } catch (error) {
    // What Lambda reports for a handler that threw: the type and the message, never the stack.
    const failure = error as Error;
    reply({
      id: request.id,
      ok: false,
      error: { errorType: failure?.name ?? 'Error', errorMessage: failure?.message ?? String(error) },
    });
  }
});
// The parent is the runtime API: when it goes, so does this sandbox.
process.on('disconnect', () => process.exit(0));

// Cold starts now, so configuration errors show at start-up and the first request is warm.
Promise.all(preload.map(load)).then(
  () => reply({ ready: true }),
  (error: Error) => reply({ ready: false, errorMessage: error.message }),
);

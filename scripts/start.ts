// npm start: the whole product on this machine, nothing to configure. The real built handlers run
// against a Gmail-like SMTP server, Secrets Manager, SQS and DynamoDB on loopback; mail lands in .outbox/.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import {
  assertBuilt,
  compactLogLine,
  type LambdaHost,
  PROJECT_ROOT,
  startLambdaHost,
} from '../local/lambda-host.ts';
import type { LocalSignIn } from '../local/local-cloud.ts';
import { type QueueRelay, startQueueRelay } from '../local/queue-relay.ts';
import * as cli from './lib/cli.ts';
import { type LocalApi, startLocalApi } from './lib/local-api.ts';
import { DEMO_ACCOUNT, DEMO_SECRET_ID, type LocalStack, startLocalStack } from './lib/local-stack.ts';
import { readStateView } from './lib/state-view.ts';

const spec = {
  usage: 'npm start [-- options]',
  summary:
    'Runs the alert functions on this machine with nothing to configure: the real built http, sqs and eventbridge\n' +
    'handlers, a Gmail-like SMTP server, Secrets Manager, SQS and DynamoDB, all on 127.0.0.1. Received mail is saved under\n' +
    '.outbox/ and shown at http://127.0.0.1:3000/. Nothing leaves this machine.',
  options: {
    port: {
      type: 'string',
      valueName: 'port',
      description: 'HTTP port (default $PORT or 3000; 0 picks a free one).',
    },
    outbox: {
      type: 'string',
      valueName: 'dir',
      description: 'Where received mail is saved (default $OUTBOX_DIR or .outbox).',
    },
    'api-key': {
      type: 'string',
      valueName: 'key',
      description: 'The x-api-key that POST /alerts wants (default $LOCAL_API_KEY or local-dev-key).',
    },
    'sign-in': {
      type: 'string',
      valueName: 'shape',
      description:
        "The secret's shape: app-password (default), oauth-client or service-account (AUTH XOAUTH2 with tokens from a local token endpoint).",
    },
  },
  more: [
    'Endpoints:\n' +
      '  POST /alerts   an alert (JSON), header x-api-key → API Gateway event → http handler\n' +
      '  POST /events   an EventBridge event (or a PutEvents entry) → eventbridge handler\n' +
      '  POST /queue    an alert or EventBridge event onto the alerts queue → sqs handler\n' +
      '  GET  /         the outbox, newest first; /messages/<id> shows one alert as HTML and text\n' +
      '  GET|POST /silences/<token>   the "Silence…" link of a keyed mail → http handler (no API key)',
  ],
} as const satisfies cli.CommandSpec;

const SAMPLE_ALERT = {
  subject: 'Disk almost full on db-1',
  severity: 'warning',
  text: '/var is at 93% and growing 2% an hour.',
  fields: { host: 'db-1', mount: '/var' },
};

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/** The ready-to-paste command that sends the sample alert. */
export function curlLine(baseUrl: string, apiKey: string): string {
  return [
    'curl -sS -w "\\n" -X POST',
    `${baseUrl}/alerts`,
    `-H ${shellQuote(`x-api-key: ${apiKey}`)}`,
    `-H 'content-type: application/json'`,
    `-d ${shellQuote(JSON.stringify(SAMPLE_ALERT))}`,
  ].join(' ');
}

const SIGN_IN_SHAPES: readonly LocalSignIn[] = ['app-password', 'oauth-client', 'service-account'];

/** What the demo secret holds for each shape, for the start-up table. */
const SECRET_HOLDS: Record<LocalSignIn, string> = {
  'app-password': 'the demo App Password',
  'oauth-client': 'an OAuth client and refresh token',
  'service-account': 'a service account and its key',
};

/**
 * A port free right now, for `--port 0`: the functions start before the API and must know its URL
 * for the silence links in their mails.
 */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

const clock = () => new Date().toTimeString().slice(0, 8);

cli.runCommand(spec, async () => {
  const { values } = cli.parseCommandLine(spec);
  const askedPort = cli.integerOption('port', values.port ?? process.env.PORT, 3000, 0, 65535);
  const port = askedPort === 0 ? await freePort() : askedPort;
  const outboxDir = resolve(values.outbox ?? process.env.OUTBOX_DIR ?? join(PROJECT_ROOT, '.outbox'));
  const apiKey = values['api-key'] ?? process.env.LOCAL_API_KEY ?? 'local-dev-key';
  const signIn = values['sign-in'] ?? 'app-password';
  if (!SIGN_IN_SHAPES.includes(signIn as LocalSignIn)) {
    throw new cli.UsageError(`--sign-in must be one of ${SIGN_IN_SHAPES.join(', ')}, got "${signIn}"`);
  }
  try {
    assertBuilt(['http', 'sqs', 'eventbridge']);
  } catch (error) {
    throw new cli.CommandFailedError((error as Error).message);
  }

  const log = (line: string) => process.stdout.write(`${cli.dim(clock())} ${line}\n`);
  let stack: LocalStack | undefined;
  let host: LambdaHost | undefined;
  let relay: QueueRelay | undefined;
  let api: LocalApi | undefined;
  const stop = async () => {
    await api?.close();
    relay?.close();
    await host?.close();
    await stack?.close();
  };

  try {
    stack = await startLocalStack({
      outboxDir,
      signIn: signIn as LocalSignIn,
      silenceBaseUrl: `http://127.0.0.1:${port}`,
      onMail: (entry) =>
        log(
          `${cli.mark.ok()} mail: ${cli.bold(entry.subject)} → ${entry.to.join(', ')}  ${stack?.outbox.display(entry)}  ${api ? `${api.url}/messages/${entry.id}` : ''}`,
        ),
    });
    host = await startLambdaHost({
      env: stack.env,
      preload: ['http', 'sqs', 'eventbridge'],
      onOutput: (line) => log(cli.dim(`  handler │ ${compactLogLine(line)}`)),
    });
    relay = startQueueRelay({
      sqs: stack.sqs,
      queueUrl: stack.queueUrl,
      deadLetterQueueUrl: stack.deadLetterQueueUrl,
      env: stack.env,
      host,
      log,
    });
    const local = stack;
    api = await startLocalApi({
      port,
      apiKey,
      host,
      outbox: local.outbox,
      relay,
      deadLetters: () =>
        local.sqs.messages(local.deadLetterQueueUrl).map((message) => ({
          body: message.Body,
          attributes: Object.fromEntries(
            Object.entries(message.MessageAttributes).map(([name, attribute]) => [
              name,
              attribute.StringValue ?? '',
            ]),
          ),
        })),
      state: () => readStateView(local),
      curl: (baseUrl) => curlLine(baseUrl, apiKey),
      log,
    });
  } catch (error) {
    await stop();
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      throw new cli.CommandFailedError(
        `Port ${port} is in use: stop the other program, or run PORT=${port + 1} npm start`,
      );
    }
    throw error;
  }

  const { gmail, secrets, sqs, state } = stack;
  const row = (name: string, where: string, what: string) =>
    `  ${name.padEnd(16)} ${where.padEnd(38)} ${cli.dim(what)}`;
  process.stdout.write(
    [
      '',
      cli.bold(
        'gmail-alerts, running locally: everything listens on 127.0.0.1 and nothing leaves this machine.',
      ),
      '',
      row('Outbox', `${api.url}/`, `received alerts, newest first; files in ${stack.outbox.shownDir}/`),
      row('HTTP API', `POST ${api.url}/alerts`, `x-api-key: ${apiKey} → API Gateway event → http handler`),
      row('EventBridge', `POST ${api.url}/events`, 'an EventBridge event → eventbridge handler'),
      row('Queue', `POST ${api.url}/queue`, 'onto the alerts queue → sqs handler (the http fallback too)'),
      row(
        'Gmail-like SMTP',
        `${gmail.host}:${gmail.port}`,
        `STARTTLS with a throwaway CA, account ${DEMO_ACCOUNT.user}`,
      ),
      row(
        'Secrets Manager',
        secrets.url,
        `secret ${DEMO_SECRET_ID} holds ${SECRET_HOLDS[signIn as LocalSignIn]}`,
      ),
      row(
        'Token endpoint',
        stack.oauth.tokenUrl,
        'Google OAuth 2.0 (GOOGLE_OAUTH_TOKEN_URL), for an OAuth secret',
      ),
      row('SQS', sqs.url, 'gmail-alerts-queue, gmail-alerts-dlq'),
      ...(state
        ? [
            row(
              'DynamoDB',
              state.url,
              `${state.tableName}: idempotency, repeat counts, silences, quota and digests`,
            ),
          ]
        : []),
      row(
        'Handlers',
        'dist/functions/*/index.mjs',
        `the built bundles, in a Lambda-like child process (pid ${host.pid})`,
      ),
      '',
      'Send an alert (paste this into another terminal), then open the outbox:',
      '',
      `  ${curlLine(api.url, apiKey)}`,
      '',
      `  ${api.url}/`,
      '',
      cli.dim(
        `More: npm run invoke -- eventbridge events/eventbridge-alarm.json · npm start -- --help · Ctrl-C stops everything.`,
      ),
      '',
    ].join('\n'),
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log(`${signal}: stopping`);
  await stop();
  return cli.EXIT.ok;
});

// npm run invoke: runs one built handler with an event file, against the local pieces (default) or,
// when GMAIL_SECRET_ID is set, against the configured AWS and Gmail. Prints the handler's result.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { text } from 'node:stream/consumers';
import type { APIGatewayProxyResult, SQSBatchResponse } from 'aws-lambda';
import { CONTRACT_DEFAULTS, ENVIRONMENT_VARIABLES } from '../functions/core/config-contract.ts';
import type { DiagnosisReport } from '../functions/doctor/diagnose.ts';
import { jsonText } from '../local/json-text.ts';
import {
  assertBuilt,
  compactLogLine,
  type FunctionName,
  type Invocation,
  isFunctionName,
  PROJECT_ROOT,
  startLambdaHost,
} from '../local/lambda-host.ts';
import * as cli from './lib/cli.ts';
import { formatReport } from './lib/doctor-report.ts';
import { type LocalStack, startLocalStack } from './lib/local-stack.ts';
import type { OutboxEntry } from './lib/outbox.ts';

const EVENTS_DIR = join(PROJECT_ROOT, 'events');

const spec = {
  usage: 'npm run invoke -- <http|sqs|eventbridge|doctor> <event.json | sample name | -> [options]',
  summary:
    'Runs a built handler (dist/functions/<name>/index.mjs) once with an event, the way Lambda does, and prints\n' +
    'its result as JSON on stdout. With nothing configured it runs against local pieces (a Gmail-like SMTP server,\n' +
    'Secrets Manager, SQS and DynamoDB on 127.0.0.1; mail is saved in .outbox/). With GMAIL_SECRET_ID set it uses your\n' +
    'configuration: real Secrets Manager, real Gmail. Exits 0 only when the alert was delivered.',
  options: {
    outbox: {
      type: 'string',
      valueName: 'dir',
      description: 'Local mode: where mail is saved (default $OUTBOX_DIR or .outbox).',
    },
    local: { type: 'boolean', description: 'Use the local pieces even when GMAIL_SECRET_ID is set.' },
  },
  more: [
    `Sample events (events/): ${
      existsSync(EVENTS_DIR)
        ? readdirSync(EVENTS_DIR)
            .filter((name) => name.endsWith('.json'))
            .join(', ')
        : '(none)'
    }`,
    'Examples:\n' +
      '  npm run invoke -- http events/http-alert.json\n' +
      '  npm run invoke -- sqs sqs-alerts\n' +
      '  echo \'{"source":"ops","detail-type":"Backup failed","detail":{"db":"orders"}}\' | npm run invoke -- eventbridge -\n' +
      '  GMAIL_SECRET_ID=prod/gmail-alerts ALERT_TO=you@example.com AWS_PROFILE=prod npm run invoke -- eventbridge eventbridge-alarm',
  ],
} as const satisfies cli.CommandSpec;

async function readEvent(argument: string): Promise<unknown> {
  let raw: string;
  let where = argument;
  if (argument === '-') raw = await text(process.stdin);
  else {
    const candidates = [resolve(argument), join(EVENTS_DIR, argument), join(EVENTS_DIR, `${argument}.json`)];
    const file = candidates.find((candidate) => existsSync(candidate));
    if (!file) throw new cli.UsageError(`no event file "${argument}" (looked in . and events/)`);
    where = file;
    raw = readFileSync(file, 'utf8');
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new cli.UsageError(`${where} is not JSON`);
  }
}

/** Whether the alert got out, in the terms of each trigger. */
function verdict(name: FunctionName, invocation: Invocation): { ok: boolean; summary: string } {
  if (!invocation.ok) {
    return {
      ok: false,
      summary: `${name} handler threw ${invocation.error.errorType}: ${invocation.error.errorMessage}`,
    };
  }
  const result = invocation.result;
  if (name === 'http') {
    const { statusCode } = result as APIGatewayProxyResult;
    return { ok: statusCode >= 200 && statusCode < 300, summary: `http handler answered ${statusCode}` };
  }
  if (name === 'sqs') {
    const failures = (result as SQSBatchResponse).batchItemFailures.length;
    return {
      ok: failures === 0,
      summary: `sqs handler: ${failures} record${failures === 1 ? '' : 's'} reported as failed`,
    };
  }
  if (name === 'doctor') {
    const report = result as DiagnosisReport;
    return {
      ok: report.ok,
      summary: `doctor function: ${report.ok ? 'all checks passed' : 'a check failed'}`,
    };
  }
  return { ok: result === 'delivered', summary: `eventbridge handler: ${String(result)}` };
}

/** Indented JSON, or compact when the value is too deep for JSON.stringify. */
function printable(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? 'null';
  } catch {
    return jsonText(value);
  }
}

cli.runCommand(spec, invoke, { unexpectedFailure: 'invoke failed' });

async function invoke(): Promise<number> {
  const { values, positionals } = cli.parseCommandLine(spec);
  const [name, eventArgument, ...extra] = positionals;
  if (!name || !isFunctionName(name))
    throw new cli.UsageError('name a function: http, sqs, eventbridge or doctor');
  if (extra.length > 0) throw new cli.UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (!eventArgument && name !== 'doctor')
    throw new cli.UsageError(
      `name an event file for ${name}, e.g. events/${name === 'http' ? 'http-alert' : name === 'sqs' ? 'sqs-alerts' : 'eventbridge-alarm'}.json`,
    );
  const event = eventArgument ? await readEvent(eventArgument) : {};
  try {
    assertBuilt([name]);
  } catch (error) {
    throw new cli.CommandFailedError((error as Error).message);
  }
  const err = process.stderr;
  const names = ENVIRONMENT_VARIABLES;
  const configured = Boolean(process.env[names.secretId]?.trim()) && !values.local;

  let stack: LocalStack | undefined;
  const mail: OutboxEntry[] = [];
  if (!configured) {
    const shown = cli.progress(
      'starting the local Gmail-like server, Secrets Manager, SQS and DynamoDB',
      err,
    );
    stack = await startLocalStack({
      outboxDir: resolve(values.outbox ?? process.env.OUTBOX_DIR ?? join(PROJECT_ROOT, '.outbox')),
      onMail: (entry) => mail.push(entry),
    });
    shown.clear();
    err.write(
      cli.dim(
        `local mode: Gmail-like server ${stack.gmail.host}:${stack.gmail.port}, nothing leaves this machine (set GMAIL_SECRET_ID to use your own)\n`,
        err,
      ),
    );
  } else {
    const smtp = `${process.env[names.smtpHost] ?? CONTRACT_DEFAULTS.smtpHost}:${process.env[names.smtpPort] ?? CONTRACT_DEFAULTS.smtpPort}`;
    err.write(cli.dim(`configured mode: secret ${process.env[names.secretId]}, SMTP ${smtp}\n`, err));
  }

  try {
    const shown = cli.progress(`cold start and invocation of dist/functions/${name}/index.mjs`, err);
    const host = await startLambdaHost({
      env: stack ? stack.env : process.env,
      preload: [name],
      onOutput: (line) => err.write(`${cli.dim(`handler │ ${compactLogLine(line)}`, err)}\n`),
    });
    const invocation = await host.invoke(name, event).finally(() => host.close());
    shown.clear();

    process.stdout.write(`${printable(invocation.ok ? invocation.result : invocation.error)}\n`);
    if (name === 'doctor' && invocation.ok)
      err.write(`\n${formatReport(invocation.result as DiagnosisReport, err)}\n\n`);
    for (const entry of mail)
      err.write(
        `${cli.mark.ok(err)} mail: ${entry.subject} → ${entry.to.join(', ')}  ${stack?.outbox.display(entry)}\n`,
      );
    if (stack) {
      for (const parked of stack.sqs.messages(stack.deadLetterQueueUrl)) {
        const attribute = (key: string) => parked.MessageAttributes[key]?.StringValue ?? '';
        err.write(
          `${cli.mark.fail(err)} parked in the dead-letter queue (${attribute('failureClass')}): ${attribute('reason')}\n    ${attribute('advice')}\n`,
        );
      }
      const queued = stack.sqs.messages(stack.queueUrl).length;
      if (queued > 0)
        err.write(
          cli.dim(
            `${queued} message(s) went to the local alerts queue; npm start delivers queued alerts, invoke does not\n`,
            err,
          ),
        );
    }
    const parkedCount = stack ? stack.sqs.messages(stack.deadLetterQueueUrl).length : 0;
    const outcome = verdict(name, invocation);
    // A parked alert was handled (the trigger will not retry it) but not delivered: not a success.
    if (parkedCount > 0)
      Object.assign(outcome, { ok: false, summary: `${outcome.summary}; ${parkedCount} parked` });
    err.write(
      `${outcome.ok ? cli.mark.ok(err) : cli.mark.fail(err)} ${outcome.summary} in ${cli.formatDuration(invocation.durationMs)}\n`,
    );
    return outcome.ok ? cli.EXIT.ok : cli.EXIT.failed;
  } finally {
    await stack?.close();
  }
}

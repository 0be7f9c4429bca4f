import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAwsJsonEndpoint } from '../../local/aws-json-endpoint.ts';
import { startGmailServer, testGmailAccount } from '../../local/gmail-server.ts';
import { pageTime, STORM_ENV, sendGuardStorm } from '../support/guard-storm.ts';
import { runScript, type ScriptRun } from '../support/run-script.ts';

// These tests run the command scripts as child processes; a loaded machine can slow them many times over.
vi.setConfig({ testTimeout: 60_000 });

const root = join(import.meta.dirname, '../..');
const everyOutput: string[] = [];
const secretsToHide = [
  testGmailAccount.pass,
  'abcd efgh ijkl mnop',
  'qrst uvwx yzab cdef',
  'qrstuvwxyzabcdef',
  'Summer2026!',
];

/** The environment a new user's shell would have: nothing of this project configured. */
const cleanEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  NO_COLOR: '1',
  ...extra,
});

/** Runs one of the scripts in a new user's shell and keeps what it printed for the leak check. */
async function runAsNewUser(
  script: string,
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<ScriptRun> {
  const run = await runScript(script, args, cleanEnv(env), stdin);
  everyOutput.push(run.stdout, run.stderr);
  return run;
}

/** The printed curl line, done with fetch: method, URL, headers and body as a shell would pass them. */
function fetchLikeCurl(line: string): Promise<Response> {
  const words = [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map(
    (match) => match[1] ?? match[2] ?? match[3] ?? '',
  );
  expect(words[0]).toBe('curl');
  const headers: Record<string, string> = {};
  let method = 'GET';
  let url = '';
  let body: string | undefined;
  for (let index = 1; index < words.length; index += 1) {
    const word = words[index] as string;
    if (word === '-X') method = words[++index] as string;
    else if (word === '-H') {
      const [name, ...value] = (words[++index] as string).split(':');
      headers[name?.trim() ?? ''] = value.join(':').trim();
    } else if (word === '-d') body = words[++index];
    else if (word === '-w') index += 1;
    else if (!word.startsWith('-')) url = word;
  }
  return fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
}

/** GET with a chosen Host header (fetch does not allow setting it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

/** Starts `npm start`'s script as a new user runs it, its output appended to `output.text`, and waits until it is up. */
async function startLocal(
  outboxDir: string,
  env: NodeJS.ProcessEnv,
  output: { text: string },
  args: string[] = [],
): Promise<ChildProcessWithoutNullStreams> {
  const start = spawn(
    process.execPath,
    [join(root, 'scripts/start.ts'), '--port', '0', '--outbox', outboxDir, ...args],
    { cwd: root, env },
  );
  const append = (chunk: Buffer) => {
    output.text += chunk;
  };
  start.stdout.on('data', append);
  start.stderr.on('data', append);
  try {
    await waitFor(
      async () => (output.text.includes('Ctrl-C stops everything') ? true : undefined),
      15_000,
      'start-up',
    );
  } catch (error) {
    start.kill('SIGTERM');
    everyOutput.push(output.text);
    throw error;
  }
  return start;
}

afterAll(() => {
  const all = everyOutput.join('\n');
  for (const secret of secretsToHide) expect(all).not.toContain(secret);
});

describe('npm start', () => {
  let start: ChildProcessWithoutNullStreams;
  let outboxDir: string;
  const output = { text: '' };
  let baseUrl = '';
  let curl = '';

  beforeAll(async () => {
    outboxDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-outbox-'));
    // As a new user runs it: a shell with nothing configured, and no test CA to lean on.
    start = await startLocal(outboxDir, cleanEnv(), output);
    curl =
      output.text
        .split('\n')
        .find((line) => line.trim().startsWith('curl '))
        ?.trim() ?? '';
    baseUrl = /POST (http:\/\/127\.0\.0\.1:\d+)\/alerts/.exec(output.text)?.[1] ?? '';
  });

  afterAll(async () => {
    const exited = once(start, 'exit');
    start.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    everyOutput.push(output.text);
    await rm(outboxDir, { recursive: true, force: true });
    expect(code).toBe(0);
    expect(output.text).toContain('SIGTERM: stopping');
  });

  const outboxFiles = async () => (await readdir(outboxDir)).filter((name) => name.endsWith('.eml'));
  const page = async (path = '/') => (await fetch(`${baseUrl}${path}`)).text();

  it('prints what runs where and a ready-to-paste curl line', () => {
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const name of [
      'Outbox',
      'HTTP API',
      'EventBridge',
      'Queue',
      'Gmail-like SMTP',
      'Secrets Manager',
      'SQS',
      'Handlers',
    ]) {
      expect(output.text).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    }
    expect(output.text).toContain('x-api-key: local-dev-key');
    expect(curl).toMatch(/^curl .* -X POST http:\/\/127\.0\.0\.1:\d+\/alerts -H 'x-api-key: local-dev-key' /);
  });

  it('answers the printed curl with 200, and the alert shows on the outbox page and in the outbox folder', async () => {
    const response = await fetchLikeCurl(curl);
    const body = (await response.json()) as { messageId: string; accepted: string[] };

    expect(response.status).toBe(200);
    expect(body.accepted).toEqual(['oncall@example.com']);
    const html = await page();
    expect(html).toContain('[WARNING] Disk almost full on db-1');
    const id = /href="\/messages\/([^"/]+)"/.exec(html)?.[1] as string;
    const files = await outboxFiles();
    expect(files).toContain(`${id}.eml`);
    const mail = await simpleParser(await readFile(join(outboxDir, `${id}.eml`)));
    expect(mail.subject).toBe('[WARNING] Disk almost full on db-1');
    expect(mail.text?.split('\n')[0]).toBe('WARNING: Disk almost full on db-1');
    expect(mail.messageId).toBe(body.messageId);
    expect(mail.text).toContain('/var is at 93% and growing 2% an hour.');
    expect(mail.html).toContain('Disk almost full on db-1');
    expect(output.text).toMatch(/POST \/alerts → http handler 200/);
  });

  it('wants the API key: 401 without it, 403 with a wrong one, and the handler never runs', async () => {
    const before = (await outboxFiles()).length;
    const alert = JSON.stringify({ subject: 'should not be sent' });

    const missing = await fetch(`${baseUrl}/alerts`, { method: 'POST', body: alert });
    const wrong = await fetch(`${baseUrl}/alerts`, {
      method: 'POST',
      headers: { 'x-api-key': 'guess' },
      body: alert,
    });

    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ message: 'Forbidden' });
    expect((await outboxFiles()).length).toBe(before);
  });

  it("passes the handler's own answer through: 400 with field errors for an invalid alert", async () => {
    const response = await fetch(`${baseUrl}/alerts`, {
      method: 'POST',
      headers: { 'x-api-key': 'local-dev-key', 'content-type': 'application/json' },
      body: JSON.stringify({
        subject: 'Deploy done',
        to: ['"Boss" <boss@example.com>', 'ops@elsewhere.org'],
      }),
    });
    const body = (await response.json()) as { error: { class: string; fields: { field: string }[] } };

    expect(response.status).toBe(400);
    expect(body.error.class).toBe('invalid');
    expect(body.error.fields.map((field) => field.field)).toEqual(['to[0]', 'to[1]']);
  });

  it('delivers POST /events through the eventbridge handler', async () => {
    const event = await readFile(join(root, 'events/eventbridge-alarm.json'), 'utf8');

    const response = await fetch(`${baseUrl}/events`, { method: 'POST', body: event });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      status: 'delivered',
    });
    expect(await page()).toContain('checkout-5xx-rate (us-east-1)');
  });

  it('delivers POST /queue through the local SQS and the sqs handler', async () => {
    const response = await fetch(`${baseUrl}/queue`, {
      method: 'POST',
      body: JSON.stringify({ subject: 'Queued: replica lag above 30 s', severity: 'high' }),
    });

    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ queued: true });
    await waitFor(
      async () => ((await page()).includes('[HIGH] Queued: replica lag above 30 s') ? true : undefined),
      5_000,
      'queued alert on the page',
    );
    // The relay reports the batch once the handler has answered, which is after the mail arrived.
    await waitFor(
      async () => (/queue → sqs handler: 1 record, 0 failed/.test(output.text) ? true : undefined),
      5_000,
      'the relay reporting the batch',
    );
  });

  it('shows a message as HTML in a sandboxed frame and as text', async () => {
    const id = /href="\/messages\/([^"/]+)"/.exec(await page())?.[1] as string;

    const view = await fetch(`${baseUrl}/messages/${id}`);
    const mailHtml = await fetch(`${baseUrl}/messages/${id}/html`);
    const text = await fetch(`${baseUrl}/messages/${id}/text`);

    expect(view.status).toBe(200);
    expect(await view.text()).toMatch(
      /<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="\/messages\/[^"]+\/html"/,
    );
    expect(view.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(mailHtml.headers.get('content-security-policy')).toMatch(/^sandbox /);
    expect(mailHtml.headers.get('content-security-policy')).not.toContain('allow-scripts');
    expect(await mailHtml.text()).toContain('<h1');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toMatch(/^HIGH: Queued: replica lag above 30 s\n/);
    expect((await fetch(`${baseUrl}/messages/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
  });

  it('answers only to loopback host names', async () => {
    expect(await getWithHost(`${baseUrl}/`, 'attacker.example')).toBe(421);
    expect(await getWithHost(`${baseUrl}/`, `localhost:${new URL(baseUrl).port}`)).toBe(200);
  });
});

describe('npm start with GMAIL_DAILY_LIMIT=10: the outbox page shows what the guards are doing', () => {
  let start: ChildProcessWithoutNullStreams;
  let outboxDir: string;
  const output = { text: '' };
  let baseUrl = '';

  beforeAll(async () => {
    outboxDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-outbox-'));
    start = await startLocal(outboxDir, cleanEnv(STORM_ENV), output);
    baseUrl = /POST (http:\/\/127\.0\.0\.1:\d+)\/alerts/.exec(output.text)?.[1] ?? '';
  });

  afterAll(async () => {
    const exited = once(start, 'exit');
    start.kill('SIGTERM');
    await exited;
    everyOutput.push(output.text);
    await rm(outboxDir, { recursive: true, force: true });
  });

  /** The `<li class="mail kind">` of the state section that mentions `text`. */
  const stateItem = (html: string, kind: string, text: string) =>
    [
      ...html.matchAll(
        new RegExp(`<li class="mail ${kind}"[^>]*>[\\s\\S]*?</li>(?=<li class="mail|</ol>)`, 'g'),
      ),
    ]
      .map((match) => match[0])
      .find((item) => item.includes(text)) ?? '';

  it('counts the recipients mailed, the repeats of a key in its window, and the alert folded into a digest', async () => {
    const before = Date.now();
    const storm = await sendGuardStorm(baseUrl);
    const after = Date.now();

    const html = await (await fetch(`${baseUrl}/`)).text();
    const state = /<section class="state">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';

    expect(state).toContain(
      '<span class="subject quota-summary">8 of 10 recipients in the last 24 h (80 %): folding into digests</span>',
    );
    expect(state).toContain('<h2>Repeat windows (2)</h2>');
    expect(stateItem(state, 'window', storm.repeatedKey)).toContain(
      `last mail ${pageTime(storm.lastMailAt)} · <span class="repeat-count">2 repeats counted since ${pageTime(storm.since)}</span> · window ends ${pageTime(Date.parse(storm.lastMailAt) + 14_400_000)}`,
    );
    expect(stateItem(state, 'window', storm.folded.key)).toContain('no repeats counted');
    expect(state).toContain('<h2>Pending digests (1)</h2>');
    const digest = stateItem(state, 'digest', 'oncall@example.com');
    expect(digest).toContain('<span class="folded-count">1 alert</span> folded for oncall@example.com');
    // The caller's markup is text on the page.
    expect(digest).toContain('Replica lag &lt;b&gt;31 s&lt;/b&gt; &amp; rising');
    expect(html).not.toContain('<b>31 s</b>');
    // Sent DIGEST_INTERVAL_SECONDS (300 s) after the alert that started the digest.
    const scheduled = /sending scheduled at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/.exec(digest)?.[1] ?? '';
    const sendsAt = Date.parse(`${scheduled.replace(' ', 'T')}Z`);
    expect(sendsAt).toBeGreaterThanOrEqual(Math.floor((before + 300_000) / 1000) * 1000);
    expect(sendsAt).toBeLessThanOrEqual(after + 300_000);
    expect(html).toContain('<h2>8 alerts</h2>');
  });
});

describe.concurrent('npm run invoke, send and secret:set', () => {
  it('invoke runs the built sqs handler on a sample event against the local pieces', async () => {
    const outbox = await mkdtemp(join(tmpdir(), 'gmail-alerts-invoke-'));

    const run = await runAsNewUser('invoke.ts', ['sqs', 'sqs-alerts', '--outbox', outbox], {});
    const files = await readdir(outbox);
    await rm(outbox, { recursive: true, force: true });

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ batchItemFailures: [] });
    expect(run.stderr).toContain('✓ mail: Queue backlog above 10,000 → oncall@example.com');
    expect(run.stderr).toContain('✓ sqs handler: 0 records reported as failed');
    expect(files.filter((name) => name.endsWith('.eml'))).toHaveLength(2);
  });

  it('invoke exits 1 when the handler refuses the event, and prints its answer', async () => {
    const outbox = await mkdtemp(join(tmpdir(), 'gmail-alerts-invoke-'));
    const eventFile = join(outbox, 'bad.json');
    const event = JSON.parse(await readFile(join(root, 'events/http-alert.json'), 'utf8'));
    await writeFile(eventFile, JSON.stringify({ ...event, body: '{"subject":""}' }));

    const run = await runAsNewUser('invoke.ts', ['http', eventFile, '--outbox', outbox], {});
    await rm(outbox, { recursive: true, force: true });

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ statusCode: 400 });
    expect(run.stderr).toContain('✗ http handler answered 400');
  });

  it('invoke refuses an unknown function with exit code 2', async () => {
    const run = await runAsNewUser('invoke.ts', ['smtp', 'whatever.json'], {});

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name a function: http, sqs, eventbridge or doctor');
  });

  it('send delivers one alert with GMAIL_USER and GMAIL_APP_PASSWORD, or names the App Password fix', async () => {
    const server = await startGmailServer();
    const env = {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(server.port),
      GMAIL_USER: testGmailAccount.user,
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
    };
    const args = [
      '--to',
      'me@example.net',
      '--subject',
      'Hello from send',
      '--severity',
      'critical',
      '--field',
      'host=db-1',
    ];

    const sent = await runAsNewUser('send.ts', args, {
      ...env,
      GMAIL_APP_PASSWORD: 'abcd efgh ijkl mnop',
    });
    const resolved = await runAsNewUser('send.ts', [...args, '--status', 'resolved', '--key', 'db-1'], {
      ...env,
      GMAIL_APP_PASSWORD: 'abcd efgh ijkl mnop',
    });
    const refused = await runAsNewUser('send.ts', args, {
      ...env,
      GMAIL_APP_PASSWORD: 'qrst uvwx yzab cdef',
    });
    const shape = await runAsNewUser('send.ts', args, { ...env, GMAIL_APP_PASSWORD: 'Summer2026!' });
    await server.close();

    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain('✓ Sent "[CRITICAL] Hello from send" to me@example.net');
    expect(server.messages).toHaveLength(2);
    expect(server.messages[0]?.parsed.subject).toBe('[CRITICAL] Hello from send');
    expect(server.messages[0]?.parsed.text).toContain('host: db-1');
    expect(resolved.stdout).toContain('✓ Sent "Hello from send" to me@example.net');
    expect(server.messages[1]?.parsed.text?.split('\n')[0]).toBe('RESOLVED: Hello from send');
    expect(server.messages[1]?.parsed.headers.get('x-alert-key')).toBe('db-1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('535 5.7.8');
    expect(refused.stderr).toContain('App password');
    expect(shape.code).toBe(1);
    expect(shape.stderr).toContain('not a 16-letter App Password');
    // One login per good send, one for the wrong one, none for the account password.
    expect(server.stats.authAttempts).toBe(3);
  });

  it('secret:set writes the username and App Password read from stdin, and refuses an account password', async () => {
    const writes: Record<string, unknown>[] = [];
    const secrets = await startAwsJsonEndpoint({
      jsonVersion: '1.1',
      handle(target, input) {
        if (target !== 'secretsmanager.PutSecretValue') throw new Error(`unexpected ${target}`);
        writes.push(input);
        return {
          ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/gmail-alerts-AbCdEf',
          Name: input.SecretId,
          VersionId: 'v-2',
        };
      },
    });
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    };

    const written = await runAsNewUser(
      'secret-set.ts',
      ['--secret-id', 'prod/gmail-alerts'],
      env,
      'Ops@Example.com\nqrst uvwx yzab cdef\n',
    );
    const refused = await runAsNewUser(
      'secret-set.ts',
      ['--secret-id', 'prod/gmail-alerts', '--username', 'ops@example.com'],
      env,
      'Summer2026!\n',
    );
    await secrets.close();

    expect(written.code).toBe(0);
    expect(written.stdout).toContain(
      '✓ Wrote ops@example.com and its App Password to prod/gmail-alerts (version v-2)',
    );
    expect(writes).toHaveLength(1);
    expect(writes[0]?.SecretId).toBe('prod/gmail-alerts');
    expect(JSON.parse(String(writes[0]?.SecretString))).toEqual({
      username: 'ops@example.com',
      password: 'qrstuvwxyzabcdef',
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'Not written: the password is shorter than 16 characters and not only letters',
    );
  });
});

describe('npm start -- --sign-in oauth-client', () => {
  it('sends the printed curl through AUTH XOAUTH2 with a token from the local token endpoint', async () => {
    const outboxDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-outbox-'));
    const output = { text: '' };
    const start = await startLocal(outboxDir, cleanEnv(), output, ['--sign-in', 'oauth-client']);
    try {
      const curl = output.text
        .split('\n')
        .find((line) => line.trim().startsWith('curl '))
        ?.trim();

      const response = await fetchLikeCurl(curl ?? '');

      expect(response.status).toBe(200);
      expect(output.text).toMatch(
        /^ {2}Secrets Manager +\S+ +secret \S+ holds an OAuth client and refresh token$/m,
      );
      expect(output.text).toMatch(/^ {2}Token endpoint +http:\/\/127\.0\.0\.1:\d+\/token /m);
      expect((await readdir(outboxDir)).filter((name) => name.endsWith('.eml'))).toHaveLength(1);
    } finally {
      const exited = once(start, 'exit');
      start.kill('SIGTERM');
      await exited;
      everyOutput.push(output.text);
      await rm(outboxDir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown shape with exit code 2', async () => {
    const run = await runAsNewUser('start.ts', ['--port', '0', '--sign-in', 'password'], {});

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--sign-in must be one of app-password, oauth-client, service-account');
  });
});
